package tfconv

import (
	"encoding/binary"
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/encoding/protowire"
)

// pbField is one decoded protobuf field.
type pbField struct {
	num   protowire.Number
	typ   protowire.Type
	v     uint64
	bytes []byte
}

func parsePB(t *testing.T, b []byte) []pbField {
	t.Helper()
	var out []pbField
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			t.Fatalf("bad tag: %v", protowire.ParseError(n))
		}
		b = b[n:]
		f := pbField{num: num, typ: typ}
		switch typ {
		case protowire.VarintType:
			f.v, n = protowire.ConsumeVarint(b)
		case protowire.Fixed32Type:
			var v uint32
			v, n = protowire.ConsumeFixed32(b)
			f.v = uint64(v)
		case protowire.BytesType:
			f.bytes, n = protowire.ConsumeBytes(b)
		default:
			t.Fatalf("unexpected wire type %v", typ)
		}
		if n < 0 {
			t.Fatalf("bad field %d: %v", num, protowire.ParseError(n))
		}
		b = b[n:]
		out = append(out, f)
	}
	return out
}

func pbGet(fs []pbField, num protowire.Number) []pbField {
	var out []pbField
	for _, f := range fs {
		if f.num == num {
			out = append(out, f)
		}
	}
	return out
}

// TestModelProtoLayout decodes the writer's output with the ONNX field
// numbers (onnx.proto) and checks every part of a tiny graph.
func TestModelProtoLayout(t *testing.T) {
	b := newBuilder("g")
	x := b.input("x", dtFloat, []int64{-1, 4})
	w := b.constant("w", &tensor{dtype: dtFloat, dims: []int64{4}, f32: []float32{1, 2, 3, 0.5}})
	y := b.op("Mul", "y", []string{x, w})
	z := b.op("LeakyRelu", "z", []string{y}, floatAttr("alpha", 0.25))
	p := b.op("Transpose", "p", []string{z}, intsAttr("perm", 1, 0))
	if err := b.output("out", p, dtFloat); err != nil {
		t.Fatal(err)
	}
	model := parsePB(t, b.model())

	if v := pbGet(model, 1); len(v) != 1 || v[0].v != onnxIRVersion {
		t.Errorf("ir_version %+v", v)
	}
	opset := parsePB(t, pbGet(model, 8)[0].bytes)
	if v := pbGet(opset, 2); len(v) != 1 || v[0].v != onnxOpset {
		t.Errorf("opset %+v", opset)
	}
	graph := parsePB(t, pbGet(model, 7)[0].bytes)
	var ops []string
	for _, nf := range pbGet(graph, 1) {
		node := parsePB(t, nf.bytes)
		ops = append(ops, string(pbGet(node, 4)[0].bytes))
	}
	if diff := cmp.Diff([]string{"Mul", "LeakyRelu", "Transpose", "Identity"}, ops); diff != "" {
		t.Errorf("ops (-want +got):\n%s", diff)
	}
	leaky := parsePB(t, pbGet(graph, 1)[1].bytes)
	attr := parsePB(t, pbGet(leaky, 5)[0].bytes)
	if string(pbGet(attr, 1)[0].bytes) != "alpha" || math.Float32frombits(uint32(pbGet(attr, 2)[0].v)) != 0.25 || pbGet(attr, 20)[0].v != attrFloat {
		t.Errorf("alpha attribute %+v", attr)
	}
	perm := parsePB(t, pbGet(parsePB(t, pbGet(graph, 1)[2].bytes), 5)[0].bytes)
	packed := pbGet(perm, 8)[0].bytes
	if len(packed) != 2 || packed[0] != 1 || packed[1] != 0 || pbGet(perm, 20)[0].v != attrInts {
		t.Errorf("perm attribute %+v", perm)
	}
	init := parsePB(t, pbGet(graph, 5)[0].bytes)
	raw := pbGet(init, 9)[0].bytes
	if string(pbGet(init, 8)[0].bytes) != "w" || pbGet(init, 2)[0].v != uint64(dtFloat) || len(raw) != 16 ||
		math.Float32frombits(binary.LittleEndian.Uint32(raw[12:])) != 0.5 {
		t.Errorf("initializer %+v", init)
	}
	in := parsePB(t, pbGet(graph, 11)[0].bytes)
	tensorType := parsePB(t, pbGet(parsePB(t, pbGet(in, 2)[0].bytes), 1)[0].bytes)
	dims := pbGet(parsePB(t, pbGet(tensorType, 2)[0].bytes), 1)
	if len(dims) != 2 || string(pbGet(parsePB(t, dims[0].bytes), 2)[0].bytes) != "N" || pbGet(parsePB(t, dims[1].bytes), 1)[0].v != 4 {
		t.Errorf("input type %+v", tensorType)
	}
	out := parsePB(t, pbGet(graph, 12)[0].bytes)
	if string(pbGet(out, 1)[0].bytes) != "out" {
		t.Errorf("output %+v", out)
	}
}

func TestBuilderNames(t *testing.T) {
	b := newBuilder("g")
	got := []string{b.unique("a"), b.unique("a"), b.unique("a"), b.unique("")}
	if diff := cmp.Diff([]string{"a", "a_1", "a_2", "v"}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	x := b.input("x", dtFloat, []int64{1, 2, 3, 4})
	nchw := b.toNCHW(x)
	if b.toNCHW(x) != nchw {
		t.Error("second toNCHW of the same value added another Transpose")
	}
	back := b.toNHWC(nchw)
	if b.toNCHW(back) != nchw {
		t.Error("toNCHW(toNHWC(v)) did not return v")
	}
	if err := b.output("x", x, dtFloat); err == nil {
		t.Error("output named like the input was accepted")
	}
}

func TestFloat16(t *testing.T) {
	tests := []struct {
		h    uint16
		want float32
	}{
		{0x0000, 0}, {0x3c00, 1}, {0xc000, -2}, {0x3555, 0.33325195}, {0x7bff, 65504},
		{0x0001, 5.9604645e-08}, {0x03ff, 6.097555e-05}, {0x0400, 6.1035156e-05},
		{0x7c00, float32(math.Inf(1))}, {0xfc00, float32(math.Inf(-1))},
	}
	for _, tc := range tests {
		if got := float16to32(tc.h); got != tc.want {
			t.Errorf("float16to32(%#04x) = %g, want %g", tc.h, got, tc.want)
		}
	}
	if got := float16to32(0x7e00); !math.IsNaN(float64(got)) {
		t.Errorf("NaN decoded as %g", got)
	}
	if got := float16to32(0x8000); math.Float32bits(got) != 0x80000000 {
		t.Errorf("-0 decoded as %g", got)
	}
}

func f64(v float64) *float64 { return &v }

func TestDecodeWeight(t *testing.T) {
	le32 := func(v ...uint32) []byte {
		var b []byte
		for _, x := range v {
			b = binary.LittleEndian.AppendUint32(b, x)
		}
		return b
	}
	tests := []struct {
		name    string
		spec    weightSpec
		data    []byte
		want    *tensor
		used    int
		wantErr bool
	}{
		{"float32", weightSpec{Name: "a", Shape: []int64{2}, Dtype: "float32"}, le32(math.Float32bits(1.5), math.Float32bits(-2), 7),
			&tensor{dtype: dtFloat, dims: []int64{2}, f32: []float32{1.5, -2}}, 8, false},
		{"int32 scalar", weightSpec{Name: "a", Shape: []int64{}, Dtype: "int32"}, le32(0xffffffff),
			&tensor{dtype: dtInt32, dims: []int64{}, i64: []int64{-1}}, 4, false},
		{"float16", weightSpec{Name: "a", Shape: []int64{2}, Dtype: "float32", Quantization: &quantization{Dtype: "float16"}}, []byte{0x00, 0x3c, 0x00, 0xc0},
			&tensor{dtype: dtFloat, dims: []int64{2}, f32: []float32{1, -2}}, 4, false},
		{"uint8", weightSpec{Name: "a", Shape: []int64{3}, Dtype: "float32", Quantization: &quantization{Dtype: "uint8", Min: f64(-1), Scale: f64(0.5)}}, []byte{0, 2, 255},
			&tensor{dtype: dtFloat, dims: []int64{3}, f32: []float32{-1, 0, 126.5}}, 3, false},
		{"uint16", weightSpec{Name: "a", Shape: []int64{1}, Dtype: "float32", Quantization: &quantization{Dtype: "uint16", Min: f64(1), Scale: f64(0.25)}}, []byte{4, 0},
			&tensor{dtype: dtFloat, dims: []int64{1}, f32: []float32{2}}, 2, false},
		{"uint8 int32 rounds", weightSpec{Name: "a", Shape: []int64{1}, Dtype: "int32", Quantization: &quantization{Dtype: "uint8", Min: f64(0), Scale: f64(0.6)}}, []byte{3},
			&tensor{dtype: dtInt32, dims: []int64{1}, i64: []int64{2}}, 1, false},
		{"short data", weightSpec{Name: "a", Shape: []int64{3}, Dtype: "float32"}, le32(1, 2), nil, 0, true},
		{"negative dim", weightSpec{Name: "a", Shape: []int64{-1}, Dtype: "float32"}, nil, nil, 0, true},
		{"huge shape", weightSpec{Name: "a", Shape: []int64{1 << 20, 1 << 20}, Dtype: "float32"}, nil, nil, 0, true},
		{"uint8 without scale", weightSpec{Name: "a", Shape: []int64{1}, Dtype: "float32", Quantization: &quantization{Dtype: "uint8"}}, []byte{1}, nil, 0, true},
		{"string dtype", weightSpec{Name: "a", Shape: []int64{1}, Dtype: "string"}, le32(1), nil, 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, used, err := decodeWeight(tc.spec, tc.data)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if tc.wantErr {
				return
			}
			if used != tc.used {
				t.Errorf("used %d bytes, want %d", used, tc.used)
			}
			if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(tensor{})); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestConvWeights(t *testing.T) {
	// HWIO [1, 2, 2, 3]: value = 1000*y + 100*x + 10*i + o.
	f := &tensor{dtype: dtFloat, dims: []int64{1, 2, 2, 3}}
	for x := 0; x < 2; x++ {
		for i := 0; i < 2; i++ {
			for o := 0; o < 3; o++ {
				f.f32 = append(f.f32, float32(100*x+10*i+o))
			}
		}
	}
	w, group, err := convWeights(f, false)
	if err != nil {
		t.Fatal(err)
	}
	// OIHW [3, 2, 1, 2]: element (o, i, 0, x).
	if group != 1 || w.f32[((2*2+1)*1+0)*2+1] != 112 || w.dims[0] != 3 || w.dims[1] != 2 {
		t.Errorf("conv weights %v %v group %d", w.dims, w.f32, group)
	}
	// Depthwise [1, 2, C=2, M=3]: output channel c*3+m.
	d, group, err := convWeights(f, true)
	if err != nil {
		t.Fatal(err)
	}
	if group != 2 || d.dims[0] != 6 || d.dims[1] != 1 || d.f32[(1*3+2)*2+1] != 112 {
		t.Errorf("depthwise weights %v %v group %d", d.dims, d.f32, group)
	}
}

func TestOnnxPads(t *testing.T) {
	p := &tensor{dtype: dtInt32, dims: []int64{4, 2}, i64: []int64{0, 0, 1, 2, 3, 4, 0, 0}}
	got, err := onnxPads(p)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]int64{0, 1, 3, 0, 0, 2, 4, 0}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if _, err := onnxPads(&tensor{dtype: dtInt32, dims: []int64{3}, i64: []int64{1, 2, 3}}); err == nil {
		t.Error("1-D paddings accepted")
	}
}

package tfconv

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	ort "github.com/yalue/onnxruntime_go"
)

// These tests convert tiny hand-written TFJS models and compare ONNX
// Runtime's results with straightforward Go implementations of the TF
// semantics (NHWC, SAME padding, ...).

type testWeight struct {
	name  string
	shape []int64
	f     []float32
	i     []int32
}

func (w testWeight) spec() map[string]any {
	dt := "float32"
	if w.i != nil {
		dt = "int32"
	}
	shape := w.shape
	if shape == nil {
		shape = []int64{}
	}
	return map[string]any{"name": w.name, "shape": shape, "dtype": dt}
}

func (w testWeight) bytes() []byte {
	var b []byte
	for _, v := range w.f {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
	}
	for _, v := range w.i {
		b = binary.LittleEndian.AppendUint32(b, uint32(v))
	}
	return b
}

// testModel assembles a model.json (graph or layers) with one weight shard.
func testModel(t *testing.T, topology map[string]any, ws []testWeight, extra map[string]any) Model {
	t.Helper()
	var specs []map[string]any
	var bin []byte
	for _, w := range ws {
		specs = append(specs, w.spec())
		bin = append(bin, w.bytes()...)
	}
	m := map[string]any{
		"modelTopology":   topology,
		"weightsManifest": []any{map[string]any{"paths": []string{"w.bin"}, "weights": specs}},
	}
	for k, v := range extra {
		m[k] = v
	}
	js, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return Model{JSON: js, ReadFile: func(name string) ([]byte, error) {
		if name != "w.bin" {
			return nil, fmt.Errorf("no file %q", name)
		}
		return bin, nil
	}}
}

// Node and attribute helpers for graph models.
func tfN(name, op string, inputs []string, attrs map[string]any) map[string]any {
	n := map[string]any{"name": name, "op": op, "input": inputs, "attr": attrs}
	if attrs == nil {
		n["attr"] = map[string]any{}
	}
	return n
}

func aS(s string) map[string]any {
	return map[string]any{"s": base64.StdEncoding.EncodeToString([]byte(s))}
}
func aB(b bool) map[string]any  { return map[string]any{"b": b} }
func aI(i int64) map[string]any { return map[string]any{"i": fmt.Sprint(i)} }
func aInts(v ...int64) map[string]any {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = fmt.Sprint(x)
	}
	return map[string]any{"list": map[string]any{"i": s}}
}
func aStrs(v ...string) map[string]any {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = base64.StdEncoding.EncodeToString([]byte(x))
	}
	return map[string]any{"list": map[string]any{"s": s}}
}

func placeholder(name string, dims ...int64) map[string]any {
	var d []map[string]any
	for _, x := range dims {
		d = append(d, map[string]any{"size": fmt.Sprint(x)})
	}
	return tfN(name, "Placeholder", nil, map[string]any{
		"dtype": map[string]any{"type": "DT_FLOAT"},
		"shape": map[string]any{"shape": map[string]any{"dim": d}},
	})
}

func graphTopology(nodes ...map[string]any) map[string]any {
	return map[string]any{"node": nodes}
}

func randFloats(r *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(r.Float64()*2 - 1)
	}
	return v
}

// runModel converts m and runs it on one float32 input.
func runModel(t *testing.T, m Model, input string, shape []int64, x []float32, output string) ([]float32, []int64) {
	t.Helper()
	onnx, err := Convert(m)
	if err != nil {
		t.Fatalf("convert: %v", err)
	}
	initORT(t)
	sess, err := ort.NewDynamicAdvancedSessionWithONNXData(onnx, []string{input}, []string{output}, nil)
	if err != nil {
		t.Fatalf("session: %v", err)
	}
	defer sess.Destroy()
	in, err := ort.NewTensor(ort.NewShape(shape...), x)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Destroy()
	out := []ort.Value{nil}
	if err := sess.Run([]ort.Value{in}, out); err != nil {
		t.Fatalf("run: %v", err)
	}
	defer out[0].Destroy()
	tv, ok := out[0].(*ort.Tensor[float32])
	if !ok {
		t.Fatalf("output is %T", out[0])
	}
	return append([]float32(nil), tv.GetData()...), []int64(tv.GetShape())
}

func assertClose(t *testing.T, got []float32, gotShape []int64, want []float32, wantShape []int64) {
	t.Helper()
	if fmt.Sprint(gotShape) != fmt.Sprint(wantShape) {
		t.Fatalf("shape %v, want %v", gotShape, wantShape)
	}
	if len(got) != len(want) {
		t.Fatalf("%d values, want %d", len(got), len(want))
	}
	for i := range want {
		if d := math.Abs(float64(got[i] - want[i])); d > 1e-4+1e-4*math.Abs(float64(want[i])) {
			t.Fatalf("value %d: %g, want %g", i, got[i], want[i])
		}
	}
}

// refConv is TF's NHWC conv2d (or depthwise with multiplier m when
// depthwise), padding SAME or VALID, filter HWIO / HWCM.
func refConv(x []float32, n, h, w, c int, f []float32, kh, kw, co int, stride, dil int, same, depthwise bool) ([]float32, []int64) {
	var oh, ow, pt, pl int
	ekh, ekw := (kh-1)*dil+1, (kw-1)*dil+1
	if same {
		oh, ow = (h+stride-1)/stride, (w+stride-1)/stride
		pt = max((oh-1)*stride+ekh-h, 0) / 2
		pl = max((ow-1)*stride+ekw-w, 0) / 2
	} else {
		oh, ow = (h-ekh)/stride+1, (w-ekw)/stride+1
	}
	m := co // depthwise: multiplier
	outC := co
	if depthwise {
		outC = c * m
	}
	out := make([]float32, n*oh*ow*outC)
	for b := 0; b < n; b++ {
		for oy := 0; oy < oh; oy++ {
			for ox := 0; ox < ow; ox++ {
				for o := 0; o < outC; o++ {
					var s float64
					for ky := 0; ky < kh; ky++ {
						for kx := 0; kx < kw; kx++ {
							iy, ix := oy*stride+ky*dil-pt, ox*stride+kx*dil-pl
							if iy < 0 || ix < 0 || iy >= h || ix >= w {
								continue
							}
							if depthwise {
								ch, j := o/m, o%m
								s += float64(x[((b*h+iy)*w+ix)*c+ch]) * float64(f[((ky*kw+kx)*c+ch)*m+j])
								continue
							}
							for ch := 0; ch < c; ch++ {
								s += float64(x[((b*h+iy)*w+ix)*c+ch]) * float64(f[((ky*kw+kx)*c+ch)*co+o])
							}
						}
					}
					out[((b*oh+oy)*ow+ox)*outC+o] = float32(s)
				}
			}
		}
	}
	return out, []int64{int64(n), int64(oh), int64(ow), int64(outC)}
}

func TestGraphConvolutions(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	const n, h, w, c = 1, 9, 7, 3
	x := randFloats(r, n*h*w*c)
	tests := []struct {
		name      string
		op        string
		kh, kw    int
		co        int
		stride    int
		dil       int
		padding   string
		fused     []string
		depthwise bool
	}{
		{"conv same stride 2 bias relu6", "_FusedConv2D", 3, 3, 4, 2, 1, "SAME", []string{"BiasAdd", "Relu6"}, false},
		{"conv valid", "Conv2D", 2, 3, 5, 1, 1, "VALID", nil, false},
		{"conv same dilated bias relu", "_FusedConv2D", 3, 3, 2, 1, 2, "SAME", []string{"BiasAdd", "Relu"}, false},
		{"depthwise same multiplier 2 bias", "FusedDepthwiseConv2dNative", 3, 3, 2, 1, 1, "SAME", []string{"BiasAdd"}, true},
		{"depthwise valid stride 2", "DepthwiseConv2dNative", 3, 3, 1, 2, 1, "VALID", nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := randFloats(r, tc.kh*tc.kw*c*tc.co)
			outC := tc.co
			if tc.depthwise {
				outC = c * tc.co
			}
			bias := randFloats(r, outC)
			ws := []testWeight{{name: "f", shape: []int64{int64(tc.kh), int64(tc.kw), c, int64(tc.co)}, f: f}}
			inputs := []string{"x", "f"}
			if len(tc.fused) > 0 {
				ws = append(ws, testWeight{name: "b", shape: []int64{int64(outC)}, f: bias})
				inputs = append(inputs, "b")
			}
			attrs := map[string]any{
				"strides":     aInts(1, int64(tc.stride), int64(tc.stride), 1),
				"dilations":   aInts(1, int64(tc.dil), int64(tc.dil), 1),
				"padding":     aS(tc.padding),
				"data_format": aS("NHWC"),
			}
			if tc.fused != nil {
				attrs["fused_ops"] = aStrs(tc.fused...)
				attrs["num_args"] = aI(1)
			}
			nodes := []map[string]any{placeholder("x", n, h, w, c), tfN("f", "Const", nil, nil), tfN("y", tc.op, inputs, attrs)}
			if len(tc.fused) > 0 {
				nodes = append(nodes, tfN("b", "Const", nil, nil))
			}
			m := testModel(t, graphTopology(nodes...), ws, nil)
			got, gotShape := runModel(t, m, "x", []int64{n, h, w, c}, x, "y")
			want, wantShape := refConv(x, n, h, w, c, f, tc.kh, tc.kw, tc.co, tc.stride, tc.dil, tc.padding == "SAME", tc.depthwise)
			for i := range want {
				if len(tc.fused) > 0 {
					want[i] += bias[i%outC]
				}
				for _, op := range tc.fused[min(1, len(tc.fused)):] {
					switch op {
					case "Relu":
						want[i] = max(want[i], 0)
					case "Relu6":
						want[i] = min(max(want[i], 0), 6)
					}
				}
			}
			assertClose(t, got, gotShape, want, wantShape)
		})
	}
}

func TestGraphPoolResizeSlice(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	const n, h, w, c = 1, 5, 4, 2
	x := randFloats(r, n*h*w*c)
	at := func(y, xx, ch int) float32 { return x[(y*w+xx)*c+ch] }
	tests := []struct {
		name   string
		nodes  []map[string]any
		ws     []testWeight
		want   func() ([]float32, []int64)
		output string
	}{
		{
			name:  "max pool 2x2 same stride 2",
			nodes: []map[string]any{tfN("y", "MaxPool", []string{"x"}, map[string]any{"ksize": aInts(1, 2, 2, 1), "strides": aInts(1, 2, 2, 1), "padding": aS("SAME")})},
			want: func() ([]float32, []int64) {
				oh, ow := 3, 2
				var out []float32
				for oy := 0; oy < oh; oy++ {
					for ox := 0; ox < ow; ox++ {
						for ch := 0; ch < c; ch++ {
							m := float32(math.Inf(-1))
							for dy := 0; dy < 2; dy++ {
								for dx := 0; dx < 2; dx++ {
									if y, xx := oy*2+dy, ox*2+dx; y < h && xx < w {
										m = max(m, at(y, xx, ch))
									}
								}
							}
							out = append(out, m)
						}
					}
				}
				return out, []int64{1, int64(oh), int64(ow), c}
			},
		},
		{
			name:  "avg pool 3x3 same stride 1 excludes padding",
			nodes: []map[string]any{tfN("y", "AvgPool", []string{"x"}, map[string]any{"ksize": aInts(1, 3, 3, 1), "strides": aInts(1, 1, 1, 1), "padding": aS("SAME")})},
			want: func() ([]float32, []int64) {
				var out []float32
				for oy := 0; oy < h; oy++ {
					for ox := 0; ox < w; ox++ {
						for ch := 0; ch < c; ch++ {
							var s float32
							k := 0
							for dy := -1; dy <= 1; dy++ {
								for dx := -1; dx <= 1; dx++ {
									if y, xx := oy+dy, ox+dx; y >= 0 && xx >= 0 && y < h && xx < w {
										s += at(y, xx, ch)
										k++
									}
								}
							}
							out = append(out, s/float32(k))
						}
					}
				}
				return out, []int64{1, h, w, c}
			},
		},
		{
			name:  "resize bilinear asymmetric",
			nodes: []map[string]any{tfN("size", "Const", nil, nil), tfN("y", "ResizeBilinear", []string{"x", "size"}, map[string]any{"align_corners": aB(false), "half_pixel_centers": aB(false)})},
			ws:    []testWeight{{name: "size", shape: []int64{2}, i: []int32{7, 6}}},
			want: func() ([]float32, []int64) {
				oh, ow := 7, 6
				var out []float32
				for oy := 0; oy < oh; oy++ {
					for ox := 0; ox < ow; ox++ {
						sy, sx := float64(oy)*h/float64(oh), float64(ox)*w/float64(ow)
						y0, x0 := int(sy), int(sx)
						y1, x1 := min(y0+1, h-1), min(x0+1, w-1)
						fy, fx := float32(sy-float64(y0)), float32(sx-float64(x0))
						for ch := 0; ch < c; ch++ {
							top := at(y0, x0, ch) + (at(y0, x1, ch)-at(y0, x0, ch))*fx
							bot := at(y1, x0, ch) + (at(y1, x1, ch)-at(y1, x0, ch))*fx
							out = append(out, top+(bot-top)*fy)
						}
					}
				}
				return out, []int64{1, int64(oh), int64(ow), c}
			},
		},
		{
			name: "strided slice shrink + mean keep dims",
			nodes: []map[string]any{
				tfN("b", "Const", nil, nil), tfN("e", "Const", nil, nil), tfN("s", "Const", nil, nil), tfN("ax", "Const", nil, nil),
				tfN("sl", "StridedSlice", []string{"x", "b", "e", "s"}, map[string]any{"begin_mask": aI(1), "end_mask": aI(5), "shrink_axis_mask": aI(8)}),
				tfN("y", "Mean", []string{"sl", "ax"}, map[string]any{"keep_dims": aB(true)}),
			},
			ws: []testWeight{
				{name: "b", shape: []int64{4}, i: []int32{0, 1, 0, 1}},
				{name: "e", shape: []int64{4}, i: []int32{0, 5, 0, 2}},
				{name: "s", shape: []int64{4}, i: []int32{1, 2, 1, 1}},
				{name: "ax", shape: []int64{1}, i: []int32{2}},
			},
			want: func() ([]float32, []int64) {
				// x[:, 1:5:2, :, 1] -> [1, 2, 4]; mean over axis 2 -> [1, 2, 1]
				var out []float32
				for _, y := range []int{1, 3} {
					var s float32
					for xx := 0; xx < w; xx++ {
						s += at(y, xx, 1)
					}
					out = append(out, s/w)
				}
				return out, []int64{1, 2, 1}
			},
		},
		{
			name: "mirror pad reflect + concat",
			nodes: []map[string]any{
				tfN("p", "Const", nil, nil), tfN("axis", "Const", nil, nil),
				tfN("pad", "MirrorPad", []string{"x", "p"}, map[string]any{"mode": aS("REFLECT")}),
				tfN("y", "ConcatV2", []string{"pad", "pad", "axis"}, map[string]any{"N": aI(2)}),
			},
			ws: []testWeight{
				{name: "p", shape: []int64{4, 2}, i: []int32{0, 0, 1, 0, 0, 2, 0, 0}},
				{name: "axis", shape: []int64{}, i: []int32{-1}},
			},
			want: func() ([]float32, []int64) {
				ph, pw := h+1, w+2
				var out []float32
				for y := 0; y < ph; y++ {
					sy := y - 1
					if sy < 0 {
						sy = -sy
					}
					for xx := 0; xx < pw; xx++ {
						sx := xx
						if sx >= w {
							sx = 2*(w-1) - sx
						}
						for ch := 0; ch < c; ch++ {
							out = append(out, at(sy, sx, ch))
						}
						for ch := 0; ch < c; ch++ {
							out = append(out, at(sy, sx, ch))
						}
					}
				}
				return out, []int64{1, int64(ph), int64(pw), 2 * c}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			nodes := append([]map[string]any{placeholder("x", n, h, w, c)}, tc.nodes...)
			m := testModel(t, graphTopology(nodes...), tc.ws, nil)
			got, gotShape := runModel(t, m, "x", []int64{n, h, w, c}, x, "y")
			want, wantShape := tc.want()
			assertClose(t, got, gotShape, want, wantShape)
		})
	}
}

func TestGraphAddNUnpackDepthToSpace(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	const n, h, w, c = 1, 2, 3, 8
	x := randFloats(r, n*h*w*c)
	at := func(y, xx, ch int) float32 { return x[(y*w+xx)*c+ch] }
	tests := []struct {
		name   string
		nodes  []map[string]any
		output string
		want   func() ([]float32, []int64)
	}{
		{
			name:   "AddN",
			nodes:  []map[string]any{tfN("y", "AddN", []string{"x", "x", "x"}, map[string]any{"N": aI(3)})},
			output: "y",
			want: func() ([]float32, []int64) {
				out := make([]float32, len(x))
				for i, v := range x {
					out[i] = v + v + v
				}
				return out, []int64{n, h, w, c}
			},
		},
		{
			name: "Unpack second output",
			nodes: []map[string]any{
				tfN("y", "Unpack", []string{"x"}, map[string]any{"num": aI(3), "axis": aI(2)}),
				tfN("z", "Relu", []string{"y:1"}, nil),
			},
			output: "z",
			want: func() ([]float32, []int64) {
				var out []float32
				for y := 0; y < h; y++ {
					for ch := 0; ch < c; ch++ {
						out = append(out, max(at(y, 1, ch), 0))
					}
				}
				return out, []int64{n, h, c}
			},
		},
		{
			name:   "DepthToSpace block 2",
			nodes:  []map[string]any{tfN("y", "DepthToSpace", []string{"x"}, map[string]any{"block_size": aI(2), "data_format": aS("NHWC")})},
			output: "y",
			want: func() ([]float32, []int64) {
				const bs, oc = 2, c / 4
				var out []float32
				for oy := 0; oy < h*bs; oy++ {
					for ox := 0; ox < w*bs; ox++ {
						for ch := 0; ch < oc; ch++ {
							i, j := oy%bs, ox%bs
							out = append(out, at(oy/bs, ox/bs, (i*bs+j)*oc+ch))
						}
					}
				}
				return out, []int64{n, h * bs, w * bs, oc}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			nodes := append([]map[string]any{placeholder("x", n, h, w, c)}, tc.nodes...)
			m := testModel(t, graphTopology(nodes...), nil, nil)
			got, gotShape := runModel(t, m, "x", []int64{n, h, w, c}, x, tc.output)
			want, wantShape := tc.want()
			assertClose(t, got, gotShape, want, wantShape)
		})
	}
}

package tfconv

import (
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
)

// smallConv is a one-operator model: CONV_2D 3x3 on a 1x6x6x3 uint8 input.
func smallConv() []byte {
	return convCase(rand.New(rand.NewPCG(1, 1)), convSpecT{name: "c", typ: tflUint8, in: []int{1, 6, 6, 3}, kh: 3, kw: 3, oc: 4,
		g: convGeom{sh: 1, sw: 1, dh: 1, dw: 1, same: true}, act: actRelu6}).model
}

func TestTFLiteRejects(t *testing.T) {
	t.Parallel()
	good := smallConv()
	edit := func(f func(m *tflBuild)) []byte {
		r := rand.New(rand.NewPCG(2, 2))
		x := randQ(r, tflUint8, 0.1, 128, 1, 4, 4, 2)
		m := newTFLBuild()
		in := m.actOf("in", x)
		out := m.actOf("out", x)
		m.inputs, m.outputs = []int32{in}, []int32{out}
		m.op(opTile, []int32{in, m.int32s("multiples", 1, 1, 1, 1)}, []int32{out}, 0, 0)
		f(m)
		return m.bytes()
	}
	tests := []struct {
		name  string
		model []byte
		opts  TFLiteOptions
		want  string // in the error message
		is    error
	}{
		{"empty", nil, TFLiteOptions{}, "too short", nil},
		{"not TFLite", []byte("\x10\x00\x00\x00ONNX....more bytes"), TFLiteOptions{}, "file identifier", nil},
		{"truncated", good[:len(good)/2], TFLiteOptions{}, "flatbuffer", nil},
		{"unknown output", good, TFLiteOptions{Outputs: []string{"nope"}}, `output "nope": no such tensor`, nil},
		{"output twice", good, TFLiteOptions{Outputs: []string{"out", "out"}}, "named twice", nil},
		{"output is the input", good, TFLiteOptions{Outputs: []string{"in"}}, "is the model's input", nil},
		{"height without width", good, TFLiteOptions{InputHeight: 5}, "set both height and width", nil},
		{"bad form", good, TFLiteOptions{Form: 9}, "form", ErrUnsupported},
		{"unsupported operator", edit(func(m *tflBuild) { m.ops[0].code = 18 }), TFLiteOptions{}, "builtin operator 18", ErrUnsupported},
		{"custom operator", edit(func(m *tflBuild) { m.ops[0].code = 32 }), TFLiteOptions{}, "custom operator", ErrUnsupported},
		{"operator code 127 with builtin", edit(func(m *tflBuild) { m.ops[0].code = 200 }), TFLiteOptions{}, "builtin operator 200", ErrUnsupported},
		{"tensor index out of range", edit(func(m *tflBuild) { m.ops[0].inputs[0] = 99 }), TFLiteOptions{}, "tensor index 99 out of range", nil},
		{"float activations", edit(func(m *tflBuild) { m.tensors[0].typ = tflFloat32 }), TFLiteOptions{}, "float32 activations", ErrUnsupported},
		{"no quantisation", edit(func(m *tflBuild) { m.tensors[0].scale, m.tensors[0].zero = nil, nil }), TFLiteOptions{}, "one scale and zero point", nil},
		{"zero point count", edit(func(m *tflBuild) { m.tensors[0].zero = []int64{1, 2} }), TFLiteOptions{}, "1 scales but 2 zero points", nil},
		{"negative scale", edit(func(m *tflBuild) { m.tensors[0].scale = []float32{-1} }), TFLiteOptions{}, "out of range", nil},
		{"constant too short", edit(func(m *tflBuild) { m.buffers[1] = m.buffers[1][:5] }), TFLiteOptions{}, "5 bytes of data", nil},
		{"constant input", edit(func(m *tflBuild) { m.ops[0].inputs[0] = 2 }), TFLiteOptions{}, "is a constant", ErrUnsupported},
		{"shape mismatch", edit(func(m *tflBuild) { m.tensors[1].shape = []int32{1, 4, 4, 3} }), TFLiteOptions{}, "computed shape", nil},
		{"negative dimension", edit(func(m *tflBuild) { m.tensors[1].shape = []int32{1, -4, 4, 2} }), TFLiteOptions{}, "dimension -4", nil},
		{"no operator writes the output", edit(func(m *tflBuild) { m.ops = nil }), TFLiteOptions{}, "not computed by any operator", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ConvertTFLite(tc.model, tc.opts)
			if err == nil {
				t.Fatal("accepted")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not say %q", err, tc.want)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %v is not %v", err, tc.is)
			}
		})
	}
}

// TestTFLiteDeterministic: the same model and options give the same bytes.
func TestTFLiteDeterministic(t *testing.T) {
	t.Parallel()
	model, _, _, _ := deeplabLike(rand.New(rand.NewPCG(5, 8)), 17, 13)
	for _, v := range tfliteVariants {
		opts := v.opts
		opts.InputHeight, opts.InputWidth, opts.Outputs = 13, 13, []string{"logits", "ArgMax"}
		a, err := ConvertTFLite(model, opts)
		if err != nil {
			t.Fatal(err)
		}
		for range 3 {
			b, err := ConvertTFLite(model, opts)
			if err != nil {
				t.Fatal(err)
			}
			if string(a) != string(b) {
				t.Fatalf("%s: two conversions differ", v.name)
			}
		}
	}
}

// TestTFLiteOldOperatorCodes: files written before builtin_code existed
// (only deprecated_builtin_code) read the same.
func TestTFLiteOldOperatorCodes(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(3, 3))
	x := randQ(r, tflUint8, 0.1, 128, 1, 4, 4, 2)
	for _, old := range []bool{false, true} {
		m := newTFLBuild()
		m.oldCodes = old
		in, out := m.actOf("in", x), m.actOf("out", x)
		m.inputs, m.outputs = []int32{in}, []int32{out}
		m.op(opTile, []int32{in, m.int32s("multiples", 1, 1, 1, 1)}, []int32{out}, 0, 0)
		info, err := InspectTFLite(m.bytes())
		if err != nil {
			t.Fatal(err)
		}
		if info.Operators["TILE"] != 1 || info.Inputs[0].Name != "in" || info.Outputs[0].Type != "uint8" {
			t.Errorf("old codes %v: %+v", old, info)
		}
	}
}

// FuzzConvertTFLite feeds untrusted bytes to the TFLite reader and
// converter: an error or a model, never a panic, a hang or an allocation
// beyond the file's size.
func FuzzConvertTFLite(f *testing.F) {
	f.Add(smallConv())
	for i, tc := range opCases() {
		if i%4 == 0 {
			f.Add(tc.model)
		}
	}
	model, _, _, _ := deeplabLike(rand.New(rand.NewPCG(5, 8)), 17, 17)
	f.Add(model)
	f.Fuzz(func(t *testing.T, data []byte) {
		if _, err := InspectTFLite(data); err != nil {
			return
		}
		for _, opts := range []TFLiteOptions{{}, {Form: TFLiteFloat, InputHeight: 9, InputWidth: 9}} {
			out, err := ConvertTFLite(data, opts)
			if err == nil && len(out) == 0 {
				t.Error("no error and no model")
			}
		}
	})
}

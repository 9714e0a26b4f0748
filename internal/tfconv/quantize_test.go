package tfconv

import (
	"bytes"
	"slices"
	"strings"
	"testing"
)

// tinyConvNet builds x -> Conv 3x3 -> BatchNormalization -> Relu ->
// depthwise Conv -> Mul by a per-channel constant -> Conv 1x1 -> y, with
// weights from a fixed pattern.
func tinyConvNet(t *testing.T) []byte {
	t.Helper()
	b := newBuilder("tiny")
	x := b.input("x", dtFloat, []int64{1, 3, 8, 8})
	vals := func(n int, k float32) []float32 {
		out := make([]float32, n)
		for i := range out {
			out[i] = k * float32((i*37)%17-8) / 8
		}
		return out
	}
	ones := func(n int, v float32) []float32 {
		out := make([]float32, n)
		for i := range out {
			out[i] = v
		}
		return out
	}
	w1 := b.constant("w1", &tensor{dtype: dtFloat, dims: []int64{4, 3, 3, 3}, f32: vals(108, 0.5)})
	b1 := b.constant("b1", &tensor{dtype: dtFloat, dims: []int64{4}, f32: vals(4, 0.1)})
	c1 := b.op("Conv", "c1", []string{x, w1, b1}, intsAttr("kernel_shape", 3, 3), intsAttr("pads", 1, 1, 1, 1))
	bn := b.op("BatchNormalization", "bn", []string{c1,
		b.constant("s", &tensor{dtype: dtFloat, dims: []int64{4}, f32: ones(4, 2)}),
		b.constant("sh", &tensor{dtype: dtFloat, dims: []int64{4}, f32: ones(4, 0.5)}),
		b.constant("mu", &tensor{dtype: dtFloat, dims: []int64{4}, f32: ones(4, 0.1)}),
		b.constant("var", &tensor{dtype: dtFloat, dims: []int64{4}, f32: ones(4, 4)}),
	})
	r := b.op("Relu", "relu", []string{bn})
	wd := b.constant("wd", &tensor{dtype: dtFloat, dims: []int64{4, 1, 3, 3}, f32: vals(36, 1)})
	d := b.op("Conv", "dw", []string{r, wd}, intsAttr("kernel_shape", 3, 3), intsAttr("pads", 1, 1, 1, 1), intAttr("group", 4))
	m := b.op("Mul", "scale", []string{d, b.constant("k", &tensor{dtype: dtFloat, dims: []int64{4, 1, 1}, f32: []float32{1, 2, 0.5, -1}})})
	w2 := b.constant("w2", &tensor{dtype: dtFloat, dims: []int64{2, 4, 1, 1}, f32: vals(8, 1)})
	y := b.op("Conv", "c2", []string{m, w2}, intsAttr("kernel_shape", 1, 1))
	if err := b.output("y", y, dtFloat); err != nil {
		t.Fatal(err)
	}
	return b.model()
}

func TestQuantize(t *testing.T) {
	t.Parallel()
	model := tinyConvNet(t)
	cm, names, err := CalibrationModel(model)
	if err != nil {
		t.Fatal(err)
	}
	// BatchNormalization and the Mul are folded into the Convs: the
	// quantised tensors are the input, the Relu's output (after the BN
	// fold), the depthwise output after the folded Mul, and the last
	// Conv's output (which an Identity names y).
	want := []string{"x", "relu", "scale", "c2"}
	if !slices.Equal(names, want) {
		t.Errorf("CalibrationModel tensors = %q, want %q", names, want)
	}
	cal, err := readONNX(cm)
	if err != nil {
		t.Fatal(err)
	}
	var outs []string
	for _, o := range cal.graph.outputs {
		outs = append(outs, o.name)
	}
	if !slices.Equal(outs, []string{"y", "x", "relu", "scale", "c2"}) {
		t.Errorf("calibration model outputs = %q", outs)
	}
	for _, n := range cal.graph.nodes {
		if n.op == "BatchNormalization" || n.op == "Mul" {
			t.Errorf("calibration model still has %s %q", n.op, n.name)
		}
	}
	ranges := map[string]Range{"x": {-1, 1}, "relu": {0, 6}, "scale": {-20, 20}, "c2": {-30, 30}}
	q1, err := Quantize(model, QuantizeOptions{Ranges: ranges, ReduceRange: true})
	if err != nil {
		t.Fatal(err)
	}
	q2, err := Quantize(model, QuantizeOptions{Ranges: ranges, ReduceRange: true})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(q1, q2) {
		t.Error("Quantize is not deterministic")
	}
	got, err := QuantizedTensors(q1)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("QuantizedTensors = %q, want %q", got, want)
	}
	qm, err := readONNX(q1)
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	for _, n := range qm.graph.nodes {
		counts[n.op]++
	}
	// 4 activations (Q+DQ each), 3 weights and 2 biases (DQ).
	if counts["QuantizeLinear"] != 4 || counts["DequantizeLinear"] != 9 || counts["Conv"] != 3 {
		t.Errorf("node counts %v", counts)
	}
	for _, in := range qm.graph.inits {
		if strings.HasSuffix(in.name, "/quantized") && in.t != nil && in.t.dtype == dtInt8 {
			for _, v := range in.t.i64 {
				if v < -64 || v > 64 {
					t.Fatalf("%s: weight %d outside the reduced range", in.name, v)
				}
			}
		}
	}
	if counts := qm.opsets; len(counts) != 1 || counts[0].version != 13 {
		t.Errorf("opsets %v, want default 13", counts)
	}
}

func TestQuantizeErrors(t *testing.T) {
	t.Parallel()
	model := tinyConvNet(t)
	for _, tc := range []struct {
		name  string
		model []byte
		opts  QuantizeOptions
		want  string
	}{
		{"missing range", model, QuantizeOptions{Ranges: map[string]Range{"x": {-1, 1}}}, "no calibrated range"},
		{"not protobuf", []byte("not a model"), QuantizeOptions{}, "read onnx model"},
		{"empty", nil, QuantizeOptions{}, "no graph nodes"},
		{"truncated", model[:len(model)/2], QuantizeOptions{}, "read onnx model"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Quantize(tc.model, tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Quantize = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

// TestReadWriteONNX checks that reading and writing a model without
// changes keeps every node and initializer.
func TestReadWriteONNX(t *testing.T) {
	t.Parallel()
	model := tinyConvNet(t)
	m, err := readONNX(model)
	if err != nil {
		t.Fatal(err)
	}
	again, err := readONNX(writeONNX(m))
	if err != nil {
		t.Fatal(err)
	}
	if len(again.graph.nodes) != len(m.graph.nodes) || len(again.graph.inits) != len(m.graph.inits) {
		t.Fatalf("round trip: %d nodes %d inits, want %d %d", len(again.graph.nodes), len(again.graph.inits), len(m.graph.nodes), len(m.graph.inits))
	}
	if !bytes.Equal(writeONNX(again), writeONNX(m)) {
		t.Error("second write differs")
	}
}

func FuzzReadONNX(f *testing.F) {
	f.Add(tinyConvNet(&testing.T{}))
	f.Add([]byte{0x3a, 0x02, 0x0a, 0x00})
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := readONNX(data)
		if err != nil {
			return
		}
		_ = writeONNX(m)
		_, _, _ = CalibrationModel(data)
	})
}

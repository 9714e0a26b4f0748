package tfconv

import (
	"math"
	"math/rand/v2"
	"testing"
)

func kerasLayerJSON(name, class string, cfg map[string]any, inputs ...string) map[string]any {
	cfg["name"] = name
	var in []any
	for _, i := range inputs {
		in = append(in, []any{i, 0, 0, map[string]any{}})
	}
	l := map[string]any{"name": name, "class_name": class, "config": cfg, "inbound_nodes": []any{}}
	if len(in) > 0 {
		l["inbound_nodes"] = []any{in}
	}
	return l
}

// TestLayersModel checks a small MobileNet-like Keras model: padding,
// convolutions with batch norm folded in, ReLU6, a residual Add, global
// pooling and a softmax Dense layer.
func TestLayersModel(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	const n, h, w, c = 1, 6, 5, 2
	const co = 4
	x := randFloats(r, n*h*w*c)
	k1 := randFloats(r, 3*3*c*co)
	dk := randFloats(r, 3*3*co)
	dense := randFloats(r, co*3)
	denseB := randFloats(r, 3)
	bn := func() [4][]float32 {
		var p [4][]float32
		for i := range p {
			p[i] = randFloats(r, co)
		}
		for i := range p[3] {
			p[3][i] = float32(math.Abs(float64(p[3][i]))) + 0.1 // variance
		}
		return p
	}
	bn1, bn2 := bn(), bn()
	var ws []testWeight
	ws = append(ws, testWeight{name: "conv/kernel", shape: []int64{3, 3, c, co}, f: k1})
	for i, s := range []string{"gamma", "beta", "moving_mean", "moving_variance"} {
		ws = append(ws, testWeight{name: "bn1/" + s, shape: []int64{co}, f: bn1[i]})
		ws = append(ws, testWeight{name: "bn2/" + s, shape: []int64{co}, f: bn2[i]})
	}
	ws = append(ws, testWeight{name: "dw/depthwise_kernel", shape: []int64{3, 3, co, 1}, f: dk},
		testWeight{name: "fc/kernel", shape: []int64{co, 3}, f: dense},
		testWeight{name: "fc/bias", shape: []int64{3}, f: denseB})
	layers := []any{
		kerasLayerJSON("in", "InputLayer", map[string]any{"batch_input_shape": []any{nil, h, w, c}}),
		kerasLayerJSON("pad", "ZeroPadding2D", map[string]any{"padding": []any{[]any{0, 1}, []any{0, 1}}}, "in"),
		kerasLayerJSON("conv", "Conv2D", map[string]any{"filters": co, "kernel_size": []any{3, 3}, "strides": []any{2, 2}, "padding": "valid", "activation": "linear", "use_bias": false}, "pad"),
		kerasLayerJSON("bn1", "BatchNormalization", map[string]any{"axis": -1, "epsilon": 0.001}, "conv"),
		kerasLayerJSON("relu", "ReLU", map[string]any{"max_value": 6, "negative_slope": 0, "threshold": 0}, "bn1"),
		kerasLayerJSON("dw", "DepthwiseConv2D", map[string]any{"kernel_size": []any{3, 3}, "strides": []any{1, 1}, "padding": "same", "depth_multiplier": 1, "activation": "linear", "use_bias": false}, "relu"),
		kerasLayerJSON("bn2", "BatchNormalization", map[string]any{"axis": -1, "epsilon": 0.001}, "dw"),
		kerasLayerJSON("add", "Add", map[string]any{}, "relu", "bn2"),
		kerasLayerJSON("gap", "GlobalAveragePooling2D", map[string]any{"data_format": "channels_last"}, "add"),
		kerasLayerJSON("drop", "Dropout", map[string]any{"rate": 0.5}, "gap"),
		kerasLayerJSON("fc", "Dense", map[string]any{"units": 3, "activation": "softmax", "use_bias": true}, "drop"),
	}
	topo := map[string]any{"model_config": map[string]any{"class_name": "Model", "config": map[string]any{
		"name": "tiny", "layers": layers,
		"input_layers": []any{[]any{"in", 0, 0}}, "output_layers": []any{[]any{"fc", 0, 0}},
	}}}
	m := testModel(t, topo, ws, nil)
	got, gotShape := runModel(t, m, "in", []int64{n, h, w, c}, x, "fc")

	// Reference in plain Go.
	ph, pw := h+1, w+1
	padded := make([]float32, ph*pw*c)
	for y := 0; y < h; y++ {
		for xx := 0; xx < w; xx++ {
			copy(padded[(y*pw+xx)*c:], x[(y*w+xx)*c:(y*w+xx+1)*c])
		}
	}
	applyBN := func(v []float32, p [4][]float32) {
		for i := range v {
			ch := i % co
			v[i] = (v[i]-p[2][ch])/float32(math.Sqrt(float64(p[3][ch]+0.001)))*p[0][ch] + p[1][ch]
		}
	}
	y1, s1 := refConv(padded, 1, ph, pw, c, k1, 3, 3, co, 2, 1, false, false)
	applyBN(y1, bn1)
	for i := range y1 {
		y1[i] = min(max(y1[i], 0), 6)
	}
	y2, _ := refConv(y1, 1, int(s1[1]), int(s1[2]), co, dk, 3, 3, 1, 1, 1, true, true)
	applyBN(y2, bn2)
	pool := make([]float64, co)
	for i := range y2 {
		pool[i%co] += float64(y1[i] + y2[i])
	}
	logits := make([]float64, 3)
	var sum float64
	for j := range logits {
		l := float64(denseB[j])
		for i := range pool {
			l += pool[i] / float64(len(y2)/co) * float64(dense[i*3+j])
		}
		logits[j] = math.Exp(l)
		sum += logits[j]
	}
	want := make([]float32, 3)
	for j := range want {
		want[j] = float32(logits[j] / sum)
	}
	assertClose(t, got, gotShape, want, []int64{1, 3})
}

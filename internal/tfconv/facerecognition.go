package tfconv

import (
	"encoding/json"
	"errors"
	"fmt"
)

// face-api.js's FaceRecognitionNet (the dlib ResNet-34 face descriptor,
// as @vladmandic/face-api ships it) has no graph in its files: only a
// weights manifest and one shard. The network is the JavaScript of
// src/faceRecognitionNet/*.ts, rebuilt here layer by layer:
//
//	x = (rgb - [122.782, 117.001, 104.298]) / 255     150x150 NHWC, 0-255 in
//	convDown 7x7/2 VALID, ReLU; maxPool 3/2 VALID      72 -> 35
//	residual x3 (32); residualDown + residual x3 (64)  35 -> 17
//	residualDown + residual x2 (128)                   17 -> 8
//	residualDown + residual x2 (256)                    8 -> 4
//	residualDown (256)                                  4 -> 2
//	mean over H, W; matMul fc [256, 128]
//
// Each conv is conv (filters HWIO, bias) then the scale layer
// (x*weights + biases), folded here into one Conv. conv is 3x3/1 SAME;
// convDown is stride 2 VALID. residual: conv, ReLU, conv, + x, ReLU.
// residualDown: convDown, ReLU, conv, + the shortcut, ReLU, where the
// shortcut is avgPool 2/2 VALID of x, zero-padded on the channel axis
// to the new width, and the convolution branch gains one zero row at
// the bottom and one zero column at the right when the pooled size is
// one larger (8 -> 3 by the conv, 4 by the pool; 4 -> 1 and 2).

// faceRecBlock is one residual block of FaceRecognitionNet.
type faceRecBlock struct {
	name string
	down bool
}

var faceRecBlocks = []faceRecBlock{
	{"conv32_1", false}, {"conv32_2", false}, {"conv32_3", false},
	{"conv64_down", true}, {"conv64_1", false}, {"conv64_2", false}, {"conv64_3", false},
	{"conv128_down", true}, {"conv128_1", false}, {"conv128_2", false},
	{"conv256_down", true}, {"conv256_1", false}, {"conv256_2", false}, {"conv256_down_out", true},
}

// FaceRecognitionNet's interface.
const (
	FaceRecInput  = "image"      // [N,150,150,3] float32 NHWC RGB, 0-255
	FaceRecOutput = "descriptor" // [N,128] float32
	FaceRecSize   = 150
)

// ConvertFaceRecognitionNet converts face-api.js's FaceRecognitionNet
// from its weights manifest (face_recognition_model-weights_manifest.json)
// and shards, read by readFile, to ONNX (opset 13): input FaceRecInput,
// output FaceRecOutput, with face-api's mean subtraction and scaling in
// the graph.
func ConvertFaceRecognitionNet(manifest []byte, readFile func(name string) ([]byte, error)) ([]byte, error) {
	var groups []weightGroup
	if err := json.Unmarshal(manifest, &groups); err != nil {
		return nil, fmt.Errorf("parse weights manifest: %w", err)
	}
	weights, err := loadWeights(groups, readFile)
	if err != nil {
		return nil, err
	}
	c := &faceRecConv{b: newBuilder("face_recognition_net"), w: weights, used: map[string]bool{}}
	out, err := c.build()
	if err != nil {
		return nil, err
	}
	for name := range weights {
		if !c.used[name] {
			return nil, fmt.Errorf("weight %q: not part of FaceRecognitionNet", name)
		}
	}
	if err := c.b.output(FaceRecOutput, out, dtFloat); err != nil {
		return nil, err
	}
	return c.b.model(), nil
}

// faceRecConv builds the graph in NCHW, tracking the feature map's
// channel count and (square) size.
type faceRecConv struct {
	b    *builder
	w    map[string]*tensor
	used map[string]bool
}

// fmap is an NCHW value with its channels and side.
type fmap struct {
	v    string
	c, s int64
}

func (c *faceRecConv) build() (string, error) {
	b := c.b
	x := b.input(FaceRecInput, dtFloat, []int64{-1, FaceRecSize, FaceRecSize, 3})
	mean := b.constant("normalize/mean", &tensor{dtype: dtFloat, dims: []int64{3}, f32: []float32{122.782, 117.001, 104.298}})
	x = b.op("Sub", "normalize/sub", []string{x, mean})
	x = b.op("Div", "normalize/div", []string{x, b.scalarF32("normalize/255", 255)})
	in := fmap{v: b.toNCHW(x), c: 3, s: FaceRecSize}
	out, err := c.conv(in, "conv32_down", 2, true)
	if err != nil {
		return "", err
	}
	out = fmap{v: b.op("MaxPool", "maxpool", []string{out.v}, intsAttr("kernel_shape", 3, 3), intsAttr("strides", 2, 2), intsAttr("pads", 0, 0, 0, 0)),
		c: out.c, s: (out.s-3)/2 + 1}
	for _, blk := range faceRecBlocks {
		if out, err = c.residual(out, blk); err != nil {
			return "", err
		}
	}
	pooled := b.op("ReduceMean", "mean", []string{out.v}, intsAttr("axes", 2, 3), intAttr("keepdims", 0))
	fc, err := c.weight("fc", []int64{out.c, 128})
	if err != nil {
		return "", err
	}
	return b.op("MatMul", "fc", []string{pooled, b.constant("fc/W", fc)}), nil
}

// weight returns a weight, checking its shape.
func (c *faceRecConv) weight(name string, shape []int64) (*tensor, error) {
	t, ok := c.w[name]
	if !ok {
		return nil, fmt.Errorf("weight %q: missing from the manifest", name)
	}
	if t.dtype != dtFloat || fmt.Sprint(t.dims) != fmt.Sprint(shape) {
		return nil, fmt.Errorf("weight %q: shape %v, want float32 %v", name, t.dims, shape)
	}
	c.used[name] = true
	return t, nil
}

// conv adds prefix's conv and scale layer on x: 3x3 SAME at stride 1,
// VALID at stride 2 (the 7x7 first layer is VALID too), with a ReLU if
// relu. The output channel count comes from the filters.
func (c *faceRecConv) conv(x fmap, prefix string, stride int64, relu bool) (fmap, error) {
	f, ok := c.w[prefix+"/conv/filters"]
	if !ok || len(f.dims) != 4 {
		return fmap{}, fmt.Errorf("weight %q: missing or not 4-D", prefix+"/conv/filters")
	}
	k, co := f.dims[0], f.dims[3]
	f, err := c.weight(prefix+"/conv/filters", []int64{k, k, x.c, co})
	if err != nil {
		return fmap{}, err
	}
	bias, err := c.weight(prefix+"/conv/bias", []int64{co})
	if err != nil {
		return fmap{}, err
	}
	sw, err := c.weight(prefix+"/scale/weights", []int64{co})
	if err != nil {
		return fmap{}, err
	}
	sb, err := c.weight(prefix+"/scale/biases", []int64{co})
	if err != nil {
		return fmap{}, err
	}
	w, _, err := convWeights(f, false)
	if err != nil {
		return fmap{}, fmt.Errorf("%s: %w", prefix, err)
	}
	// (conv + bias) * s + t = conv*s + (bias*s + t), per output channel.
	per := len(w.f32) / int(co)
	for o := 0; o < int(co); o++ {
		for i := o * per; i < (o+1)*per; i++ {
			w.f32[i] *= sw.f32[o]
		}
	}
	bs := make([]float32, co)
	for o := range bs {
		bs[o] = float32(bias.f32[o]*sw.f32[o]) + sb.f32[o] // explicit rounding: no FMA
	}
	pad, side := int64(0), (x.s-k)/stride+1
	if stride == 1 {
		pad, side = k/2, x.s
	}
	if side < 1 {
		return fmap{}, fmt.Errorf("%s: input %dx%d too small", prefix, x.s, x.s)
	}
	y := c.b.op("Conv", prefix, []string{x.v, c.b.constant(prefix+"/W", w), c.b.constant(prefix+"/B", &tensor{dtype: dtFloat, dims: []int64{co}, f32: bs})},
		intsAttr("kernel_shape", k, k), intsAttr("strides", stride, stride), intsAttr("dilations", 1, 1), intAttr("group", 1), intsAttr("pads", pad, pad, pad, pad))
	if relu {
		y = c.b.op("Relu", prefix+"/relu", []string{y})
	}
	return fmap{v: y, c: co, s: side}, nil
}

// residual adds one residual or residualDown block.
func (c *faceRecConv) residual(x fmap, blk faceRecBlock) (fmap, error) {
	b := c.b
	stride := int64(1)
	if blk.down {
		stride = 2
	}
	y, err := c.conv(x, blk.name+"/conv1", stride, true)
	if err != nil {
		return fmap{}, err
	}
	if y, err = c.conv(y, blk.name+"/conv2", 1, false); err != nil {
		return fmap{}, err
	}
	short := x
	if blk.down {
		short = fmap{v: b.op("AveragePool", blk.name+"/pool", []string{x.v}, intsAttr("kernel_shape", 2, 2), intsAttr("strides", 2, 2), intsAttr("pads", 0, 0, 0, 0)),
			c: x.c, s: (x.s-2)/2 + 1}
		switch {
		case short.c == y.c:
		case 2*short.c == y.c:
			pads := b.constI64(blk.name+"/pad_c", 0, 0, 0, 0, 0, short.c, 0, 0)
			short.v, short.c = b.op("Pad", blk.name+"/pool_pad", []string{short.v, pads}, stringAttr("mode", "constant")), y.c
		default:
			return fmap{}, fmt.Errorf("%s: shortcut has %d channels, block %d", blk.name, short.c, y.c)
		}
		switch short.s - y.s {
		case 0:
		case 1:
			pads := b.constI64(blk.name+"/pad_hw", 0, 0, 0, 0, 0, 0, 1, 1)
			y.v, y.s = b.op("Pad", blk.name+"/conv2_pad", []string{y.v, pads}, stringAttr("mode", "constant")), short.s
		default:
			return fmap{}, fmt.Errorf("%s: shortcut is %dx%d, block %dx%d", blk.name, short.s, short.s, y.s, y.s)
		}
	}
	if short.c != y.c || short.s != y.s {
		return fmap{}, errors.New(blk.name + ": shortcut and block differ in shape")
	}
	sum := b.op("Add", blk.name+"/add", []string{y.v, short.v})
	return fmap{v: b.op("Relu", blk.name+"/relu", []string{sum}), c: y.c, s: y.s}, nil
}

package tfconv

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	ort "github.com/yalue/onnxruntime_go"
)

// These tests build small quantised TFLite graphs (one operator, or a
// DeepLab-like chain), convert them in every execution form, run them in
// ONNX Runtime and compare with the Go reference of TFLite's kernels
// (tflref_test.go), element by element in quantisation steps.

// tfliteVariants are the execution forms and weight types tested.
var tfliteVariants = []struct {
	name string
	opts TFLiteOptions
}{
	{"quantized", TFLiteOptions{Form: TFLiteQuantized}},
	{"quantized-signed", TFLiteOptions{Form: TFLiteQuantized, SignedWeights: true}},
	{"float", TFLiteOptions{Form: TFLiteFloat}},
}

// randQ is a random quantised tensor.
func randQ(r *rand.Rand, typ int8, s float32, z int32, shape ...int) qtensor {
	t := qtensor{shape: shape, s: s, z: z, typ: typ}
	lo, hi := qrange(typ)
	t.q = make([]int32, t.size())
	for i := range t.q {
		t.q[i] = lo + int32(r.IntN(int(hi-lo+1)))
	}
	return t
}

// randFilter is a random filter: int8 symmetric per-channel along
// qdimLen channels, or uint8 per-tensor with a zero point near 128.
func randFilter(r *rand.Rand, typ int8, channels int, shape ...int) qfilter {
	f := qfilter{shape: shape, typ: typ}
	n := 1
	for _, d := range shape {
		n *= d
	}
	f.q = make([]int32, n)
	if typ == tflInt8 {
		for i := range f.q {
			f.q[i] = int32(r.IntN(255)) - 127
		}
		for range channels {
			f.scale = append(f.scale, float32(0.002+0.01*r.Float64()))
			f.zero = append(f.zero, 0)
		}
		return f
	}
	for i := range f.q {
		f.q[i] = int32(r.IntN(256))
	}
	f.scale = []float32{float32(0.002 + 0.01*r.Float64())}
	f.zero = []int32{int32(110 + r.IntN(40))}
	return f
}

func qbytes(q []int32) []byte {
	b := make([]byte, len(q))
	for i, v := range q {
		b[i] = byte(int8(v)) // uint8 values 128..255 wrap to the same byte
		if v > 127 {
			b[i] = byte(v)
		}
	}
	return b
}

func int32Bytes(v []int32) []byte {
	var b []byte
	for _, x := range v {
		b = binary.LittleEndian.AppendUint32(b, uint32(x))
	}
	return b
}

func dims32(d []int) []int32 {
	out := make([]int32, len(d))
	for i, v := range d {
		out[i] = int32(v)
	}
	return out
}

func (m *tflBuild) actOf(name string, t qtensor) int32 {
	return m.act(name, t.typ, t.s, int64(t.z), dims32(t.shape)...)
}

func (m *tflBuild) filterOf(name string, f qfilter, qdim int32) int32 {
	zero := make([]int64, len(f.zero))
	for i, z := range f.zero {
		zero[i] = int64(z)
	}
	return m.constant(name, f.typ, qbytes(f.q), f.scale, zero, qdim, dims32(f.shape)...)
}

func (m *tflBuild) biasOf(name string, b []int32, x qtensor, f qfilter) int32 {
	scale := make([]float32, len(f.scale))
	zero := make([]int64, len(f.scale))
	for i, s := range f.scale {
		scale[i] = x.s * s
	}
	return m.constant(name, tflInt32, int32Bytes(b), scale, zero, 0, int32(len(b)))
}

// chooseQ picks output quantisation covering [lo, hi] (narrowed by
// squeeze > 1 so that values saturate).
func chooseQ(lo, hi float64, typ int8, squeeze float64) qtensor {
	lo, hi = math.Min(lo, 0), math.Max(hi, 0)
	s := (hi - lo) / 255 / squeeze
	if s == 0 {
		s = 1
	}
	qmin, qmax := qrange(typ)
	z := clamp32(qmin+int32(math.Round(-lo/s)), qmin, qmax)
	return qtensor{s: float32(s), z: z, typ: typ}
}

func accRange(acc []int64, x qtensor, f qfilter, oc int) (float64, float64) {
	lo, hi := math.Inf(1), math.Inf(-1)
	for i, a := range acc {
		ws, _ := f.channel(i % oc)
		v := float64(a) * float64(x.s) * float64(ws)
		lo, hi = math.Min(lo, v), math.Max(hi, v)
	}
	return lo, hi
}

func qRange(t qtensor) (float64, float64) {
	lo, hi := math.Inf(1), math.Inf(-1)
	for i := range t.q {
		lo, hi = math.Min(lo, t.real(i)), math.Max(hi, t.real(i))
	}
	return lo, hi
}

// opCase is a test graph with its input and the reference output.
type opCase struct {
	name  string
	model []byte
	in    qtensor
	want  qtensor // quantised output, or
	index []int32 // ARG_MAX output
	exact bool    // data movement: every element must match
	// differ is the share of elements allowed one step off in the
	// quantised form (default 2%); see TestTFLiteOps.
	differ float64
	opts   TFLiteOptions
}

type convSpecT struct {
	name        string
	typ         int8 // activations; weights are int8 per-channel when int8, else uint8
	in          []int
	kh, kw, oc  int
	g           convGeom
	act         uint8
	squeeze     float64
	noBias      bool
	fullyConn   bool
	fcKeepShape bool
}

func convCase(r *rand.Rand, sp convSpecT) opCase {
	x := randQ(r, sp.typ, float32(0.02+0.05*r.Float64()), int32(r.IntN(60))+map[int8]int32{tflUint8: 100, tflInt8: -28}[sp.typ], sp.in...)
	c := sp.in[len(sp.in)-1]
	var f qfilter
	var qdim int32
	switch {
	case sp.fullyConn:
		f = randFilter(r, sp.typ, sp.oc, sp.oc, c)
	case sp.g.mult > 0:
		f = randFilter(r, sp.typ, c*sp.g.mult, 1, sp.kh, sp.kw, c*sp.g.mult)
		qdim = 3
	default:
		f = randFilter(r, sp.typ, sp.oc, sp.oc, sp.kh, sp.kw, c)
	}
	oc := sp.oc
	if sp.g.mult > 0 {
		oc = c * sp.g.mult
	}
	var bias []int32
	if !sp.noBias {
		bias = make([]int32, oc)
		for i := range bias {
			bias[i] = int32(r.IntN(20001)) - 10000
		}
	}
	var acc []int64
	var shape []int
	if sp.fullyConn {
		rows := x.size() / c
		flat := qtensor{shape: []int{rows, 1, 1, c}, q: x.q, s: x.s, z: x.z, typ: x.typ}
		conv := qfilter{shape: []int{sp.oc, 1, 1, c}, q: f.q, scale: f.scale, zero: f.zero, typ: f.typ}
		acc, _ = refConvAcc(flat, conv, bias, convGeom{sh: 1, sw: 1, dh: 1, dw: 1})
		shape = []int{rows, sp.oc}
		if sp.fcKeepShape {
			shape = append(append([]int(nil), sp.in[:len(sp.in)-1]...), sp.oc)
		}
	} else {
		acc, shape = refConvAcc(x, f, bias, sp.g)
	}
	lo, hi := accRange(acc, x, f, oc)
	out := chooseQ(lo, hi, sp.typ, max(sp.squeeze, 1))
	want := refRequantizeAcc(acc, shape, x, f, out, sp.act)

	m := newTFLBuild()
	in := m.actOf("in", x)
	w := m.filterOf("w", f, qdim)
	b := int32(-1)
	if bias != nil {
		b = m.biasOf("b", bias, x, f)
	}
	o := m.actOf("out", want)
	m.inputs, m.outputs = []int32{in}, []int32{o}
	pad := uint8(1)
	if sp.g.same {
		pad = 0
	}
	switch {
	case sp.fullyConn:
		m.op(opFullyConnected, []int32{in, w, b}, []int32{o}, optFullyConnected, 4,
			tbField{0, sp.act}, tbField{2, sp.fcKeepShape})
	case sp.g.mult > 0:
		m.op(opDepthwiseConv2D, []int32{in, w, b}, []int32{o}, optDepthwiseConv, 7,
			tbField{0, pad}, tbField{1, int32(sp.g.sw)}, tbField{2, int32(sp.g.sh)}, tbField{3, int32(sp.g.mult)},
			tbField{4, sp.act}, tbField{5, int32(sp.g.dw)}, tbField{6, int32(sp.g.dh)})
	default:
		m.op(opConv2D, []int32{in, w, b}, []int32{o}, optConv2D, 6,
			tbField{0, pad}, tbField{1, int32(sp.g.sw)}, tbField{2, int32(sp.g.sh)},
			tbField{3, sp.act}, tbField{4, int32(sp.g.dw)}, tbField{5, int32(sp.g.dh)})
	}
	return opCase{name: sp.name, model: m.bytes(), in: x, want: want}
}

// singleOp builds a graph of one operator with extra constant inputs.
func singleOp(code int32, optType uint8, slots int, opts []tbField, ins []qtensor, consts func(m *tflBuild) []int32, out qtensor, outShape []int) []byte {
	m := newTFLBuild()
	var in []int32
	for i, x := range ins {
		name := "in"
		if i > 0 {
			name = fmt.Sprintf("in%d", i)
		}
		in = append(in, m.actOf(name, x))
	}
	m.inputs = in[:1]
	if consts != nil {
		in = append(in, consts(m)...)
	}
	var o int32
	if out.s == 0 {
		o = m.act("out", tflInt64, 0, 0, dims32(outShape)...)
		m.tensors[o].scale, m.tensors[o].zero = nil, nil
	} else {
		o = m.act("out", out.typ, out.s, int64(out.z), dims32(outShape)...)
	}
	m.outputs = []int32{o}
	m.op(code, in, []int32{o}, optType, slots, opts...)
	return m.bytes()
}

func opCases() []opCase {
	r := rand.New(rand.NewPCG(7, 11))
	var cases []opCase
	one := convGeom{sh: 1, sw: 1, dh: 1, dw: 1}
	for _, sp := range []convSpecT{
		{name: "conv uint8 SAME stride 2 RELU6 odd size", typ: tflUint8, in: []int{1, 7, 9, 3}, kh: 3, kw: 3, oc: 8, g: convGeom{sh: 2, sw: 2, dh: 1, dw: 1, same: true}, act: actRelu6},
		{name: "conv uint8 VALID 1x1", typ: tflUint8, in: []int{1, 5, 6, 16}, kh: 1, kw: 1, oc: 12, g: one},
		{name: "conv uint8 saturating", typ: tflUint8, in: []int{1, 6, 6, 4}, kh: 3, kw: 3, oc: 5, g: convGeom{sh: 1, sw: 1, dh: 1, dw: 1, same: true}, squeeze: 4},
		{name: "conv int8 per-channel VALID dilation 2 RELU", typ: tflInt8, in: []int{1, 9, 8, 5}, kh: 3, kw: 2, oc: 6, g: convGeom{sh: 1, sw: 1, dh: 2, dw: 2}, act: actRelu},
		{name: "conv int8 per-channel SAME stride 2 no bias", typ: tflInt8, in: []int{1, 8, 7, 3}, kh: 3, kw: 3, oc: 4, g: convGeom{sh: 2, sw: 2, dh: 1, dw: 1, same: true}, noBias: true},
		{name: "conv uint8 RELU_N1_TO_1", typ: tflUint8, in: []int{1, 4, 4, 3}, kh: 3, kw: 3, oc: 3, g: convGeom{sh: 1, sw: 1, dh: 1, dw: 1, same: true}, act: actRelu1},
		{name: "depthwise uint8 multiplier 2 SAME dilation 2", typ: tflUint8, in: []int{1, 9, 9, 3}, kh: 3, kw: 3, g: convGeom{sh: 1, sw: 1, dh: 2, dw: 2, same: true, mult: 2}, act: actRelu6},
		{name: "depthwise uint8 SAME stride 2 odd", typ: tflUint8, in: []int{1, 7, 5, 4}, kh: 3, kw: 3, g: convGeom{sh: 2, sw: 2, dh: 1, dw: 1, same: true, mult: 1}, act: actRelu6},
		{name: "depthwise int8 per-channel 5x5 VALID", typ: tflInt8, in: []int{1, 8, 8, 6}, kh: 5, kw: 5, g: convGeom{sh: 1, sw: 1, dh: 1, dw: 1, mult: 1}},
		{name: "depthwise int8 dilation 4 SAME", typ: tflInt8, in: []int{1, 11, 11, 4}, kh: 3, kw: 3, g: convGeom{sh: 1, sw: 1, dh: 4, dw: 4, same: true, mult: 1}, act: actRelu},
		{name: "fully connected uint8 from 4-D", typ: tflUint8, in: []int{1, 1, 1, 40}, oc: 17, fullyConn: true},
		{name: "fully connected uint8 batch 3 RELU", typ: tflUint8, in: []int{3, 20}, oc: 9, fullyConn: true, act: actRelu},
		{name: "fully connected int8 keep_num_dims", typ: tflInt8, in: []int{2, 3, 10}, oc: 4, fullyConn: true, fcKeepShape: true},
	} {
		cases = append(cases, convCase(r, sp))
	}

	// ADD: x + QUANTIZE(x) to another scale and zero point, the way a
	// residual joins two differently quantised branches.
	for _, tc := range []struct {
		name    string
		typ     int8
		act     uint8
		squeeze float64
	}{{"add uint8", tflUint8, actNone, 1}, {"add uint8 RELU6 saturating", tflUint8, actRelu6, 3}, {"add int8 RELU", tflInt8, actRelu, 1}} {
		x := randQ(r, tc.typ, 0.11, map[int8]int32{tflUint8: 130, tflInt8: 2}[tc.typ], 1, 5, 7, 6)
		bq := qtensor{s: 0.043, z: map[int8]int32{tflUint8: 90, tflInt8: -38}[tc.typ], typ: tc.typ}
		b := refRequantize(x, bq)
		alo, ahi := qRange(x)
		blo, bhi := qRange(b)
		out := refAdd(x, b, chooseQ(alo+blo, ahi+bhi, tc.typ, tc.squeeze), tc.act)
		m := newTFLBuild()
		in := m.actOf("in", x)
		bt := m.actOf("requantized", b)
		o := m.actOf("out", out)
		m.inputs, m.outputs = []int32{in}, []int32{o}
		m.op(opQuantize, []int32{in}, []int32{bt}, 0, 0)
		m.op(opAdd, []int32{bt, in}, []int32{o}, optAdd, 1, tbField{0, tc.act})
		cases = append(cases, opCase{name: tc.name, model: m.bytes(), in: x, want: out})
	}

	// AVERAGE_POOL_2D: global (the MobileNet head) and a padded window.
	{
		x := randQ(r, tflUint8, 0.0235, 0, 1, 7, 7, 20)
		out := refAvgPool(x, 7, 7, 1, 1, false, actNone)
		cases = append(cases, opCase{name: "average pool global", in: x, want: out,
			model: singleOp(opAveragePool2D, optPool2D, 6, []tbField{{0, uint8(1)}, {1, int32(1)}, {2, int32(1)}, {3, int32(7)}, {4, int32(7)}}, []qtensor{x}, nil, out, out.shape)})
		x = randQ(r, tflUint8, 0.05, 120, 1, 8, 9, 3)
		out = refAvgPool(x, 3, 3, 2, 2, true, actNone)
		cases = append(cases, opCase{name: "average pool 3x3 SAME stride 2 excludes padding", in: x, want: out,
			model: singleOp(opAveragePool2D, optPool2D, 6, []tbField{{0, uint8(0)}, {1, int32(2)}, {2, int32(2)}, {3, int32(3)}, {4, int32(3)}}, []qtensor{x}, nil, out, out.shape)})
	}

	// MEAN over height and width, keep_dims, to another quantisation.
	for _, typ := range []int8{tflInt8, tflUint8} {
		x := randQ(r, typ, 0.0235, map[int8]int32{tflInt8: -128, tflUint8: 0}[typ], 1, 7, 7, 16)
		out := refMeanHW(x, qtensor{s: 0.019, z: map[int8]int32{tflInt8: -128, tflUint8: 0}[typ], typ: typ})
		cases = append(cases, opCase{name: "mean " + typeName(typ), in: x, want: out,
			model: singleOp(opMean, optReducer, 1, []tbField{{0, true}}, []qtensor{x},
				func(m *tflBuild) []int32 { return []int32{m.int32s("axes", 1, 2)} }, out, out.shape)})
	}

	// RESHAPE to [1, -1] (the classifier's squeeze).
	{
		x := randQ(r, tflUint8, 0.1, 58, 1, 1, 1, 30)
		out := x
		out.shape = []int{1, 30}
		cases = append(cases, opCase{name: "reshape squeeze", in: x, want: out, exact: true,
			model: singleOp(opReshape, 0, 0, nil, []qtensor{x},
				func(m *tflBuild) []int32 { return []int32{m.int32s("shape", 1, -1)} }, out, out.shape)})
		x = randQ(r, tflUint8, 0.1, 58, 1, 2, 3, 4)
		out = x
		out.shape = []int{1, 24}
		cases = append(cases, opCase{name: "reshape flattens NHWC order", in: x, want: out, exact: true,
			model: singleOp(opReshape, optReshape, 1, []tbField{{0, []int32{1, 24}}}, []qtensor{x}, nil, out, out.shape)})
	}

	// SOFTMAX to 1/256.
	for _, beta := range []float32{1, 0.5} {
		x := randQ(r, tflUint8, 0.099, 58, 1, 50)
		out := refSoftmax(x, beta, qtensor{s: 1.0 / 256, z: 0, typ: tflUint8})
		cases = append(cases, opCase{name: fmt.Sprintf("softmax beta %g", beta), in: x, want: out,
			model: singleOp(opSoftmax, optSoftmax, 1, []tbField{{0, beta}}, []qtensor{x}, nil, out, out.shape)})
	}

	// TILE the pooled vector back over a feature map.
	{
		x := randQ(r, tflUint8, 0.009, 0, 1, 1, 1, 5)
		out := refTile(x, []int{1, 4, 3, 1})
		cases = append(cases, opCase{name: "tile", in: x, want: out, exact: true,
			model: singleOp(opTile, 0, 0, nil, []qtensor{x},
				func(m *tflBuild) []int32 { return []int32{m.int32s("multiples", 1, 4, 3, 1)} }, out, out.shape)})
		x = randQ(r, tflUint8, 0.009, 0, 1, 2, 3, 2)
		out = refTile(x, []int{1, 2, 1, 3})
		cases = append(cases, opCase{name: "tile channels and rows", in: x, want: out, exact: true,
			model: singleOp(opTile, 0, 0, nil, []qtensor{x},
				func(m *tflBuild) []int32 { return []int32{m.int32s("multiples", 1, 2, 1, 3)} }, out, out.shape)})
	}

	// CONCATENATION of x with itself (equal quantisation: a copy) and with
	// QUANTIZE(x) (rescaled).
	for _, same := range []bool{true, false} {
		x := randQ(r, tflUint8, 0.055, 3, 1, 4, 5, 3)
		y := x
		if !same {
			y = refRequantize(x, qtensor{s: 0.0089, z: 0, typ: tflUint8})
		}
		out := refConcat([]qtensor{x, y}, 3, qtensor{s: x.s, z: x.z, typ: tflUint8})
		m := newTFLBuild()
		in := m.actOf("in", x)
		yt := in
		if !same {
			yt = m.actOf("requantized", y)
			m.op(opQuantize, []int32{in}, []int32{yt}, 0, 0)
		}
		o := m.actOf("out", out)
		m.inputs, m.outputs = []int32{in}, []int32{o}
		m.op(opConcatenation, []int32{in, yt}, []int32{o}, optConcatenation, 2, tbField{0, int32(-1)})
		name := "concatenation equal quantisation"
		if !same {
			name = "concatenation requantised"
		}
		cases = append(cases, opCase{name: name, model: m.bytes(), in: x, want: out, exact: same})
	}

	// RESIZE_BILINEAR in each coordinate mode, including from 1x1.
	for _, tc := range []struct {
		name             string
		h, w, oh, ow     int
		align, halfPixel bool
		// Non-dyadic scales give weights that float32 rounds in
		// TFLite's order of operations, not ONNX Runtime's.
		differ float64
	}{
		{"resize align_corners 5x5 to 17x17", 5, 5, 17, 17, true, false, 0},
		{"resize align_corners 3x4 to 9x7", 3, 4, 9, 7, true, false, 0},
		{"resize half_pixel 4x6 to 7x5", 4, 6, 7, 5, false, true, 0.03},
		{"resize asymmetric 3x3 to 8x8", 3, 3, 8, 8, false, false, 0},
		{"resize 1x1 to 5x5", 1, 1, 5, 5, true, false, 0},
	} {
		x := randQ(r, tflUint8, 0.2, 82, 1, tc.h, tc.w, 4)
		out := refResizeBilinear(x, tc.oh, tc.ow, tc.align, tc.halfPixel)
		cases = append(cases, opCase{name: tc.name, in: x, want: out, differ: tc.differ,
			model: singleOp(opResizeBilinear, optResizeBilinear, 4, []tbField{{2, tc.align}, {3, tc.halfPixel}}, []qtensor{x},
				func(m *tflBuild) []int32 { return []int32{m.int32s("size", int32(tc.oh), int32(tc.ow))} }, out, out.shape)})
	}

	// QUANTIZE: uint8 -> int8 with the same scale is exact; a rescale.
	{
		x := randQ(r, tflUint8, 0.00784314, 127, 1, 3, 3, 3)
		out := refRequantize(x, qtensor{s: x.s, z: -1, typ: tflInt8})
		cases = append(cases, opCase{name: "quantize uint8 to int8", in: x, want: out, exact: true,
			model: singleOp(opQuantize, 0, 0, nil, []qtensor{x}, nil, out, out.shape)})
		x = randQ(r, tflUint8, 0.0124, 0, 1, 3, 3, 8)
		out = refRequantize(x, qtensor{s: 0.0352, z: 0, typ: tflUint8})
		cases = append(cases, opCase{name: "quantize rescale uint8", in: x, want: out,
			model: singleOp(opQuantize, 0, 0, nil, []qtensor{x}, nil, out, out.shape)})
		x = randQ(r, tflInt8, 0.0039, -128, 1, 40)
		out = refRequantize(x, qtensor{s: 0.0039, z: 0, typ: tflUint8})
		cases = append(cases, opCase{name: "quantize int8 to uint8", in: x, want: out, exact: true,
			model: singleOp(opQuantize, 0, 0, nil, []qtensor{x}, nil, out, out.shape)})
	}

	// ARG_MAX over channels, with ties (first maximum wins).
	{
		x := randQ(r, tflUint8, 0.2, 82, 1, 6, 5, 7)
		for i := range x.q {
			x.q[i] /= 64 // few distinct values: many ties
		}
		idx := refArgMax(x)
		cases = append(cases, opCase{name: "arg_max with ties", in: x, index: idx,
			model: singleOp(opArgMax, optArgMax, 1, []tbField{{0, uint8(tflInt64)}}, []qtensor{x},
				func(m *tflBuild) []int32 { return []int32{m.int32s("axis", 3)} }, qtensor{}, []int{1, 6, 5})})
	}
	return cases
}

// runTFLiteONNX runs a converted model on a quantised input (fed as its
// raw values) and returns its float outputs.
func runTFLiteONNX(t *testing.T, model []byte, input string, x qtensor, outputs []string) [][]float32 {
	t.Helper()
	initORT(t)
	sess, err := ort.NewDynamicAdvancedSessionWithONNXData(model, []string{input}, outputs, nil)
	if err != nil {
		t.Fatalf("session: %v", err)
	}
	defer sess.Destroy()
	raw := make([]float32, len(x.q))
	for i, v := range x.q {
		raw[i] = float32(v)
	}
	shape := make([]int64, len(x.shape))
	for i, d := range x.shape {
		shape[i] = int64(d)
	}
	in, err := ort.NewTensor(ort.NewShape(shape...), raw)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Destroy()
	outs := make([]ort.Value, len(outputs))
	if err := sess.Run([]ort.Value{in}, outs); err != nil {
		t.Fatalf("run: %v", err)
	}
	var res [][]float32
	for i, o := range outs {
		defer o.Destroy()
		tv, ok := o.(*ort.Tensor[float32])
		if !ok {
			t.Fatalf("output %s is %T, want float32", outputs[i], o)
		}
		res = append(res, append([]float32(nil), tv.GetData()...))
	}
	return res
}

// stepDiff compares float outputs, requantised to want's grid, with the
// reference values.
type stepDiff struct {
	max, differ, n int
	sum            float64
}

func (d stepDiff) String() string {
	return fmt.Sprintf("max %d steps, %d of %d elements differ (mean %.4f)", d.max, d.differ, d.n, d.sum/float64(max(d.n, 1)))
}

func compareSteps(got []float32, want qtensor) stepDiff {
	qmin, qmax := qrange(want.typ)
	d := stepDiff{n: len(want.q)}
	for i, v := range got {
		if i >= len(want.q) {
			break
		}
		q := clamp32(int32(math.Round(float64(v)/float64(want.s)))+want.z, qmin, qmax)
		diff := int(q - want.q[i])
		if diff < 0 {
			diff = -diff
		}
		if diff > 0 {
			d.differ++
		}
		d.sum += float64(diff)
		d.max = max(d.max, diff)
	}
	return d
}

func TestTFLiteOps(t *testing.T) {
	for _, tc := range opCases() {
		for _, v := range tfliteVariants {
			t.Run(tc.name+"/"+v.name, func(t *testing.T) {
				opts := tc.opts
				opts.Form, opts.SignedWeights = v.opts.Form, v.opts.SignedWeights
				form := opts.Form
				onnx, err := ConvertTFLite(tc.model, opts)
				if err != nil {
					t.Fatalf("convert: %v", err)
				}
				got := runTFLiteONNX(t, onnx, "in", tc.in, []string{"out"})[0]
				if tc.index != nil {
					if len(got) != len(tc.index) {
						t.Fatalf("%d indices, want %d", len(got), len(tc.index))
					}
					for i, v := range tc.index {
						if got[i] != float32(v) {
							t.Fatalf("index %d: %g, want %d", i, got[i], v)
						}
					}
					return
				}
				if len(got) != len(tc.want.q) {
					t.Fatalf("%d values, want %d", len(got), len(tc.want.q))
				}
				d := compareSteps(got, tc.want)
				t.Log(d)
				share := cmp.Or(tc.differ, 0.02)
				switch {
				case d.max > 1, tc.exact && d.differ > 0 && form == TFLiteQuantized:
					t.Errorf("against the TFLite reference: %v", d)
				case form == TFLiteQuantized && float64(d.differ) > share*float64(d.n):
					t.Errorf("against the TFLite reference: %v, more than %.0f%% differ", d, 100*share)
				case d.sum > 0.25*float64(d.n):
					t.Errorf("against the TFLite reference: %v, mean above 0.25", d)
				}
			})
		}
	}
}

// deeplabLike builds a small segmentation graph shaped like the Coral
// DeepLab models for an h x h input: a strided convolution, image pooling
// (global AVERAGE_POOL_2D, 1x1 CONV_2D, TILE back, QUANTIZE), a
// CONCATENATION with a 1x1 branch, logits, RESIZE_BILINEAR
// (align_corners) to the input size and ARG_MAX. It returns the model
// for size h and the Go reference of its logits and class map at size n.
func deeplabLike(r *rand.Rand, h, n int) (model []byte, in qtensor, logits qtensor, classes []int32) {
	fh := (h + 1) / 2
	f0 := randFilter(r, tflUint8, 1, 8, 3, 3, 3)
	fPool := randFilter(r, tflUint8, 1, 4, 1, 1, 8)
	fBranch := randFilter(r, tflUint8, 1, 4, 1, 1, 8)
	fOut := randFilter(r, tflUint8, 1, 5, 1, 1, 8)
	same := convGeom{sh: 2, sw: 2, dh: 1, dw: 1, same: true}
	one := convGeom{sh: 1, sw: 1, dh: 1, dw: 1}

	// Quantisations are chosen at the file's size h and kept at size n.
	run := func(size int, q []qtensor) ([]qtensor, qtensor, []int32) {
		x := randQ(rand.New(rand.NewPCG(uint64(size), 3)), tflUint8, 1.0/128, 128, 1, size, size, 3)
		pick := func(i int, acc []int64, shape []int, xin qtensor, f qfilter, act uint8) qtensor {
			if len(q) <= i {
				lo, hi := accRange(acc, xin, f, shape[3])
				q = append(q, chooseQ(lo, hi, tflUint8, 1))
			}
			return refRequantizeAcc(acc, shape, xin, f, q[i], act)
		}
		acc, shape := refConvAcc(x, f0, nil, same)
		feat := pick(0, acc, shape, x, f0, actRelu6)
		pooled := refAvgPool(feat, feat.shape[1], feat.shape[2], 1, 1, false, actNone)
		acc, shape = refConvAcc(pooled, fPool, nil, one)
		p1 := pick(1, acc, shape, pooled, fPool, actRelu)
		tiled := refTile(p1, []int{1, feat.shape[1], feat.shape[2], 1})
		acc, shape = refConvAcc(feat, fBranch, nil, one)
		br := pick(2, acc, shape, feat, fBranch, actRelu)
		tq := refRequantize(tiled, qtensor{s: br.s, z: br.z, typ: tflUint8})
		cat := refConcat([]qtensor{tq, br}, 3, qtensor{s: br.s, z: br.z, typ: tflUint8})
		acc, shape = refConvAcc(cat, fOut, nil, one)
		lg := pick(3, acc, shape, cat, fOut, actNone)
		up := refResizeBilinear(lg, size, size, true, false)
		return append([]qtensor{x, feat, pooled, p1, tiled, br, tq, cat}, lg, up), lg, refArgMax(up)
	}
	var qs []qtensor
	ts, _, _ := run(h, nil)
	for _, i := range []int{1, 3, 5, 8} {
		qs = append(qs, ts[i])
	}
	ts, logits, classes = run(n, qs)
	in = ts[0]
	if n == h {
		in = ts[0]
	}

	m := newTFLBuild()
	file := func(t qtensor, name string, size int) int32 {
		t.shape = append([]int(nil), t.shape...)
		if len(t.shape) == 4 && t.shape[1] == n && n != h {
			t.shape[1], t.shape[2] = size, size
		}
		return m.actOf(name, t)
	}
	hs, fs := h, fh
	x0 := file(ts[0], "in", hs)
	feat := m.actOf("features", qtensor{shape: []int{1, fs, fs, 8}, s: ts[1].s, z: ts[1].z, typ: tflUint8})
	pooled := m.actOf("pooled", qtensor{shape: []int{1, 1, 1, 8}, s: ts[1].s, z: ts[1].z, typ: tflUint8})
	p1 := m.actOf("pool_conv", qtensor{shape: []int{1, 1, 1, 4}, s: ts[3].s, z: ts[3].z, typ: tflUint8})
	tiled := m.actOf("tiled", qtensor{shape: []int{1, fs, fs, 4}, s: ts[3].s, z: ts[3].z, typ: tflUint8})
	br := m.actOf("branch", qtensor{shape: []int{1, fs, fs, 4}, s: ts[5].s, z: ts[5].z, typ: tflUint8})
	tq := m.actOf("tiled_q", qtensor{shape: []int{1, fs, fs, 4}, s: ts[5].s, z: ts[5].z, typ: tflUint8})
	cat := m.actOf("concat", qtensor{shape: []int{1, fs, fs, 8}, s: ts[5].s, z: ts[5].z, typ: tflUint8})
	lg := m.actOf("logits", qtensor{shape: []int{1, fs, fs, 5}, s: ts[8].s, z: ts[8].z, typ: tflUint8})
	up := m.actOf("upsampled", qtensor{shape: []int{1, hs, hs, 5}, s: ts[8].s, z: ts[8].z, typ: tflUint8})
	am := m.act("ArgMax", tflInt64, 0, 0, 1, int32(hs), int32(hs))
	m.tensors[am].scale, m.tensors[am].zero = nil, nil
	conv := func(x int32, f qfilter, out int32, act uint8, stride int32, name string) {
		w := m.filterOf(name, f, 0)
		m.op(opConv2D, []int32{x, w, -1}, []int32{out}, optConv2D, 6,
			tbField{0, uint8(0)}, tbField{1, stride}, tbField{2, stride}, tbField{3, act}, tbField{4, int32(1)}, tbField{5, int32(1)})
	}
	conv(x0, f0, feat, actRelu6, 2, "w0")
	m.op(opAveragePool2D, []int32{feat}, []int32{pooled}, optPool2D, 6,
		tbField{0, uint8(1)}, tbField{1, int32(1)}, tbField{2, int32(1)}, tbField{3, int32(fs)}, tbField{4, int32(fs)})
	conv(pooled, fPool, p1, actRelu, 1, "w_pool")
	m.op(opTile, []int32{p1, m.int32s("multiples", 1, int32(fs), int32(fs), 1)}, []int32{tiled}, 0, 0)
	conv(feat, fBranch, br, actRelu, 1, "w_branch")
	m.op(opQuantize, []int32{tiled}, []int32{tq}, 0, 0)
	m.op(opConcatenation, []int32{tq, br}, []int32{cat}, optConcatenation, 2, tbField{0, int32(3)})
	conv(cat, fOut, lg, actNone, 1, "w_out")
	m.op(opResizeBilinear, []int32{lg, m.int32s("size", int32(hs), int32(hs))}, []int32{up}, optResizeBilinear, 4, tbField{2, true})
	m.op(opArgMax, []int32{up, m.int32s("axis", 3)}, []int32{am}, optArgMax, 1, tbField{0, uint8(tflInt64)})
	m.inputs, m.outputs = []int32{x0}, []int32{am}
	return m.bytes(), in, logits, classes
}

// TestTFLiteInputSize converts a DeepLab-like graph made for 17x17 at
// other input sizes and checks the logits (chosen by tensor name) and the
// class map against the Go reference computed at that size.
func TestTFLiteInputSize(t *testing.T) {
	for _, n := range []int{17, 13, 25} {
		for _, v := range tfliteVariants {
			t.Run(fmt.Sprintf("%dx%d/%s", n, n, v.name), func(t *testing.T) {
				model, in, logits, classes := deeplabLike(rand.New(rand.NewPCG(5, 8)), 17, n)
				opts := v.opts
				opts.Outputs = []string{"logits", "ArgMax"}
				form := opts.Form
				if n != 17 {
					opts.InputHeight, opts.InputWidth = n, n
				}
				onnx, err := ConvertTFLite(model, opts)
				if err != nil {
					t.Fatalf("convert: %v", err)
				}
				got := runTFLiteONNX(t, onnx, "in", in, []string{"logits", "ArgMax"})
				d := compareSteps(got[0], logits)
				t.Logf("logits: %v", d)
				// The float form does not round between operators: its
				// error builds up along the chain (measured: up to 3 steps,
				// mean 0.4-0.7).
				maxSteps, share := 1, 0.05
				if form == TFLiteFloat {
					maxSteps, share = 4, 1
				}
				if len(got[0]) != len(logits.q) || d.max > maxSteps || float64(d.differ) > share*float64(d.n) {
					t.Errorf("logits against the reference: %d values, %v", len(got[0]), d)
				}
				if len(got[1]) != len(classes) {
					t.Fatalf("%d classes, want %d", len(got[1]), len(classes))
				}
				same := 0
				for i, c := range classes {
					if got[1][i] == float32(c) {
						same++
					}
				}
				t.Logf("class map: %d of %d pixels agree", same, len(classes))
				if same*100 < len(classes)*97 {
					t.Errorf("class map: %d of %d pixels agree with the reference", same, len(classes))
				}
			})
		}
	}
}

// TestRefAddKernels: XNNPACK's ADD (what TFLite runs) and TFLite's own
// kernel agree to one step, differing on a few pairs.
func TestRefAddKernels(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(9, 9))
	x := randQ(r, tflUint8, 0.11, 130, 1, 16, 16, 16)
	y := randQ(r, tflUint8, 0.043, 90, 1, 16, 16, 16)
	out := qtensor{s: 0.13, z: 120, typ: tflUint8}
	a, b := refAdd(x, y, out, actNone), refAddTFLite(x, y, out, actNone)
	differ := 0
	for i := range a.q {
		if d := a.q[i] - b.q[i]; d < -1 || d > 1 {
			t.Fatalf("element %d: %d and %d", i, a.q[i], b.q[i])
		} else if d != 0 {
			differ++
		}
	}
	t.Logf("%d of %d elements differ by one step", differ, len(a.q))
	if differ*100 > len(a.q) {
		t.Errorf("%d of %d elements differ", differ, len(a.q))
	}
}

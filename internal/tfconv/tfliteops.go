package tfconv

import (
	"encoding/binary"
	"fmt"
	"math"
)

func (c *tflConv) convertOp(op *tflOperator) error {
	if len(op.outputs) != 1 {
		return fmt.Errorf("%d outputs, want 1: %w", len(op.outputs), ErrUnsupported)
	}
	want := map[int32]uint8{
		opConv2D: optConv2D, opDepthwiseConv2D: optDepthwiseConv, opAveragePool2D: optPool2D,
		opFullyConnected: optFullyConnected, opSoftmax: optSoftmax, opConcatenation: optConcatenation,
		opAdd: optAdd, opResizeBilinear: optResizeBilinear, opReshape: optReshape, opMean: optReducer,
		opArgMax: optArgMax,
	}
	if w, ok := want[op.opcode]; ok && op.optType != 0 && op.optType != w {
		return fmt.Errorf("builtin options of type %d, want %d", op.optType, w)
	}
	var err error
	switch op.opcode {
	case opConv2D, opDepthwiseConv2D:
		err = c.conv(op)
	case opFullyConnected:
		err = c.fullyConnected(op)
	case opAdd:
		err = c.add(op)
	case opAveragePool2D:
		err = c.averagePool(op)
	case opMean:
		err = c.mean(op)
	case opReshape:
		err = c.reshape(op)
	case opSoftmax:
		err = c.softmax(op)
	case opConcatenation:
		err = c.concatenation(op)
	case opTile:
		err = c.tile(op)
	case opResizeBilinear:
		err = c.resizeBilinear(op)
	case opQuantize, opDequantize:
		err = c.quantize(op)
	case opArgMax:
		err = c.argMax(op)
	default:
		return fmt.Errorf("no lowering for this operator: %w", ErrUnsupported)
	}
	if err == nil && c.m.r.err != nil {
		err = c.m.r.err
	}
	return err
}

// window computes one spatial dimension of a convolution or pooling the
// way TFLite does (ComputePaddingHeightWidth): SAME gives ceil(in/stride)
// outputs with the odd padding element after.
func window(in, k, stride, dil int64, same bool) (out, before, after int64, err error) {
	if k < 1 || stride < 1 || dil < 1 || k > maxTFLiteDim || stride > maxTFLiteDim || dil > maxTFLiteDim {
		return 0, 0, 0, fmt.Errorf("window %d, stride %d, dilation %d out of range", k, stride, dil)
	}
	ek := (k-1)*dil + 1
	if same {
		out = (in + stride - 1) / stride
		total := max((out-1)*stride+ek-in, 0)
		return out, total / 2, total - total/2, nil
	}
	if in < ek {
		return 0, 0, 0, fmt.Errorf("VALID window %d larger than input %d", ek, in)
	}
	return (in-ek)/stride + 1, 0, 0, nil
}

// qweights is a convolution filter in ONNX layout (OIHW).
type qweights struct {
	t     *tensor
	o     int64
	scale []float32 // one, or one per output channel
	zero  []int64
}

// filter reads a TFLite filter: [O,H,W,I] for CONV_2D and FULLY_CONNECTED
// ([O,I]), [1,H,W,O] for DEPTHWISE_CONV_2D; quantised along O.
func (c *tflConv) filter(idx int32, depthwise bool) (*qweights, error) {
	t := c.tensor(idx)
	shape := t.shape
	if len(shape) == 2 {
		shape = []int64{shape[0], 1, 1, shape[1]}
	}
	if len(shape) != 4 {
		return nil, fmt.Errorf("filter %q: shape %v", t.name, t.shape)
	}
	var dtype int32
	switch t.typ {
	case tflUint8:
		dtype = dtUint8
	case tflInt8:
		dtype = dtInt8
	default:
		return nil, fmt.Errorf("filter %q: %s weights: %w", t.name, typeName(t.typ), ErrUnsupported)
	}
	data, err := c.constBytes(idx, 1)
	if err != nil {
		return nil, err
	}
	q := t.quant
	if q == nil {
		return nil, fmt.Errorf("filter %q is not quantised", t.name)
	}
	qdim := 0
	if depthwise {
		qdim = 3
	}
	if len(t.shape) == 2 && q.dim != 0 && len(q.scale) > 1 {
		return nil, fmt.Errorf("filter %q: quantised along dimension %d", t.name, q.dim)
	}
	if len(q.scale) > 1 && len(t.shape) == 4 && q.dim != qdim {
		return nil, fmt.Errorf("filter %q: quantised along dimension %d, want %d", t.name, q.dim, qdim)
	}
	for k, s := range q.scale {
		if !(s > 0) || math.IsInf(float64(s), 0) {
			return nil, fmt.Errorf("filter %q: scale %g", t.name, s)
		}
		lo, hi := int64(0), int64(255)
		if dtype == dtInt8 {
			lo, hi = -128, 127
		}
		if q.zero[k] < lo || q.zero[k] > hi {
			return nil, fmt.Errorf("filter %q: zero point %d", t.name, q.zero[k])
		}
	}
	raw := make([]byte, len(data))
	var o, kh, kw, ci int64
	if depthwise {
		if shape[0] != 1 {
			return nil, fmt.Errorf("depthwise filter %q: shape %v", t.name, t.shape)
		}
		kh, kw, o, ci = shape[1], shape[2], shape[3], 1
		for y := int64(0); y < kh; y++ {
			for x := int64(0); x < kw; x++ {
				for ch := int64(0); ch < o; ch++ {
					raw[(ch*kh+y)*kw+x] = data[(y*kw+x)*o+ch]
				}
			}
		}
	} else {
		o, kh, kw, ci = shape[0], shape[1], shape[2], shape[3]
		for oc := int64(0); oc < o; oc++ {
			for y := int64(0); y < kh; y++ {
				for x := int64(0); x < kw; x++ {
					for ch := int64(0); ch < ci; ch++ {
						raw[((oc*ci+ch)*kh+y)*kw+x] = data[((oc*kh+y)*kw+x)*ci+ch]
					}
				}
			}
		}
	}
	if len(q.scale) != 1 && int64(len(q.scale)) != o {
		return nil, fmt.Errorf("filter %q: %d scales for %d output channels", t.name, len(q.scale), o)
	}
	// Moving weights and zero points by 128 between uint8 and int8 is
	// exact; the option picks which kernels ONNX Runtime runs.
	zero := q.zero
	switch {
	case dtype == dtUint8 && c.signed:
		raw, zero = shiftWeights(raw, q.zero, -128)
		dtype = dtInt8
	case dtype == dtInt8 && !c.signed:
		raw, zero = shiftWeights(raw, q.zero, 128)
		dtype = dtUint8
	}
	return &qweights{
		t:     &tensor{dtype: dtype, dims: []int64{o, ci, kh, kw}, raw: raw},
		o:     o,
		scale: q.scale,
		zero:  zero,
	}, nil
}

func shiftWeights(raw []byte, zero []int64, by int64) ([]byte, []int64) {
	for i := range raw {
		raw[i] += byte(by)
	}
	z := make([]int64, len(zero))
	for i, v := range zero {
		z[i] = v + by
	}
	return raw, z
}

// float returns the dequantised filter.
func (w *qweights) float() *tensor {
	per := int64(len(w.t.raw)) / w.o
	f := make([]float32, len(w.t.raw))
	for i, b := range w.t.raw {
		ch := 0
		if len(w.scale) > 1 {
			ch = i / int(per)
		}
		q := int64(b)
		if w.t.dtype == dtInt8 {
			q = int64(int8(b))
		}
		f[i] = float32(float64(w.scale[ch]) * float64(q-w.zero[ch]))
	}
	return &tensor{dtype: dtFloat, dims: w.t.dims, f32: f}
}

// bias reads an int32 bias of n values (nil when the input is omitted).
func (c *tflConv) bias(op *tflOperator, i int, n int64) ([]int32, error) {
	if i >= len(op.inputs) || op.inputs[i] < 0 {
		return nil, nil
	}
	idx := op.inputs[i]
	t := c.tensor(idx)
	if t.typ != tflInt32 {
		return nil, fmt.Errorf("bias %q: %s, want int32: %w", t.name, typeName(t.typ), ErrUnsupported)
	}
	d, err := c.constBytes(idx, 4)
	if err != nil {
		return nil, err
	}
	if int64(len(d)/4) != n {
		return nil, fmt.Errorf("bias %q: %d values for %d channels", t.name, len(d)/4, n)
	}
	b := make([]int32, n)
	for k := range b {
		b[k] = int32(binary.LittleEndian.Uint32(d[4*k:]))
	}
	return b, nil
}

// convNode is a QLinearConv or Conv to emit on an NCHW input.
type convNode struct {
	name    string
	w       *qweights
	bias    []int32
	group   int64
	strides []int64
	dil     []int64
	pads    []int64 // top, left, bottom, right
}

// emit adds the convolution on input x (NCHW, quantised as in) with
// output quantisation out. It returns the output and whether it is
// quantised (QLinearConv) or float (Conv).
func (c *tflConv) emitConv(n *convNode, x *tval, out qp) (string, bool) {
	attrs := []attr{
		intsAttr("kernel_shape", n.w.t.dims[2], n.w.t.dims[3]),
		intsAttr("strides", n.strides...),
		intsAttr("dilations", n.dil...),
		intsAttr("pads", n.pads...),
		intAttr("group", n.group),
	}
	if c.form == TFLiteQuantized {
		ws, wz := c.weightQuant(n.name, n.w)
		in := []string{c.layout(x, true), c.scalarF(x.q.s), c.scalarU8(x.q.z),
			c.b.constant(n.name+"/W", n.w.t), ws, wz, c.scalarF(out.s), c.scalarU8(out.z)}
		if n.bias != nil {
			raw := make([]byte, 0, 4*len(n.bias))
			for _, v := range n.bias {
				raw = binary.LittleEndian.AppendUint32(raw, uint32(v))
			}
			in = append(in, c.b.constant(n.name+"/B", &tensor{dtype: dtInt32, dims: []int64{int64(len(n.bias))}, raw: raw}))
		}
		return c.b.op("QLinearConv", n.name, in, attrs...), true
	}
	in := []string{c.real(x, true), c.b.constant(n.name+"/W", n.w.float())}
	if n.bias != nil {
		b := make([]float32, len(n.bias))
		for k, v := range n.bias {
			s := n.w.scale[0]
			if len(n.w.scale) > 1 {
				s = n.w.scale[k]
			}
			b[k] = float32(float64(v) * float64(x.q.s) * float64(s))
		}
		in = append(in, c.b.constant(n.name+"/B", &tensor{dtype: dtFloat, dims: []int64{int64(len(b))}, f32: b}))
	}
	return c.b.op("Conv", n.name, in, attrs...), false
}

// weightQuant adds a filter's scale and zero point (scalars, or 1-D per
// output channel).
func (c *tflConv) weightQuant(name string, w *qweights) (string, string) {
	var dims []int64
	if len(w.scale) > 1 {
		dims = []int64{int64(len(w.scale))}
	}
	s := c.b.constant(name+"/w_scale", &tensor{dtype: dtFloat, dims: dims, f32: w.scale})
	z := c.b.constant(name+"/w_zero", &tensor{dtype: w.t.dtype, dims: dims, i64: w.zero})
	return s, z
}

func (c *tflConv) conv(op *tflOperator) error {
	depthwise := op.opcode == opDepthwiseConv2D
	r := c.m.r
	o := op.opts
	x, err := c.in(op, 0)
	if err != nil {
		return err
	}
	if len(x.shape) != 4 {
		return fmt.Errorf("input shape %v, want NHWC", x.shape)
	}
	if len(op.inputs) < 2 || op.inputs[1] < 0 {
		return fmt.Errorf("no filter")
	}
	w, err := c.filter(op.inputs[1], depthwise)
	if err != nil {
		return err
	}
	same := r.fieldU8(o, 0, 0) == 0
	sw, sh := int64(r.fieldI32(o, 1, 0)), int64(r.fieldI32(o, 2, 0))
	var act uint8
	var dw, dh int64
	group := int64(1)
	if depthwise {
		mult := int64(r.fieldI32(o, 3, 0))
		act = r.fieldU8(o, 4, 0)
		dw, dh = int64(r.fieldI32(o, 5, 1)), int64(r.fieldI32(o, 6, 1))
		if mult < 1 || x.shape[3]*mult != w.o {
			return fmt.Errorf("depth multiplier %d: %d input channels, %d output channels", mult, x.shape[3], w.o)
		}
		group = x.shape[3]
	} else {
		act = r.fieldU8(o, 3, 0)
		dw, dh = int64(r.fieldI32(o, 4, 1)), int64(r.fieldI32(o, 5, 1))
		if w.t.dims[1] != x.shape[3] {
			return fmt.Errorf("filter has %d input channels, input %d", w.t.dims[1], x.shape[3])
		}
	}
	oh, pt, pb, err := window(x.shape[1], w.t.dims[2], sh, dh, same)
	if err != nil {
		return err
	}
	ow, pl, pr, err := window(x.shape[2], w.t.dims[3], sw, dw, same)
	if err != nil {
		return err
	}
	bias, err := c.bias(op, 2, w.o)
	if err != nil {
		return err
	}
	idx := op.outputs[0]
	q, err := c.actQuant(idx)
	if err != nil {
		return err
	}
	y, quant := c.emitConv(&convNode{
		name: c.tensor(idx).name, w: w, bias: bias, group: group,
		strides: []int64{sh, sw}, dil: []int64{dh, dw}, pads: []int64{pt, pl, pb, pr},
	}, x, q)
	shape := []int64{x.shape[0], oh, ow, w.o}
	if quant {
		return c.finishQuant(idx, y, shape, true, act)
	}
	return c.finishFloat(idx, y, shape, true, act, nil)
}

func (c *tflConv) fullyConnected(op *tflOperator) error {
	r := c.m.r
	act := r.fieldU8(op.opts, 0, 0)
	if f := r.fieldU8(op.opts, 1, 0); f != 0 {
		return fmt.Errorf("weights format %d: %w", f, ErrUnsupported)
	}
	x, err := c.in(op, 0)
	if err != nil {
		return err
	}
	if len(op.inputs) < 2 || op.inputs[1] < 0 || len(c.tensor(op.inputs[1]).shape) != 2 {
		return fmt.Errorf("filter must be 2-D")
	}
	w, err := c.filter(op.inputs[1], false)
	if err != nil {
		return err
	}
	in := w.t.dims[1]
	total := numElements(x.shape)
	if in == 0 || total%in != 0 {
		return fmt.Errorf("input %v does not split into rows of %d", x.shape, in)
	}
	batch := total / in
	bias, err := c.bias(op, 2, w.o)
	if err != nil {
		return err
	}
	idx := op.outputs[0]
	q, err := c.actQuant(idx)
	if err != nil {
		return err
	}
	name := c.tensor(idx).name
	// A 1x1 convolution over [batch, in, 1, 1].
	flat := &tval{
		name:  c.b.op("Reshape", name+"/rows", []string{c.memoryNHWC(x), c.int64s(batch, in, 1, 1)}),
		shape: []int64{batch, 1, 1, in}, nchw: true, kind: x.kind, q: x.q,
	}
	y, quant := c.emitConv(&convNode{
		name: name, w: w, bias: bias, group: 1,
		strides: []int64{1, 1}, dil: []int64{1, 1}, pads: []int64{0, 0, 0, 0},
	}, flat, q)
	shape := []int64{batch, w.o}
	if keep := r.fieldBool(op.opts, 2); keep {
		shape = append(append([]int64(nil), x.shape[:len(x.shape)-1]...), w.o)
	}
	y = c.b.op("Reshape", name+"/out", []string{y, c.int64s(shape...)})
	if quant {
		return c.finishQuant(idx, y, shape, false, act)
	}
	return c.finishFloat(idx, y, shape, false, act, nil)
}

// broadcast returns the NumPy broadcast of two shapes.
func broadcast(a, b []int64) ([]int64, error) {
	if len(a) != len(b) {
		return nil, fmt.Errorf("shapes %v and %v: ranks differ: %w", a, b, ErrUnsupported)
	}
	out := make([]int64, len(a))
	for i := range a {
		switch {
		case a[i] == b[i], b[i] == 1:
			out[i] = a[i]
		case a[i] == 1:
			out[i] = b[i]
		default:
			return nil, fmt.Errorf("shapes %v and %v do not broadcast", a, b)
		}
	}
	return out, nil
}

func (c *tflConv) add(op *tflOperator) error {
	act := c.m.r.fieldU8(op.opts, 0, 0)
	a, err := c.in(op, 0)
	if err != nil {
		return err
	}
	b, err := c.in(op, 1)
	if err != nil {
		return err
	}
	shape, err := broadcast(a.shape, b.shape)
	if err != nil {
		return err
	}
	nchw := len(shape) == 4
	idx := op.outputs[0]
	name := c.tensor(idx).name
	if a.kind == kindQuant && b.kind == kindQuant {
		// TFLite's integer ADD, exactly: a table of all 256x256 input pairs.
		q, err := c.actQuant(idx)
		if err != nil {
			return err
		}
		table, err := addTable(a.q, b.q, q, act)
		if err != nil {
			return err
		}
		ia := c.b.op("Cast", name+"/a", []string{c.layout(a, nchw)}, intAttr("to", int64(dtInt32)))
		ib := c.b.op("Cast", name+"/b", []string{c.layout(b, nchw)}, intAttr("to", int64(dtInt32)))
		pair := c.b.op("Add", name+"/pair", []string{c.b.op("Mul", name+"/a256", []string{ia, c.int32Scalar(256)}), ib})
		lut := c.b.constant(name+"/table", &tensor{dtype: dtUint8, dims: []int64{256 * 256}, raw: table})
		y := c.b.op("Gather", name, []string{lut, pair}, intAttr("axis", 0))
		return c.setOut(idx, &tval{name: y, shape: shape, nchw: nchw, kind: kindQuant, q: q})
	}
	y := c.b.op("Add", name+"/sum", []string{c.real(a, nchw), c.real(b, nchw)})
	return c.finishFloat(idx, y, shape, nchw, act, nil)
}

// addTable is quantised ADD as TFLite runs it through its XNNPACK
// delegate (xnn_init_qu8_add_minmax_scalar_params, and the same for
// int8): each input's scale relative to the output becomes an integer
// multiplier of about 20 bits, with one shift for both, and the sum of the
// products plus the zero-point bias rounds half up at the shift. TFLite's
// own kernel (reference_ops::Add, inputs shifted left by 20 and rescaled
// twice) differs from it by one step on rare pairs, and the reference
// interpreter runs XNNPACK's. The table holds every pair of stored values,
// indexed a*256+b, with the fused activation's clamp.
func addTable(a, b, out qp, act uint8) ([]byte, error) {
	lo, hi, err := actRange(act, out)
	if err != nil {
		return nil, err
	}
	aScale, bScale := a.s/out.s, b.s/out.s
	maxScale := max(aScale, bScale)
	exp := int32(math.Float32bits(maxScale)>>23&0xff) - 127
	shift := 20 - exp
	if !(maxScale > 0) || math.IsInf(float64(maxScale), 0) || maxScale >= 256 || shift < 1 || shift > 30 {
		return nil, fmt.Errorf("ADD input scales %g and %g over output scale %g: %w", a.s, b.s, out.s, ErrUnsupported)
	}
	mult := func(s float32) int64 {
		return int64(math.RoundToEven(float64(math.Float32frombits(math.Float32bits(s) + uint32(shift)<<23))))
	}
	am, bm := mult(aScale), mult(bScale)
	bias := int64(1)<<(shift-1) - am*a.z - bm*b.z
	table := make([]byte, 256*256)
	for va := range int64(256) {
		for vb := range int64(256) {
			acc := int64(int32(bias + va*am + vb*bm))
			v := acc>>shift + out.z
			table[va*256+vb] = byte(min(max(v, lo), hi))
		}
	}
	return table, nil
}

func (c *tflConv) averagePool(op *tflOperator) error {
	r, o := c.m.r, op.opts
	x, err := c.in(op, 0)
	if err != nil {
		return err
	}
	if len(x.shape) != 4 {
		return fmt.Errorf("input shape %v, want NHWC", x.shape)
	}
	same := r.fieldU8(o, 0, 0) == 0
	sw, sh := int64(r.fieldI32(o, 1, 0)), int64(r.fieldI32(o, 2, 0))
	fw, fh := int64(r.fieldI32(o, 3, 0)), int64(r.fieldI32(o, 4, 0))
	act := r.fieldU8(o, 5, 0)
	idx := op.outputs[0]
	name := c.tensor(idx).name
	orig := c.tensor(op.inputs[0]).shape
	origOut := c.tensor(idx).shape
	var y string
	var shape []int64
	if len(orig) == 4 && len(origOut) == 4 && fh == orig[1] && fw == orig[2] && origOut[1] == 1 && origOut[2] == 1 {
		// A window over the whole feature map stays global when the
		// input size changes.
		y = c.b.op("GlobalAveragePool", name+"/avg", []string{c.real(x, true)})
		shape = []int64{x.shape[0], 1, 1, x.shape[3]}
	} else {
		oh, pt, pb, err := window(x.shape[1], fh, sh, 1, same)
		if err != nil {
			return err
		}
		ow, pl, pr, err := window(x.shape[2], fw, sw, 1, same)
		if err != nil {
			return err
		}
		y = c.b.op("AveragePool", name+"/avg", []string{c.real(x, true)},
			intsAttr("kernel_shape", fh, fw), intsAttr("strides", sh, sw),
			intsAttr("pads", pt, pl, pb, pr), intAttr("count_include_pad", 0))
		shape = []int64{x.shape[0], oh, ow, x.shape[3]}
	}
	return c.finishFloat(idx, y, shape, true, act, x)
}

// nchwAxis maps an NHWC axis of a 4-D tensor to its NCHW position.
var nchwAxis = [4]int64{0, 2, 3, 1}

func normAxis(a, rank int64) (int64, error) {
	if a < 0 {
		a += rank
	}
	if a < 0 || a >= rank {
		return 0, fmt.Errorf("axis %d out of range for rank %d", a, rank)
	}
	return a, nil
}

func (c *tflConv) mean(op *tflOperator) error {
	x, err := c.in(op, 0)
	if err != nil {
		return err
	}
	axes, err := c.constInts(op, 1)
	if err != nil {
		return err
	}
	keep := c.m.r.fieldBool(op.opts, 0)
	rank := int64(len(x.shape))
	reduced := make([]bool, rank)
	for _, a := range axes {
		a, err := normAxis(a, rank)
		if err != nil {
			return err
		}
		reduced[a] = true
	}
	var shape []int64
	for i, d := range x.shape {
		switch {
		case !reduced[i]:
			shape = append(shape, d)
		case keep:
			shape = append(shape, 1)
		}
	}
	// Reduce in NCHW when the kept axes come out in TFLite's order.
	nchw := rank == 4
	if nchw && !keep {
		last := int64(-1)
		for a := int64(0); a < 4; a++ {
			if !reduced[a] {
				if nchwAxis[a] < last {
					nchw = false
				}
				last = nchwAxis[a]
			}
		}
	}
	var onnxAxes []int64
	for a := int64(0); a < rank; a++ {
		if reduced[a] {
			if nchw {
				onnxAxes = append(onnxAxes, nchwAxis[a])
			} else {
				onnxAxes = append(onnxAxes, a)
			}
		}
	}
	sortInts(onnxAxes)
	idx := op.outputs[0]
	if x.kind == kindQuant && keep && rank == 4 && reduced[1] && reduced[2] && !reduced[0] && !reduced[3] {
		return c.meanHW(idx, x, shape)
	}
	keepDims := int64(0)
	if keep {
		keepDims = 1
	}
	y := c.b.op("ReduceMean", c.tensor(idx).name+"/mean", []string{c.real(x, nchw)},
		intsAttr("axes", onnxAxes...), intAttr("keepdims", keepDims))
	return c.finishFloat(idx, y, shape, nchw && len(shape) == 4, actNone, x)
}

func sortInts(v []int64) {
	for i := 1; i < len(v); i++ {
		for j := i; j > 0 && v[j] < v[j-1]; j-- {
			v[j], v[j-1] = v[j-1], v[j]
		}
	}
}

func (c *tflConv) reshape(op *tflOperator) error {
	x, err := c.in(op, 0)
	if err != nil {
		return err
	}
	idx := op.outputs[0]
	var target []int64
	if len(op.inputs) > 1 && op.inputs[1] >= 0 {
		if target, err = c.constInts(op, 1); err != nil {
			return err
		}
	} else if ns := c.m.r.fieldI32s(op.opts, 0); len(ns) > 0 {
		for _, d := range ns {
			target = append(target, int64(d))
		}
	} else {
		target = append([]int64(nil), c.tensor(idx).shape...)
	}
	total := numElements(x.shape)
	known, unknown := int64(1), -1
	for i, d := range target {
		switch {
		case d == -1 && unknown < 0:
			unknown = i
		case d < 0 || d > maxTFLiteDim:
			return fmt.Errorf("target shape %v", target)
		default:
			known *= d
		}
	}
	if unknown >= 0 && known > 0 && total%known == 0 {
		target[unknown] = total / known
		known = total
	}
	if known != total {
		return fmt.Errorf("cannot reshape %v to %v", x.shape, target)
	}
	y := c.b.op("Reshape", c.tensor(idx).name, []string{c.memoryNHWC(x), c.int64s(target...)})
	return c.passQuant(idx, x, y, target, false)
}

func (c *tflConv) softmax(op *tflOperator) error {
	beta := c.m.r.fieldF32(op.opts, 0, 1)
	x, err := c.in(op, 0)
	if err != nil {
		return err
	}
	idx := op.outputs[0]
	name := c.tensor(idx).name
	nchw := len(x.shape) == 4
	axis := int64(len(x.shape) - 1)
	if nchw {
		axis = 1
	}
	v := c.real(x, nchw)
	if beta != 1 {
		v = c.b.op("Mul", name+"/beta", []string{v, c.scalarF(beta)})
	}
	y := c.b.op("Softmax", name+"/softmax", []string{v}, intAttr("axis", axis))
	return c.finishFloat(idx, y, x.shape, nchw, actNone, nil)
}

func (c *tflConv) concatenation(op *tflOperator) error {
	r := c.m.r
	axis := int64(r.fieldI32(op.opts, 0, 0))
	act := r.fieldU8(op.opts, 1, 0)
	idx := op.outputs[0]
	var xs []*tval
	for i := range op.inputs {
		x, err := c.in(op, i)
		if err != nil {
			return err
		}
		xs = append(xs, x)
	}
	if len(xs) == 0 {
		return fmt.Errorf("no inputs")
	}
	rank := int64(len(xs[0].shape))
	axis, err := normAxis(axis, rank)
	if err != nil {
		return err
	}
	shape := append([]int64(nil), xs[0].shape...)
	shape[axis] = 0
	for _, x := range xs {
		if int64(len(x.shape)) != rank {
			return fmt.Errorf("inputs of rank %d and %d", rank, len(x.shape))
		}
		for a := range x.shape {
			if int64(a) != axis && x.shape[a] != xs[0].shape[a] {
				return fmt.Errorf("input shapes %v and %v", xs[0].shape, x.shape)
			}
		}
		shape[axis] += x.shape[axis]
	}
	nchw := rank == 4
	onnxAxis := axis
	if nchw {
		onnxAxis = nchwAxis[axis]
	}
	name := c.tensor(idx).name
	q, err := c.actQuant(idx)
	if err != nil {
		return err
	}
	same := act == actNone
	for _, x := range xs {
		same = same && x.kind == kindQuant && x.q == q
	}
	if same || c.form != TFLiteQuantized {
		// Equal quantisations (or float): concatenate as stored.
		var in []string
		for _, x := range xs {
			in = append(in, c.layout(x, nchw))
		}
		y := c.b.op("Concat", name, in, intAttr("axis", onnxAxis))
		if c.form == TFLiteQuantized {
			return c.setOut(idx, &tval{name: y, shape: shape, nchw: nchw, kind: kindQuant, q: q})
		}
		return c.finishFloat(idx, y, shape, nchw, act, nil)
	}
	var in []string
	for _, x := range xs {
		in = append(in, c.real(x, nchw))
	}
	y := c.b.op("Concat", name+"/real", in, intAttr("axis", onnxAxis))
	return c.finishFloat(idx, y, shape, nchw, act, nil)
}

func (c *tflConv) tile(op *tflOperator) error {
	x, err := c.in(op, 0)
	if err != nil {
		return err
	}
	mult, err := c.constInts(op, 1)
	if err != nil {
		return err
	}
	if len(mult) != len(x.shape) {
		return fmt.Errorf("%d multiples for rank %d", len(mult), len(x.shape))
	}
	idx := op.outputs[0]
	orig := c.tensor(op.inputs[0]).shape
	shape := make([]int64, len(x.shape))
	for a, m := range mult {
		if m < 1 || m > maxTFLiteDim {
			return fmt.Errorf("multiple %d", m)
		}
		if c.resized && len(x.shape) == 4 && (a == 1 || a == 2) && len(orig) == 4 {
			// The tiled size was a feature map size: follow it.
			want, ok := c.dimMap[orig[a]*m]
			if !ok || want%x.shape[a] != 0 {
				return fmt.Errorf("input size override: cannot tell what TILE to %d becomes: %w", orig[a]*m, ErrUnsupported)
			}
			m = want / x.shape[a]
			mult[a] = m
		}
		shape[a] = x.shape[a] * m
		if shape[a] > maxTFLiteDim {
			return fmt.Errorf("tiled size %d", shape[a])
		}
	}
	nchw := len(x.shape) == 4
	if nchw {
		mult = []int64{mult[0], mult[3], mult[1], mult[2]}
	}
	y := c.b.op("Tile", c.tensor(idx).name, []string{c.layout(x, nchw), c.int64s(mult...)})
	return c.passQuant(idx, x, y, shape, nchw)
}

func (c *tflConv) resizeBilinear(op *tflOperator) error {
	r := c.m.r
	alignCorners := r.fieldBool(op.opts, 2)
	halfPixel := r.fieldBool(op.opts, 3)
	x, err := c.in(op, 0)
	if err != nil {
		return err
	}
	if len(x.shape) != 4 {
		return fmt.Errorf("input shape %v, want NHWC", x.shape)
	}
	size, err := c.constInts(op, 1)
	if err != nil {
		return err
	}
	if len(size) != 2 {
		return fmt.Errorf("size %v, want [height, width]", size)
	}
	for i, d := range size {
		if c.resized {
			n, ok := c.dimMap[d]
			if !ok {
				return fmt.Errorf("input size override: cannot tell what RESIZE_BILINEAR to %d becomes: %w", d, ErrUnsupported)
			}
			size[i] = n
		}
		if size[i] < 1 || size[i] > maxTFLiteDim {
			return fmt.Errorf("size %v", size)
		}
	}
	mode := "asymmetric"
	switch {
	case alignCorners && halfPixel:
		return fmt.Errorf("align_corners with half_pixel_centers: %w", ErrUnsupported)
	case alignCorners:
		mode = "align_corners"
	case halfPixel:
		mode = "half_pixel"
	}
	idx := op.outputs[0]
	name := c.tensor(idx).name
	shape := []int64{x.shape[0], size[0], size[1], x.shape[3]}
	if size[0] == x.shape[1] && size[1] == x.shape[2] {
		// Same size: every coordinate mode is the identity.
		return c.passQuant(idx, x, c.layout(x, true), shape, true)
	}
	sizes := c.int64s(shape[0], shape[3], shape[1], shape[2])
	if x.kind == kindQuant {
		// TFLite interpolates the stored uint8 values in float and rounds
		// half up (optimized_ops::ResizeBilinear); do the same, so that
		// the frequent exact halves round as TFLite's do.
		xf := c.b.op("Cast", name+"/values", []string{c.layout(x, true)}, intAttr("to", int64(dtFloat)))
		r := c.b.op("Resize", name+"/resize", []string{xf, "", "", sizes},
			stringAttr("mode", "linear"), stringAttr("coordinate_transformation_mode", mode))
		r = c.b.op("Floor", name+"/round", []string{c.b.op("Add", name+"/half", []string{r, c.scalarF(0.5)})})
		y := c.b.op("QuantizeLinear", name+"/u8", []string{r, c.scalarF(1), c.scalarU8(0)})
		return c.passQuant(idx, &tval{name: y, shape: shape, nchw: true, kind: kindQuant, q: x.q}, y, shape, true)
	}
	y := c.b.op("Resize", name+"/resize", []string{c.real(x, true), "", "", sizes},
		stringAttr("mode", "linear"), stringAttr("coordinate_transformation_mode", mode))
	return c.finishFloat(idx, y, shape, true, actNone, x)
}

func (c *tflConv) quantize(op *tflOperator) error {
	x, err := c.in(op, 0)
	if err != nil {
		return err
	}
	idx := op.outputs[0]
	t := c.tensor(idx)
	if op.opcode == opDequantize || t.typ == tflFloat32 {
		if t.typ != tflFloat32 {
			return fmt.Errorf("DEQUANTIZE to %s", typeName(t.typ))
		}
		return c.setOut(idx, &tval{name: c.real(x, x.nchw), shape: x.shape, nchw: x.nchw, kind: kindFloat, q: x.q})
	}
	return c.passQuant(idx, x, x.name, x.shape, x.nchw)
}

func (c *tflConv) argMax(op *tflOperator) error {
	x, err := c.in(op, 0)
	if err != nil {
		return err
	}
	axes, err := c.constInts(op, 1)
	if err != nil {
		return err
	}
	if len(axes) != 1 {
		return fmt.Errorf("%d axes, want 1", len(axes))
	}
	rank := int64(len(x.shape))
	axis, err := normAxis(axes[0], rank)
	if err != nil {
		return err
	}
	idx := op.outputs[0]
	t := c.tensor(idx)
	if t.typ != tflInt64 && t.typ != tflInt32 {
		return fmt.Errorf("output type %s: %w", typeName(t.typ), ErrUnsupported)
	}
	var shape []int64
	for a, d := range x.shape {
		if int64(a) != axis {
			shape = append(shape, d)
		}
	}
	// Over channels an NCHW input gives NHW directly; otherwise use NHWC.
	nchw := rank == 4 && axis == 3
	onnxAxis := axis
	if nchw {
		onnxAxis = 1
	}
	// Dequantising is strictly increasing, so the index (first maximum,
	// as TFLite) is the same on the stored uint8 values.
	y := c.b.op("ArgMax", t.name, []string{c.layout(x, nchw)}, intAttr("axis", onnxAxis), intAttr("keepdims", 0))
	return c.setOut(idx, &tval{name: y, shape: shape, kind: kindInt64})
}

// meanHW is quantised MEAN over height and width with keep_dims as TFLite
// runs it, through XNNPACK's global average pooling: the int32 sum of
// q - z_in, times in_s/(out_s*count) in float32, rounded half to even.
// (TFLite's own kernel, reference_ops::Mean, rounds the zero-point term
// apart and differs by one step on about a tenth of the values.)
func (c *tflConv) meanHW(idx int32, x *tval, shape []int64) error {
	q, err := c.actQuant(idx)
	if err != nil {
		return err
	}
	name := c.tensor(idx).name
	n := x.shape[1] * x.shape[2]
	scale := x.q.s / (q.s * float32(n))
	xf := c.b.op("Cast", name+"/values", []string{c.layout(x, true)}, intAttr("to", int64(dtFloat)))
	sum := c.b.op("ReduceSum", name+"/sum", []string{xf, c.int64s(2, 3)}, intAttr("keepdims", 1))
	acc := c.b.op("Add", name+"/acc", []string{sum, c.scalarF(-float32(n * x.q.z))})
	y := c.b.op("QuantizeLinear", name+"/u8", []string{c.b.op("Mul", name+"/scaled", []string{acc, c.scalarF(scale)}),
		c.scalarF(1), c.scalarU8(q.z)})
	return c.setOut(idx, &tval{name: y, shape: shape, nchw: true, kind: kindQuant, q: q})
}

// TFLite's fixed-point rescaling (QuantizeMultiplier and
// MultiplyByQuantizedMultiplier in tensorflow/lite/kernels/internal).

func fixedMultiplier(real float64) (int32, int) {
	if real == 0 || math.IsNaN(real) || math.IsInf(real, 0) {
		return 0, 0
	}
	frac, exp := math.Frexp(real)
	m := int64(math.Round(frac * (1 << 31)))
	if m == 1<<31 {
		m /= 2
		exp++
	}
	if exp < -31 || exp > 30 {
		return 0, 0
	}
	return int32(m), exp
}

func fixedRescale(x, m int32, shift int) int32 {
	if shift > 0 {
		x = int32(min(max(int64(x)<<shift, math.MinInt32), math.MaxInt32))
	}
	var high int32
	if x == math.MinInt32 && m == math.MinInt32 {
		high = math.MaxInt32
	} else {
		ab := int64(x) * int64(m)
		nudge := int64(1 << 30)
		if ab < 0 {
			nudge = 1 - (1 << 30)
		}
		high = int32((ab + nudge) / (1 << 31))
	}
	right := max(-shift, 0)
	if right == 0 {
		return high
	}
	mask := int32(1)<<right - 1
	rem, threshold := high&mask, mask>>1
	if high < 0 {
		threshold++
	}
	r := high >> right
	if rem > threshold {
		r++
	}
	return r
}

// requantize maps stored values quantised as from to the quantisation
// to, as TFLite's QUANTIZE does, through a 256-entry table. TFLite's
// XNNPACK delegate runs it (xnn_define_convert) when the scale ratio lies
// in [2^-8, 2^7]: the ratio becomes a multiplier of 8 fractional bits and
// the result rounds half up, floor(((q - z_from)*round(256*ratio) + 128) /
// 256) + z_to. Otherwise TFLite's own kernel (reference_ops::Requantize)
// runs: the 31-bit fixed-point rescaling with its two roundings.
func (c *tflConv) requantize(name, x string, from, to qp, typ int8) string {
	table := make([]int64, 256)
	ratio := from.s / to.s
	if ratio >= 1.0/256 && ratio <= 128 {
		m := int64(math.RoundToEven(float64(256 * ratio)))
		for v := range table {
			table[v] = min(max(((int64(v)-from.z)*m+128)>>8+to.z, 0), 255)
		}
	} else {
		m, shift := fixedMultiplier(float64(from.s) / float64(to.s))
		for v := range table {
			table[v] = min(max(int64(fixedRescale(int32(int64(v)-from.z), m, shift))+to.z, 0), 255)
		}
	}
	lut := c.b.constant(name+"/table", &tensor{dtype: dtUint8, dims: []int64{256}, i64: table})
	idx := c.b.op("Cast", name+"/index", []string{x}, intAttr("to", int64(dtInt32)))
	return c.b.op("Gather", name+"/requantized", []string{lut, idx}, intAttr("axis", 0))
}

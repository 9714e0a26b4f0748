package tfconv

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"
)

// TFLiteForm is how a converted quantised TFLite model executes in ONNX
// Runtime.
type TFLiteForm int

// Execution forms. The zero value picks the recommended one
// (TFLiteQuantized; see the package documentation for the measurements).
const (
	TFLiteDefault TFLiteForm = iota
	// TFLiteQuantized keeps TFLite's integer arithmetic: convolutions and
	// fully connected layers are QLinearConv on uint8 activations with the
	// file's uint8 or int8 weights and int32 biases; the other operators
	// are DequantizeLinear -> float op -> QuantizeLinear, which ONNX
	// Runtime fuses into its quantised kernels.
	TFLiteQuantized
	// TFLiteFloat dequantises the weights and computes in float32, with
	// the fused activations and the quantised output range applied as
	// clamps (TFLite saturates every output to its uint8 range); the
	// activations are not rounded to the quantisation grid.
	TFLiteFloat
)

func (f TFLiteForm) String() string {
	switch f {
	case TFLiteDefault:
		return "default"
	case TFLiteQuantized:
		return "quantized"
	case TFLiteFloat:
		return "float"
	}
	return "TFLiteForm(" + strconv.Itoa(int(f)) + ")"
}

// TFLiteOptions configure ConvertTFLite. The zero value converts the
// model as it is, in the recommended form.
type TFLiteOptions struct {
	// Outputs names the TFLite tensors to expose as graph outputs, in
	// this order. Empty means the model's own outputs. Operators that no
	// chosen output depends on are left out.
	Outputs []string
	// InputHeight and InputWidth, when set, replace the input's spatial
	// size. Shapes that depend on it are recomputed: a pooling window
	// that covered the whole feature map still does, and TILE and
	// RESIZE_BILINEAR targets that matched a feature map size follow it.
	InputHeight, InputWidth int
	// Form selects the execution form.
	Form TFLiteForm
	// SignedWeights stores every quantised filter as int8 (moving uint8
	// weights and zero points by 128, which is exact), so that ONNX
	// Runtime runs its uint8 x int8 kernels: faster on x86 CPUs with
	// AVX-512 VNNI or AVX-VNNI, but on x86 CPUs without VNNI those
	// kernels can saturate 16-bit intermediate sums and give wrong
	// results. The default stores every filter as uint8 (int8 filters
	// move by +128) and runs the uint8 x uint8 kernels, exact on every
	// CPU. Only the quantized form uses it.
	SignedWeights bool
}

// TFLiteTensor describes one tensor of a TFLite model.
type TFLiteTensor struct {
	Name  string
	Shape []int64
	// Type is the TFLite element type: "float32", "uint8", "int8",
	// "int32", "int64" or "type N".
	Type string
	// Scale and ZeroPoint are the quantisation (real = Scale*(q-ZeroPoint));
	// empty when the tensor is not quantised. Per-channel tensors have
	// one entry per channel.
	Scale     []float32
	ZeroPoint []int64
}

// TFLiteInfo lists a TFLite model's inputs and outputs.
type TFLiteInfo struct {
	Inputs, Outputs []TFLiteTensor
	// Operators counts the model's operators by name.
	Operators map[string]int
}

// InspectTFLite reads a TFLite model's interface without converting it.
func InspectTFLite(model []byte) (TFLiteInfo, error) {
	m, err := parseTFLite(model)
	if err != nil {
		return TFLiteInfo{}, err
	}
	info := TFLiteInfo{Operators: map[string]int{}}
	for _, i := range m.inputs {
		info.Inputs = append(info.Inputs, m.tensors[i].describe())
	}
	for _, i := range m.outputs {
		info.Outputs = append(info.Outputs, m.tensors[i].describe())
	}
	for _, op := range m.ops {
		info.Operators[opName(op.opcode)]++
	}
	return info, nil
}

func (t *tflTensor) describe() TFLiteTensor {
	d := TFLiteTensor{Name: t.name, Shape: append([]int64(nil), t.shape...), Type: typeName(t.typ)}
	if t.quant != nil {
		d.Scale = append([]float32(nil), t.quant.scale...)
		d.ZeroPoint = append([]int64(nil), t.quant.zero...)
	}
	return d
}

func typeName(t int8) string {
	switch t {
	case tflFloat32:
		return "float32"
	case tflUint8:
		return "uint8"
	case tflInt8:
		return "int8"
	case tflInt32:
		return "int32"
	case tflInt64:
		return "int64"
	}
	return "type " + strconv.Itoa(int(t))
}

// ConvertTFLite converts a quantised TensorFlow Lite model (uint8 or int8
// activations) to ONNX (opset 13).
//
// The ONNX graph has one input, named as the TFLite input tensor: float32
// NHWC [1,H,W,C] holding the raw quantised input values (for the image
// models here, the 0-255 pixel values); the graph rounds and saturates
// them to uint8. Each output is named as its TFLite tensor and holds
// float32 values: quantised tensors dequantised to real values (softmax
// probabilities, logits), 4-D tensors in NHWC, ARG_MAX indices as floats.
func ConvertTFLite(model []byte, opts TFLiteOptions) ([]byte, error) {
	m, err := parseTFLite(model)
	if err != nil {
		return nil, err
	}
	if opts.Form == TFLiteDefault {
		opts.Form = TFLiteQuantized
	}
	if opts.Form < TFLiteQuantized || opts.Form > TFLiteFloat {
		return nil, fmt.Errorf("form %v: %w", opts.Form, ErrUnsupported)
	}
	if (opts.InputHeight == 0) != (opts.InputWidth == 0) || opts.InputHeight < 0 || opts.InputWidth < 0 ||
		opts.InputHeight > maxTFLiteDim || opts.InputWidth > maxTFLiteDim {
		return nil, fmt.Errorf("input size %dx%d: set both height and width, or neither", opts.InputHeight, opts.InputWidth)
	}
	c := &tflConv{
		m:      m,
		b:      newBuilder("tflite"),
		form:   opts.Form,
		signed: opts.SignedWeights,
		vals:   map[int32]*tval{},
		shapes: map[int32][]int64{},
		dimMap: map[int64]int64{},
		consts: map[string]string{},
	}
	outs, err := c.outputs(opts.Outputs)
	if err != nil {
		return nil, err
	}
	for _, o := range outs {
		for _, in := range m.inputs {
			if o == in {
				return nil, fmt.Errorf("output %q is the model's input", m.tensors[o].name)
			}
		}
		c.b.reserve(m.tensors[o].name)
	}
	if err := c.addInput(opts.InputHeight, opts.InputWidth); err != nil {
		return nil, err
	}
	needed := c.needed(outs)
	for k := range m.ops {
		if !needed[k] {
			continue
		}
		op := &m.ops[k]
		if err := c.convertOp(op); err != nil {
			return nil, fmt.Errorf("operator %d (%s, output %q): %w", k, opName(op.opcode), m.tensors[op.outputs[0]].name, err)
		}
	}
	for _, o := range outs {
		if err := c.addOutput(o); err != nil {
			return nil, err
		}
	}
	return c.b.model(), nil
}

// Value kinds.
const (
	kindQuant = iota // uint8, quantised with q
	kindFloat        // float32 real values
	kindInt64        // int64 indices
)

// qp is an activation's quantisation in the uint8 domain: int8 tensors
// are held as uint8 with the zero point moved by 128, which is exact.
type qp struct {
	s float32
	z int64
}

// tval is the ONNX value a TFLite tensor became.
type tval struct {
	name  string
	shape []int64 // the TFLite (NHWC) shape
	nchw  bool    // a 4-D value stored as NCHW
	kind  int
	q     qp
	other string // cached copy in the other layout
	deq   string // cached DequantizeLinear of name
}

type tflConv struct {
	m      *tflModel
	b      *builder
	form   TFLiteForm
	signed bool
	vals   map[int32]*tval
	shapes map[int32][]int64
	// resized is set when the input size was overridden; dimMap then maps
	// each spatial size of the original graph to the new one.
	resized bool
	dimMap  map[int64]int64
	consts  map[string]string // de-duplicated scalar constants
}

func (c *tflConv) tensor(i int32) *tflTensor { return &c.m.tensors[i] }

// outputs resolves the requested output names to tensor indices.
func (c *tflConv) outputs(names []string) ([]int32, error) {
	if len(names) == 0 {
		if len(c.m.outputs) == 0 {
			return nil, errors.New("TFLite model has no outputs")
		}
		return c.m.outputs, nil
	}
	byName := map[string]int32{}
	for i := range c.m.tensors {
		n := c.m.tensors[i].name
		if _, dup := byName[n]; !dup {
			byName[n] = int32(i)
		}
	}
	var outs []int32
	seen := map[string]bool{}
	for _, n := range names {
		i, ok := byName[n]
		if !ok {
			return nil, fmt.Errorf("output %q: no such tensor", n)
		}
		if seen[n] {
			return nil, fmt.Errorf("output %q named twice", n)
		}
		seen[n] = true
		outs = append(outs, i)
	}
	return outs, nil
}

// needed marks the operators the outputs depend on.
func (c *tflConv) needed(outs []int32) map[int]bool {
	producer := map[int32]int{}
	for k, op := range c.m.ops {
		for _, o := range op.outputs {
			producer[o] = k
		}
	}
	need := map[int]bool{}
	stack := append([]int32(nil), outs...)
	for len(stack) > 0 {
		t := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		k, ok := producer[t]
		if !ok || need[k] {
			continue
		}
		need[k] = true
		for _, in := range c.m.ops[k].inputs {
			if in >= 0 {
				stack = append(stack, in)
			}
		}
	}
	return need
}

func (c *tflConv) addInput(h, w int) error {
	if len(c.m.inputs) != 1 {
		return fmt.Errorf("model has %d inputs, want 1: %w", len(c.m.inputs), ErrUnsupported)
	}
	idx := c.m.inputs[0]
	t := c.tensor(idx)
	q, err := c.actQuant(idx)
	if err != nil {
		return fmt.Errorf("input %q: %w", t.name, err)
	}
	shape := append([]int64(nil), t.shape...)
	if h > 0 && len(shape) != 4 {
		return fmt.Errorf("input %q has shape %v: only an NHWC input can be resized", t.name, t.shape)
	}
	if h > 0 && (int64(h) != shape[1] || int64(w) != shape[2]) {
		c.resized = true
		if err := c.mapDim(shape[1], int64(h)); err != nil {
			return err
		}
		if err := c.mapDim(shape[2], int64(w)); err != nil {
			return err
		}
		shape[1], shape[2] = int64(h), int64(w)
	}
	x := c.b.input(t.name, dtFloat, shape)
	raw := c.b.op("QuantizeLinear", t.name+"/u8", []string{x, c.scalarF(1), c.scalarU8(0)})
	if t.typ == tflInt8 {
		// The engine passes the raw values the int8 tensor holds, -128..127.
		raw = c.b.op("QuantizeLinear", t.name+"/u8", []string{x, c.scalarF(1), c.scalarU8(128)})
	}
	v := &tval{name: raw, shape: shape, kind: kindQuant, q: q}
	if len(shape) == 4 {
		v.name, v.nchw = c.b.op("Transpose", t.name+"/nchw", []string{raw}, intsAttr("perm", 0, 3, 1, 2)), true
	}
	if c.form != TFLiteQuantized {
		v = &tval{name: c.dequant(v.name, q), shape: shape, nchw: v.nchw, kind: kindFloat, q: q}
	}
	c.vals[idx] = v
	return nil
}

func (c *tflConv) addOutput(idx int32) error {
	v, ok := c.vals[idx]
	t := c.tensor(idx)
	if !ok {
		return fmt.Errorf("output %q: not computed by any operator", t.name)
	}
	x := c.layout(v, false)
	switch v.kind {
	case kindQuant:
		x = c.dequant(x, v.q)
	case kindInt64:
		x = c.b.op("Cast", t.name+"/float", []string{x}, intAttr("to", int64(dtFloat)))
	}
	return c.b.output(t.name, x, dtFloat)
}

// mapDim records that spatial size orig became n.
func (c *tflConv) mapDim(orig, n int64) error {
	if prev, ok := c.dimMap[orig]; ok && prev != n {
		return fmt.Errorf("input size override: size %d of the original graph becomes both %d and %d: %w", orig, prev, n, ErrUnsupported)
	}
	c.dimMap[orig] = n
	return nil
}

// setOut records an operator's output value, checking (or, after an input
// size override, learning) its shape.
func (c *tflConv) setOut(idx int32, v *tval) error {
	t := c.tensor(idx)
	if !c.resized {
		if !equalDims(v.shape, t.shape) {
			return fmt.Errorf("computed shape %v, file says %v", v.shape, t.shape)
		}
	} else if len(v.shape) == 4 && len(t.shape) == 4 {
		for _, a := range []int{1, 2} {
			if t.shape[a] != 1 {
				if err := c.mapDim(t.shape[a], v.shape[a]); err != nil {
					return err
				}
			}
		}
	}
	if _, dup := c.vals[idx]; dup {
		return fmt.Errorf("tensor %q is written twice", t.name)
	}
	c.vals[idx] = v
	return nil
}

func equalDims(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// in returns the value of an operator's i-th input, which must be an
// activation computed earlier.
func (c *tflConv) in(op *tflOperator, i int) (*tval, error) {
	if i >= len(op.inputs) || op.inputs[i] < 0 {
		return nil, fmt.Errorf("input %d missing", i)
	}
	v, ok := c.vals[op.inputs[i]]
	if !ok {
		if len(c.m.data(op.inputs[i])) > 0 {
			return nil, fmt.Errorf("input %d (%q) is a constant: %w", i, c.tensor(op.inputs[i]).name, ErrUnsupported)
		}
		return nil, fmt.Errorf("input %d (%q) is used before it is computed", i, c.tensor(op.inputs[i]).name)
	}
	return v, nil
}

// actQuant returns an activation tensor's quantisation in the uint8 domain.
func (c *tflConv) actQuant(idx int32) (qp, error) {
	t := c.tensor(idx)
	if t.typ != tflUint8 && t.typ != tflInt8 {
		return qp{}, fmt.Errorf("tensor %q: %s activations: %w", t.name, typeName(t.typ), ErrUnsupported)
	}
	if t.quant == nil || len(t.quant.scale) != 1 {
		return qp{}, fmt.Errorf("tensor %q: activations need one scale and zero point", t.name)
	}
	s, z := t.quant.scale[0], t.quant.zero[0]
	if t.typ == tflInt8 {
		z += 128
	}
	if !(s > 0) || math.IsInf(float64(s), 0) || z < 0 || z > 255 {
		return qp{}, fmt.Errorf("tensor %q: quantisation scale %g zero point %d out of range", t.name, s, t.quant.zero[0])
	}
	return qp{s, z}, nil
}

// constBytes returns a constant tensor's data, checking its size.
func (c *tflConv) constBytes(idx int32, elemSize int) ([]byte, error) {
	t := c.tensor(idx)
	d := c.m.data(idx)
	n := numElements(t.shape)
	if len(d) == 0 {
		return nil, fmt.Errorf("tensor %q: want a constant", t.name)
	}
	if int64(len(d)) != n*int64(elemSize) {
		return nil, fmt.Errorf("tensor %q: %d bytes of data for shape %v", t.name, len(d), t.shape)
	}
	return d, nil
}

// constInts reads a constant int32 or int64 tensor.
func (c *tflConv) constInts(op *tflOperator, i int) ([]int64, error) {
	if i >= len(op.inputs) || op.inputs[i] < 0 {
		return nil, fmt.Errorf("input %d missing", i)
	}
	idx := op.inputs[i]
	t := c.tensor(idx)
	size := 4
	switch t.typ {
	case tflInt32:
	case tflInt64:
		size = 8
	default:
		return nil, fmt.Errorf("tensor %q: %s, want int32: %w", t.name, typeName(t.typ), ErrUnsupported)
	}
	d, err := c.constBytes(idx, size)
	if err != nil {
		return nil, err
	}
	out := make([]int64, len(d)/size)
	for k := range out {
		if size == 4 {
			out[k] = int64(int32(binary.LittleEndian.Uint32(d[4*k:])))
		} else {
			out[k] = int64(binary.LittleEndian.Uint64(d[8*k:]))
		}
	}
	return out, nil
}

// Constants, de-duplicated.

func (c *tflConv) cached(key string, mk func() string) string {
	if n, ok := c.consts[key]; ok {
		return n
	}
	n := mk()
	c.consts[key] = n
	return n
}

func (c *tflConv) scalarF(v float32) string {
	return c.cached("f"+strconv.FormatUint(uint64(math.Float32bits(v)), 16), func() string {
		return c.b.constant("c/f", &tensor{dtype: dtFloat, f32: []float32{v}})
	})
}

func (c *tflConv) scalarU8(v int64) string {
	return c.cached("u"+strconv.FormatInt(v, 10), func() string {
		return c.b.constant("c/u8", &tensor{dtype: dtUint8, i64: []int64{v}})
	})
}

func (c *tflConv) int32Scalar(v int64) string {
	return c.cached("i32/"+strconv.FormatInt(v, 10), func() string {
		return c.b.constant("c/i32", &tensor{dtype: dtInt32, i64: []int64{v}})
	})
}

func (c *tflConv) int64s(v ...int64) string {
	return c.cached("i"+fmt.Sprint(v), func() string {
		return c.b.constI64("c/i64", v...)
	})
}

// Layout and (de)quantisation.

// layout returns v stored as NCHW (nchw) or NHWC; values of rank other
// than 4 have one layout.
func (c *tflConv) layout(v *tval, nchw bool) string {
	if len(v.shape) != 4 || v.nchw == nchw {
		return v.name
	}
	if v.other == "" {
		if v.nchw {
			v.other = c.b.op("Transpose", v.name+"/nhwc", []string{v.name}, intsAttr("perm", 0, 2, 3, 1))
		} else {
			v.other = c.b.op("Transpose", v.name+"/nchw", []string{v.name}, intsAttr("perm", 0, 3, 1, 2))
		}
	}
	return v.other
}

// memoryNHWC returns v with its elements in TFLite's (NHWC) order. A 4-D
// value whose H*W is 1 has that order in either layout.
func (c *tflConv) memoryNHWC(v *tval) string {
	if len(v.shape) == 4 && v.nchw && v.shape[1]*v.shape[2] == 1 {
		return v.name
	}
	return c.layout(v, false)
}

func (c *tflConv) dequant(x string, q qp) string {
	return c.b.op("DequantizeLinear", x+"/real", []string{x, c.scalarF(q.s), c.scalarU8(q.z)})
}

func (c *tflConv) quant(x string, q qp) string {
	return c.b.op("QuantizeLinear", x+"/q", []string{x, c.scalarF(q.s), c.scalarU8(q.z)})
}

// real returns v's real values in the given layout.
func (c *tflConv) real(v *tval, nchw bool) string {
	if v.kind != kindQuant {
		return c.layout(v, nchw)
	}
	if len(v.shape) == 4 && v.nchw != nchw {
		return c.dequant(c.layout(v, nchw), v.q)
	}
	if v.deq == "" {
		v.deq = c.dequant(v.name, v.q)
	}
	return v.deq
}

// actRange is TFLite's CalculateActivationRangeQuantized in the uint8 domain.
func actRange(act uint8, q qp) (lo, hi int64, err error) {
	quantize := func(f float64) int64 { return q.z + int64(math.Round(f/float64(q.s))) }
	lo, hi = 0, 255
	switch act {
	case actNone:
	case actRelu:
		lo = max(lo, quantize(0))
	case actRelu6:
		lo, hi = max(lo, quantize(0)), min(hi, quantize(6))
	case actRelu1:
		lo, hi = max(lo, quantize(-1)), min(hi, quantize(1))
	default:
		return 0, 0, fmt.Errorf("fused activation %d: %w", act, ErrUnsupported)
	}
	return lo, hi, nil
}

// finishFloat turns an operator's float result into its output tensor's
// value: quantised (QuantizeLinear), or in the float form kept in float
// and clamped to the fused activation and the output's quantised range.
// The clamp is left out when the operator cannot leave the range of its
// input (within, with the same quantisation and no activation).
func (c *tflConv) finishFloat(idx int32, x string, shape []int64, nchw bool, act uint8, within *tval) error {
	q, err := c.actQuant(idx)
	if err != nil {
		return err
	}
	if c.form == TFLiteQuantized {
		return c.finishQuant(idx, c.quant(x, q), shape, nchw, act)
	}
	if within == nil || within.q != q || act != actNone {
		if x, err = c.clampReal(c.tensor(idx).name, x, q, act); err != nil {
			return err
		}
	}
	return c.setOut(idx, &tval{name: x, shape: shape, nchw: nchw, kind: kindFloat, q: q})
}

// clampReal clamps real values to what a tensor quantised as q can hold
// after the fused activation.
func (c *tflConv) clampReal(name, x string, q qp, act uint8) (string, error) {
	lo, hi, err := actRange(act, q)
	if err != nil {
		return "", err
	}
	return c.b.op("Clip", name, []string{x, c.scalarF(q.s * float32(lo-q.z)), c.scalarF(q.s * float32(hi-q.z))}), nil
}

// finishQuant records a uint8 result, clamping it to the fused
// activation's range.
func (c *tflConv) finishQuant(idx int32, x string, shape []int64, nchw bool, act uint8) error {
	q, err := c.actQuant(idx)
	if err != nil {
		return err
	}
	lo, hi, err := actRange(act, q)
	if err != nil {
		return err
	}
	if lo > 0 || hi < 255 {
		x = c.b.op("Clip", c.tensor(idx).name, []string{x, c.scalarU8(lo), c.scalarU8(hi)})
	}
	return c.setOut(idx, &tval{name: x, shape: shape, nchw: nchw, kind: kindQuant, q: q})
}

// passQuant records the result of a data-movement operator (reshape,
// tile, concatenation of equal quantisations, QUANTIZE) computed on v's
// stored values. When the output's quantisation differs, quantised values
// are requantised as TFLite does and float ones clamped to the new range.
func (c *tflConv) passQuant(idx int32, v *tval, x string, shape []int64, nchw bool) error {
	if v.kind == kindFloat && c.form == TFLiteQuantized {
		// After DEQUANTIZE: quantise.
		return c.finishFloat(idx, x, shape, nchw, actNone, nil)
	}
	q, err := c.actQuant(idx)
	if err != nil {
		return err
	}
	if q != v.q {
		if v.kind == kindFloat {
			if x, err = c.clampReal(c.tensor(idx).name, x, q, actNone); err != nil {
				return err
			}
		} else {
			x = c.requantize(c.tensor(idx).name, x, v.q, q, c.tensor(idx).typ)
		}
	}
	return c.setOut(idx, &tval{name: x, shape: shape, nchw: nchw, kind: v.kind, q: q})
}

package tfconv

import (
	"errors"
	"fmt"
)

// The parts of TensorFlow Lite's schema (tensorflow/lite/schema/schema.fbs)
// that the converter reads. Field numbers are the schema's field order.

// TFLite tensor types.
const (
	tflFloat32 int8 = 0
	tflInt32   int8 = 2
	tflUint8   int8 = 3
	tflInt64   int8 = 4
	tflInt8    int8 = 9
)

// TFLite builtin operators.
const (
	opAdd              int32 = 0
	opAveragePool2D    int32 = 1
	opConcatenation    int32 = 2
	opConv2D           int32 = 3
	opDepthwiseConv2D  int32 = 4
	opDequantize       int32 = 6
	opFullyConnected   int32 = 9
	opReshape          int32 = 22
	opResizeBilinear   int32 = 23
	opSoftmax          int32 = 25
	opMean             int32 = 40
	opArgMax           int32 = 56
	opTile             int32 = 69
	opQuantize         int32 = 114
	opPlaceholderCodes int32 = 127 // deprecated_builtin_code when builtin_code holds the op
)

var opNames = map[int32]string{
	opAdd: "ADD", opAveragePool2D: "AVERAGE_POOL_2D", opConcatenation: "CONCATENATION",
	opConv2D: "CONV_2D", opDepthwiseConv2D: "DEPTHWISE_CONV_2D", opDequantize: "DEQUANTIZE",
	opFullyConnected: "FULLY_CONNECTED", opReshape: "RESHAPE", opResizeBilinear: "RESIZE_BILINEAR",
	opSoftmax: "SOFTMAX", opMean: "MEAN", opArgMax: "ARG_MAX", opTile: "TILE", opQuantize: "QUANTIZE",
}

func opName(code int32) string {
	if n, ok := opNames[code]; ok {
		return n
	}
	return fmt.Sprintf("builtin operator %d", code)
}

// BuiltinOptions union members the converter reads.
const (
	optConv2D         uint8 = 1
	optDepthwiseConv  uint8 = 2
	optPool2D         uint8 = 5
	optFullyConnected uint8 = 8
	optSoftmax        uint8 = 9
	optConcatenation  uint8 = 10
	optAdd            uint8 = 11
	optResizeBilinear uint8 = 15
	optReshape        uint8 = 17
	optReducer        uint8 = 27
	optArgMax         uint8 = 40
)

// Fused activation functions.
const (
	actNone  = 0
	actRelu  = 1
	actRelu1 = 2 // RELU_N1_TO_1
	actRelu6 = 3
)

// tflQuant is a tensor's quantisation: real = scale * (q - zero).
// Per-channel parameters have several scales along dim.
type tflQuant struct {
	scale []float32
	zero  []int64
	dim   int
}

type tflTensor struct {
	name   string
	shape  []int64
	typ    int8
	buffer uint32
	quant  *tflQuant // nil when not quantised
}

type tflOperator struct {
	opcode  int32 // builtin operator
	version int32
	inputs  []int32 // -1 marks an omitted optional input
	outputs []int32
	optType uint8
	opts    fbTable
}

type tflModel struct {
	r       *fbReader
	tensors []tflTensor
	ops     []tflOperator
	inputs  []int32
	outputs []int32
	buffers [][]byte
}

// Limits that keep a hostile file from making the converter allocate or
// loop without bound. The real models are far below them.
const (
	maxTFLiteDims     = 8
	maxTFLiteDim      = 1 << 20
	maxTFLiteElements = 1 << 31
)

// parseTFLite reads the first subgraph of a TFLite flatbuffer.
func parseTFLite(data []byte) (*tflModel, error) {
	if len(data) < 8 {
		return nil, errors.New("not a TFLite model: too short")
	}
	if string(data[4:8]) != "TFL3" {
		return nil, fmt.Errorf("not a TFLite model: file identifier %q, want \"TFL3\"", data[4:8])
	}
	r := &fbReader{b: data}
	root := r.root()
	if v := r.fieldU32(root, 0, 0); r.err == nil && v != 3 {
		return nil, fmt.Errorf("TFLite schema version %d: %w", v, ErrUnsupported)
	}
	m := &tflModel{r: r}

	codes := r.fieldVector(root, 1, 4)
	type opcode struct{ code, version int32 }
	var opcodes []opcode
	for k := uint64(0); k < codes.n && r.err == nil; k++ {
		t := r.vecTable(codes, k)
		dep := int32(r.fieldI8(t, 0, 0))
		code := r.fieldI32(t, 3, 0)
		// Old files set only deprecated_builtin_code; new ones set both, or
		// builtin_code with the deprecated field at 127.
		code = max(code, dep)
		if c := r.fieldString(t, 1); c != "" || code == 32 {
			return nil, fmt.Errorf("custom operator %q: %w", c, ErrUnsupported)
		}
		opcodes = append(opcodes, opcode{code, r.fieldI32(t, 2, 1)})
	}

	bufs := r.fieldVector(root, 4, 4)
	for k := uint64(0); k < bufs.n && r.err == nil; k++ {
		t := r.vecTable(bufs, k)
		data := r.fieldBytes(t, 0)
		if off, size := r.fieldU64(t, 1, 0), r.fieldU64(t, 2, 0); len(data) == 0 && off > 1 {
			// Large models keep buffers after the flatbuffer, by offset.
			if r.need(off, size) {
				data = r.b[off : off+size]
			}
		}
		m.buffers = append(m.buffers, data)
	}

	subgraphs := r.fieldVector(root, 2, 4)
	if r.err != nil {
		return nil, r.err
	}
	if subgraphs.n == 0 {
		return nil, errors.New("TFLite model has no subgraph")
	}
	sg := r.vecTable(subgraphs, 0)
	tv := r.fieldVector(sg, 0, 4)
	for k := uint64(0); k < tv.n && r.err == nil; k++ {
		t, err := m.parseTensor(r.vecTable(tv, k))
		if err != nil {
			return nil, fmt.Errorf("tensor %d: %w", k, err)
		}
		m.tensors = append(m.tensors, t)
	}
	m.inputs = r.fieldI32s(sg, 1)
	m.outputs = r.fieldI32s(sg, 2)
	ov := r.fieldVector(sg, 3, 4)
	for k := uint64(0); k < ov.n && r.err == nil; k++ {
		t := r.vecTable(ov, k)
		idx := r.fieldU32(t, 0, 0)
		if r.err == nil && uint64(idx) >= uint64(len(opcodes)) {
			return nil, fmt.Errorf("operator %d: opcode index %d out of range", k, idx)
		}
		if r.err != nil {
			break
		}
		op := tflOperator{
			opcode:  opcodes[idx].code,
			version: opcodes[idx].version,
			inputs:  r.fieldI32s(t, 1),
			outputs: r.fieldI32s(t, 2),
			optType: r.fieldU8(t, 3, 0),
			opts:    r.fieldTable(t, 4),
		}
		m.ops = append(m.ops, op)
	}
	if r.err != nil {
		return nil, r.err
	}
	if err := m.check(); err != nil {
		return nil, err
	}
	return m, nil
}

func (m *tflModel) parseTensor(t fbTable) (tflTensor, error) {
	r := m.r
	shape32 := r.fieldI32s(t, 0)
	tt := tflTensor{
		typ:    r.fieldI8(t, 1, 0),
		buffer: r.fieldU32(t, 2, 0),
		name:   r.fieldString(t, 3),
	}
	if len(shape32) > maxTFLiteDims {
		return tt, fmt.Errorf("rank %d: %w", len(shape32), ErrUnsupported)
	}
	elems := int64(1)
	for _, d := range shape32 {
		if d < 0 || d > maxTFLiteDim {
			return tt, fmt.Errorf("dimension %d out of range", d)
		}
		tt.shape = append(tt.shape, int64(d))
		elems *= int64(d)
		if elems > maxTFLiteElements {
			return tt, errors.New("too many elements")
		}
	}
	if q := r.fieldTable(t, 4); q.ok {
		scale := r.fieldF32s(q, 2)
		zero := r.fieldI64s(q, 3)
		if r.fieldU8(q, 4, 0) != 0 {
			return tt, fmt.Errorf("custom quantisation: %w", ErrUnsupported)
		}
		if len(scale) > 0 {
			if len(zero) != len(scale) {
				return tt, fmt.Errorf("%d scales but %d zero points", len(scale), len(zero))
			}
			tt.quant = &tflQuant{scale: scale, zero: zero, dim: int(r.fieldI32(q, 6, 0))}
		}
	}
	return tt, r.err
}

// check validates the indices the operators and the subgraph use.
func (m *tflModel) check() error {
	n := int32(len(m.tensors))
	idx := func(what string, ids []int32, optional bool) error {
		for _, i := range ids {
			if (i == -1 && optional) || (i >= 0 && i < n) {
				continue
			}
			return fmt.Errorf("%s: tensor index %d out of range [0,%d)", what, i, n)
		}
		return nil
	}
	if err := idx("subgraph inputs", m.inputs, false); err != nil {
		return err
	}
	if err := idx("subgraph outputs", m.outputs, false); err != nil {
		return err
	}
	for k, op := range m.ops {
		if err := idx(fmt.Sprintf("operator %d (%s) inputs", k, opName(op.opcode)), op.inputs, true); err != nil {
			return err
		}
		if err := idx(fmt.Sprintf("operator %d (%s) outputs", k, opName(op.opcode)), op.outputs, false); err != nil {
			return err
		}
	}
	for k, t := range m.tensors {
		if uint64(t.buffer) >= uint64(len(m.buffers)) && t.buffer != 0 {
			return fmt.Errorf("tensor %d (%s): buffer %d out of range", k, t.name, t.buffer)
		}
		if q := t.quant; q != nil {
			if len(q.scale) > 1 && (q.dim < 0 || q.dim >= len(t.shape) || int64(len(q.scale)) != t.shape[q.dim]) {
				return fmt.Errorf("tensor %d (%s): %d scales along dimension %d of %v", k, t.name, len(q.scale), q.dim, t.shape)
			}
		}
	}
	return nil
}

// data returns a tensor's constant bytes, or nil for an activation.
func (m *tflModel) data(i int32) []byte {
	b := m.tensors[i].buffer
	if int(b) >= len(m.buffers) {
		return nil
	}
	return m.buffers[b]
}

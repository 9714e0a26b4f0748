package tfconv

import (
	"encoding/binary"

	flatbuffers "github.com/google/flatbuffers/go"
)

// tflBuild writes small TFLite flatbuffers for tests with the FlatBuffers
// project's own Go builder, so that the converter's reader is checked
// against an independent writer.
type tflBuild struct {
	tensors []tbTensor
	buffers [][]byte // buffer 0 is the empty buffer every file has
	ops     []tbOp
	inputs  []int32
	outputs []int32
	// oldCodes writes operator codes the way pre-2.4 files do (only
	// deprecated_builtin_code); otherwise both fields, as new files do.
	oldCodes bool
}

type tbTensor struct {
	name   string
	shape  []int32
	typ    int8
	buffer uint32
	scale  []float32
	zero   []int64
	qdim   int32
}

// tbField is one scalar field of an options table.
type tbField struct {
	slot int
	val  any // uint8, bool, int32, float32 or []int32
}

type tbOp struct {
	code     int32
	inputs   []int32
	outputs  []int32
	optType  uint8
	opts     []tbField
	optSlots int
}

func newTFLBuild() *tflBuild { return &tflBuild{buffers: [][]byte{nil}} }

// act adds an activation tensor.
func (m *tflBuild) act(name string, typ int8, s float32, z int64, shape ...int32) int32 {
	m.tensors = append(m.tensors, tbTensor{name: name, shape: shape, typ: typ, scale: []float32{s}, zero: []int64{z}})
	return int32(len(m.tensors) - 1)
}

// constant adds a tensor with data and optional quantisation.
func (m *tflBuild) constant(name string, typ int8, data []byte, scale []float32, zero []int64, qdim int32, shape ...int32) int32 {
	m.buffers = append(m.buffers, data)
	m.tensors = append(m.tensors, tbTensor{name: name, shape: shape, typ: typ, buffer: uint32(len(m.buffers) - 1), scale: scale, zero: zero, qdim: qdim})
	return int32(len(m.tensors) - 1)
}

func (m *tflBuild) int32s(name string, v ...int32) int32 {
	var b []byte
	for _, x := range v {
		b = binary.LittleEndian.AppendUint32(b, uint32(x))
	}
	shape := []int32{int32(len(v))}
	return m.constant(name, tflInt32, b, nil, nil, 0, shape...)
}

func (m *tflBuild) op(code int32, in, out []int32, optType uint8, slots int, opts ...tbField) {
	m.ops = append(m.ops, tbOp{code: code, inputs: in, outputs: out, optType: optType, opts: opts, optSlots: slots})
}

func (m *tflBuild) bytes() []byte {
	b := flatbuffers.NewBuilder(1024)
	ints := func(v []int32) flatbuffers.UOffsetT {
		b.StartVector(4, len(v), 4)
		for i := len(v) - 1; i >= 0; i-- {
			b.PrependInt32(v[i])
		}
		return b.EndVector(len(v))
	}
	tables := func(offs []flatbuffers.UOffsetT) flatbuffers.UOffsetT {
		b.StartVector(4, len(offs), 4)
		for i := len(offs) - 1; i >= 0; i-- {
			b.PrependUOffsetT(offs[i])
		}
		return b.EndVector(len(offs))
	}

	// Operator codes: one per distinct builtin, in first-use order.
	codeIndex := map[int32]uint32{}
	var codes []int32
	for _, op := range m.ops {
		if _, ok := codeIndex[op.code]; !ok {
			codeIndex[op.code] = uint32(len(codes))
			codes = append(codes, op.code)
		}
	}
	var codeOffs []flatbuffers.UOffsetT
	for _, c := range codes {
		b.StartObject(4)
		dep := int8(c)
		if c > 127 {
			dep = 127
		}
		b.PrependInt8Slot(0, dep, 0)
		if !m.oldCodes {
			b.PrependInt32Slot(3, c, 0)
		}
		b.PrependInt32Slot(2, 1, 1)
		codeOffs = append(codeOffs, b.EndObject())
	}

	var bufOffs []flatbuffers.UOffsetT
	for _, d := range m.buffers {
		var v flatbuffers.UOffsetT
		if len(d) > 0 {
			v = b.CreateByteVector(d)
		}
		b.StartObject(3)
		if len(d) > 0 {
			b.PrependUOffsetTSlot(0, v, 0)
		}
		bufOffs = append(bufOffs, b.EndObject())
	}

	var tensorOffs []flatbuffers.UOffsetT
	for _, t := range m.tensors {
		name := b.CreateString(t.name)
		shape := ints(t.shape)
		var q flatbuffers.UOffsetT
		if t.scale != nil {
			b.StartVector(4, len(t.scale), 4)
			for i := len(t.scale) - 1; i >= 0; i-- {
				b.PrependFloat32(t.scale[i])
			}
			sv := b.EndVector(len(t.scale))
			b.StartVector(8, len(t.zero), 8)
			for i := len(t.zero) - 1; i >= 0; i-- {
				b.PrependInt64(t.zero[i])
			}
			zv := b.EndVector(len(t.zero))
			b.StartObject(7)
			b.PrependUOffsetTSlot(2, sv, 0)
			b.PrependUOffsetTSlot(3, zv, 0)
			b.PrependInt32Slot(6, t.qdim, 0)
			q = b.EndObject()
		}
		b.StartObject(5)
		b.PrependUOffsetTSlot(0, shape, 0)
		b.PrependInt8Slot(1, t.typ, 0)
		b.PrependUint32Slot(2, t.buffer, 0)
		b.PrependUOffsetTSlot(3, name, 0)
		if q != 0 {
			b.PrependUOffsetTSlot(4, q, 0)
		}
		tensorOffs = append(tensorOffs, b.EndObject())
	}

	var opOffs []flatbuffers.UOffsetT
	for _, op := range m.ops {
		in, out := ints(op.inputs), ints(op.outputs)
		var vecs []flatbuffers.UOffsetT
		for _, f := range op.opts {
			if v, ok := f.val.([]int32); ok {
				vecs = append(vecs, ints(v))
			}
		}
		var opts flatbuffers.UOffsetT
		if op.optType != 0 {
			b.StartObject(op.optSlots)
			k := 0
			for _, f := range op.opts {
				switch v := f.val.(type) {
				case uint8:
					b.PrependUint8Slot(f.slot, v, 0)
				case bool:
					b.PrependBoolSlot(f.slot, v, false)
				case int32:
					b.PrependInt32(v) // written even when it is the default
					b.Slot(f.slot)
				case float32:
					b.PrependFloat32Slot(f.slot, v, 0)
				case []int32:
					b.PrependUOffsetTSlot(f.slot, vecs[k], 0)
					k++
				}
			}
			opts = b.EndObject()
		}
		b.StartObject(5)
		b.PrependUint32Slot(0, codeIndex[op.code], 0)
		b.PrependUOffsetTSlot(1, in, 0)
		b.PrependUOffsetTSlot(2, out, 0)
		if op.optType != 0 {
			b.PrependUint8Slot(3, op.optType, 0)
			b.PrependUOffsetTSlot(4, opts, 0)
		}
		opOffs = append(opOffs, b.EndObject())
	}

	tv, iv, ov, opv := tables(tensorOffs), ints(m.inputs), ints(m.outputs), tables(opOffs)
	name := b.CreateString("main")
	b.StartObject(5)
	b.PrependUOffsetTSlot(0, tv, 0)
	b.PrependUOffsetTSlot(1, iv, 0)
	b.PrependUOffsetTSlot(2, ov, 0)
	b.PrependUOffsetTSlot(3, opv, 0)
	b.PrependUOffsetTSlot(4, name, 0)
	sg := b.EndObject()

	cv, sgv, bv := tables(codeOffs), tables([]flatbuffers.UOffsetT{sg}), tables(bufOffs)
	desc := b.CreateString("tfconv test")
	b.StartObject(5)
	b.PrependUint32Slot(0, 3, 0)
	b.PrependUOffsetTSlot(1, cv, 0)
	b.PrependUOffsetTSlot(2, sgv, 0)
	b.PrependUOffsetTSlot(3, desc, 0)
	b.PrependUOffsetTSlot(4, bv, 0)
	root := b.EndObject()
	b.FinishWithFileIdentifier(root, []byte("TFL3"))
	return b.FinishedBytes()
}

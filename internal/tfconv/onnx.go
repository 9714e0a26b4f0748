package tfconv

import (
	"encoding/binary"
	"math"

	"google.golang.org/protobuf/encoding/protowire"
)

// ONNX TensorProto data types used here.
const (
	dtFloat int32 = 1
	dtUint8 int32 = 2
	dtInt8  int32 = 3
	dtInt32 int32 = 6
	dtInt64 int32 = 7
	dtBool  int32 = 9
)

// ONNX AttributeProto types.
const (
	attrFloat  = 1
	attrInt    = 2
	attrString = 3
	attrTensor = 4
	attrFloats = 6
	attrInts   = 7
)

const (
	onnxIRVersion = 8
	onnxOpset     = 13
)

// tensor is a constant: an initializer or a value known at conversion time.
type tensor struct {
	dtype int32
	dims  []int64
	f32   []float32 // dtFloat
	i64   []int64   // dtInt32, dtInt64, dtBool, dtUint8, dtInt8 (held widened)
	raw   []byte    // when set: the data as stored, little-endian (any dtype)
}

func (t *tensor) size() int64 { return numElements(t.dims) }

func numElements(dims []int64) int64 {
	n := int64(1)
	for _, d := range dims {
		n *= d
	}
	return n
}

// ints returns the values of an integer tensor (or a float tensor's values truncated).
func (t *tensor) ints() []int64 {
	if t.dtype == dtFloat {
		out := make([]int64, len(t.f32))
		for i, v := range t.f32 {
			out[i] = int64(v)
		}
		return out
	}
	return t.i64
}

type attr struct {
	name   string
	kind   int
	i      int64
	f      float32
	s      string
	ints   []int64
	floats []float32
	t      *tensor
}

func intAttr(name string, v int64) attr     { return attr{name: name, kind: attrInt, i: v} }
func floatAttr(name string, v float32) attr { return attr{name: name, kind: attrFloat, f: v} }
func stringAttr(name, v string) attr        { return attr{name: name, kind: attrString, s: v} }
func intsAttr(name string, v ...int64) attr { return attr{name: name, kind: attrInts, ints: v} }

type node struct {
	op, name string
	in, out  []string
	attrs    []attr
}

// valueInfo describes a graph input or output: float32 with the given
// dims (a negative dim is symbolic, named by dimNames).
type valueInfo struct {
	name  string
	dtype int32
	dims  []int64
	syms  []string
}

type initializer struct {
	name string
	t    *tensor
}

type graphProto struct {
	name    string
	nodes   []node
	inits   []initializer
	inputs  []valueInfo
	outputs []valueInfo
}

func appendModel(b []byte, g *graphProto, producer string) []byte {
	b = protowire.AppendTag(b, 1, protowire.VarintType) // ir_version
	b = protowire.AppendVarint(b, onnxIRVersion)
	b = appendString(b, 2, producer) // producer_name
	b = appendMessage(b, 7, func(b []byte) []byte { return appendGraph(b, g) })
	b = appendMessage(b, 8, func(b []byte) []byte { // opset_import
		b = appendString(b, 1, "")
		b = protowire.AppendTag(b, 2, protowire.VarintType)
		return protowire.AppendVarint(b, onnxOpset)
	})
	return b
}

func appendGraph(b []byte, g *graphProto) []byte {
	for i := range g.nodes {
		b = appendMessage(b, 1, func(b []byte) []byte { return appendNode(b, &g.nodes[i]) })
	}
	b = appendString(b, 2, g.name)
	for _, in := range g.inits {
		b = appendMessage(b, 5, func(b []byte) []byte { return appendTensor(b, in.name, in.t) })
	}
	for _, v := range g.inputs {
		b = appendMessage(b, 11, func(b []byte) []byte { return appendValueInfo(b, v) })
	}
	for _, v := range g.outputs {
		b = appendMessage(b, 12, func(b []byte) []byte { return appendValueInfo(b, v) })
	}
	return b
}

func appendNode(b []byte, n *node) []byte {
	for _, s := range n.in {
		b = appendString(b, 1, s)
	}
	for _, s := range n.out {
		b = appendString(b, 2, s)
	}
	b = appendString(b, 3, n.name)
	b = appendString(b, 4, n.op)
	for _, a := range n.attrs {
		b = appendMessage(b, 5, func(b []byte) []byte { return appendAttr(b, a) })
	}
	return b
}

func appendAttr(b []byte, a attr) []byte {
	b = appendString(b, 1, a.name)
	switch a.kind {
	case attrFloat:
		b = protowire.AppendTag(b, 2, protowire.Fixed32Type)
		b = protowire.AppendFixed32(b, math.Float32bits(a.f))
	case attrInt:
		b = protowire.AppendTag(b, 3, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(a.i))
	case attrString:
		b = appendBytes(b, 4, []byte(a.s))
	case attrTensor:
		b = appendMessage(b, 5, func(b []byte) []byte { return appendTensor(b, "", a.t) })
	case attrFloats:
		b = appendMessage(b, 7, func(b []byte) []byte {
			for _, f := range a.floats {
				b = protowire.AppendFixed32(b, math.Float32bits(f))
			}
			return b
		})
	case attrInts:
		b = appendMessage(b, 8, func(b []byte) []byte {
			for _, v := range a.ints {
				b = protowire.AppendVarint(b, uint64(v))
			}
			return b
		})
	}
	b = protowire.AppendTag(b, 20, protowire.VarintType) // type
	return protowire.AppendVarint(b, uint64(a.kind))
}

func appendTensor(b []byte, name string, t *tensor) []byte {
	if len(t.dims) > 0 {
		b = appendMessage(b, 1, func(b []byte) []byte {
			for _, d := range t.dims {
				b = protowire.AppendVarint(b, uint64(d))
			}
			return b
		})
	}
	b = protowire.AppendTag(b, 2, protowire.VarintType)
	b = protowire.AppendVarint(b, uint64(t.dtype))
	if name != "" {
		b = appendString(b, 8, name)
	}
	return appendBytes(b, 9, rawData(t)) // raw_data, little-endian
}

func rawData(t *tensor) []byte {
	if t.raw != nil {
		return t.raw
	}
	switch t.dtype {
	case dtFloat:
		raw := make([]byte, 4*len(t.f32))
		for i, v := range t.f32 {
			binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
		}
		return raw
	case dtInt32:
		raw := make([]byte, 4*len(t.i64))
		for i, v := range t.i64 {
			binary.LittleEndian.PutUint32(raw[4*i:], uint32(int32(v)))
		}
		return raw
	case dtInt64:
		raw := make([]byte, 8*len(t.i64))
		for i, v := range t.i64 {
			binary.LittleEndian.PutUint64(raw[8*i:], uint64(v))
		}
		return raw
	case dtBool, dtUint8, dtInt8:
		raw := make([]byte, len(t.i64))
		for i, v := range t.i64 {
			raw[i] = byte(v)
		}
		return raw
	}
	return nil
}

func appendValueInfo(b []byte, v valueInfo) []byte {
	b = appendString(b, 1, v.name)
	return appendMessage(b, 2, func(b []byte) []byte { // TypeProto
		return appendMessage(b, 1, func(b []byte) []byte { // tensor_type
			b = protowire.AppendTag(b, 1, protowire.VarintType)
			b = protowire.AppendVarint(b, uint64(v.dtype))
			if v.dims == nil {
				return b // unknown rank
			}
			return appendMessage(b, 2, func(b []byte) []byte { // shape
				for i, d := range v.dims {
					b = appendMessage(b, 1, func(b []byte) []byte {
						if d >= 0 {
							b = protowire.AppendTag(b, 1, protowire.VarintType)
							return protowire.AppendVarint(b, uint64(d))
						}
						sym := "N"
						if i < len(v.syms) && v.syms[i] != "" {
							sym = v.syms[i]
						}
						return appendString(b, 2, sym)
					})
				}
				return b
			})
		})
	})
}

func appendString(b []byte, num protowire.Number, s string) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendString(b, s)
}

func appendBytes(b []byte, num protowire.Number, v []byte) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, v)
}

// appendMessage appends an embedded message whose body fn writes.
func appendMessage(b []byte, num protowire.Number, fn func([]byte) []byte) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	body := fn(nil)
	return protowire.AppendBytes(b, body)
}

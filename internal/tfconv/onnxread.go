package tfconv

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"google.golang.org/protobuf/encoding/protowire"
)

// This file reads an ONNX model (ModelProto) far enough to rewrite its
// graph: nodes (inputs, outputs, name, type, domain; the attributes are
// parsed for reading and kept as stored), initializers (decoded when
// they are float32, kept as stored otherwise), the names of the graph's
// inputs and outputs, and the opset imports. Every field it does not
// interpret is kept as its stored bytes and written back unchanged, so a
// read and write without changes keeps the model's meaning (field order
// inside messages may change, which protobuf allows).

// onnxModel is a parsed ModelProto.
type onnxModel struct {
	// rest are the ModelProto fields other than the graph (7) and
	// opset_import (8), as stored.
	rest   []rawField
	opsets []opsetID
	graph  onnxGraph
}

type opsetID struct {
	domain  string
	version int64
}

// rawField is one stored protobuf field: its number, wire type and the
// bytes of its value (for bytes fields, without the length prefix).
type rawField struct {
	num protowire.Number
	typ protowire.Type
	val []byte
}

type onnxGraph struct {
	nodes   []onnxNode
	inits   []onnxInit
	inputs  []namedRaw // ValueInfoProto
	outputs []namedRaw
	rest    []rawField // name, value_info, doc_string...
}

// namedRaw is a stored message with its name (field 1) read out.
type namedRaw struct {
	name string
	raw  []byte
}

type onnxNode struct {
	in, out      []string
	name, op, dm string
	attrs        map[string]attr // parsed copies of the attributes
	rest         []rawField      // attributes and doc_string as stored
}

type onnxInit struct {
	name string
	// t is the decoded tensor when the initializer is float32 (f32 set)
	// or a small integer tensor (i64 set); nil otherwise.
	t   *tensor
	raw []byte // the TensorProto as stored; nil for a new initializer
}

// readONNX parses an ONNX model.
func readONNX(data []byte) (*onnxModel, error) {
	m := &onnxModel{}
	err := eachField(data, func(f rawField) error {
		switch {
		case f.num == 7 && f.typ == protowire.BytesType:
			return readGraph(f.val, &m.graph)
		case f.num == 8 && f.typ == protowire.BytesType:
			var o opsetID
			err := eachField(f.val, func(g rawField) error {
				switch g.num {
				case 1:
					o.domain = string(g.val)
				case 2:
					v, _ := protowire.ConsumeVarint(g.val)
					o.version = int64(v)
				default:
				}
				return nil
			})
			m.opsets = append(m.opsets, o)
			return err
		default:
			m.rest = append(m.rest, f)
			return nil
		}
	})
	if err != nil {
		return nil, fmt.Errorf("read onnx model: %w", err)
	}
	if len(m.graph.nodes) == 0 {
		return nil, errors.New("read onnx model: no graph nodes")
	}
	return m, nil
}

// eachField calls fn for every field of a message. Varint and fixed
// values are given as their encoded bytes.
func eachField(b []byte, fn func(rawField) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return protowire.ParseError(n)
		}
		b = b[n:]
		var val []byte
		switch typ {
		case protowire.BytesType:
			v, m := protowire.ConsumeBytes(b)
			if m < 0 {
				return protowire.ParseError(m)
			}
			val, n = v, m
		default:
			m := protowire.ConsumeFieldValue(num, typ, b)
			if m < 0 {
				return protowire.ParseError(m)
			}
			val, n = b[:m], m
		}
		b = b[n:]
		if err := fn(rawField{num: num, typ: typ, val: val}); err != nil {
			return err
		}
	}
	return nil
}

func readGraph(b []byte, g *onnxGraph) error {
	return eachField(b, func(f rawField) error {
		if f.typ != protowire.BytesType {
			g.rest = append(g.rest, f)
			return nil
		}
		switch f.num {
		case 1:
			n, err := readNode(f.val)
			if err != nil {
				return fmt.Errorf("node %d: %w", len(g.nodes), err)
			}
			g.nodes = append(g.nodes, n)
		case 5:
			in, err := readInit(f.val)
			if err != nil {
				return fmt.Errorf("initializer %d: %w", len(g.inits), err)
			}
			g.inits = append(g.inits, in)
		case 11, 12:
			nr := namedRaw{raw: f.val}
			err := eachField(f.val, func(h rawField) error {
				if h.num == 1 {
					nr.name = string(h.val)
				}
				return nil
			})
			if err != nil {
				return err
			}
			if f.num == 11 {
				g.inputs = append(g.inputs, nr)
			} else {
				g.outputs = append(g.outputs, nr)
			}
		default:
			g.rest = append(g.rest, f)
		}
		return nil
	})
}

func readNode(b []byte) (onnxNode, error) {
	n := onnxNode{attrs: map[string]attr{}}
	err := eachField(b, func(f rawField) error {
		switch f.num {
		case 1:
			n.in = append(n.in, string(f.val))
		case 2:
			n.out = append(n.out, string(f.val))
		case 3:
			n.name = string(f.val)
		case 4:
			n.op = string(f.val)
		case 7:
			n.dm = string(f.val)
		case 5:
			a, err := readAttr(f.val)
			if err != nil {
				return err
			}
			n.attrs[a.name] = a
			n.rest = append(n.rest, f)
		default:
			n.rest = append(n.rest, f)
		}
		return nil
	})
	return n, err
}

// readAttr parses the scalar and list attributes (others keep only their
// name and type).
func readAttr(b []byte) (attr, error) {
	var a attr
	err := eachField(b, func(f rawField) error {
		switch f.num {
		case 1:
			a.name = string(f.val)
		case 20:
			v, _ := protowire.ConsumeVarint(f.val)
			a.kind = int(v)
		case 2:
			if len(f.val) == 4 {
				a.f = math.Float32frombits(binary.LittleEndian.Uint32(f.val))
			}
		case 3:
			v, _ := protowire.ConsumeVarint(f.val)
			a.i = int64(v)
		case 4:
			a.s = string(f.val)
		case 7:
			if f.typ == protowire.BytesType {
				for p := f.val; len(p) >= 4; p = p[4:] {
					a.floats = append(a.floats, math.Float32frombits(binary.LittleEndian.Uint32(p)))
				}
			} else if len(f.val) == 4 {
				a.floats = append(a.floats, math.Float32frombits(binary.LittleEndian.Uint32(f.val)))
			}
		case 8:
			if f.typ == protowire.BytesType {
				for p := f.val; len(p) > 0; {
					v, n := protowire.ConsumeVarint(p)
					if n < 0 {
						return protowire.ParseError(n)
					}
					a.ints = append(a.ints, int64(v))
					p = p[n:]
				}
			} else {
				v, _ := protowire.ConsumeVarint(f.val)
				a.ints = append(a.ints, int64(v))
			}
		default:
		}
		return nil
	})
	return a, err
}

// readInit decodes an initializer: float32 tensors (raw_data or
// float_data) and int64/int32 tensors (raw_data or int*_data) are decoded;
// any other is kept by name only.
func readInit(b []byte) (onnxInit, error) {
	var (
		name    string
		dims    []int64
		dtype   int32
		raw     []byte
		hasRaw  bool
		floats  []float32
		ints    []int64
		extData bool
	)
	err := eachField(b, func(f rawField) error {
		switch f.num {
		case 1:
			if f.typ == protowire.BytesType {
				for p := f.val; len(p) > 0; {
					v, n := protowire.ConsumeVarint(p)
					if n < 0 {
						return protowire.ParseError(n)
					}
					dims = append(dims, int64(v))
					p = p[n:]
				}
			} else {
				v, _ := protowire.ConsumeVarint(f.val)
				dims = append(dims, int64(v))
			}
		case 2:
			v, _ := protowire.ConsumeVarint(f.val)
			dtype = int32(v)
		case 8:
			name = string(f.val)
		case 9:
			raw, hasRaw = f.val, true
		case 4:
			if f.typ == protowire.BytesType {
				for p := f.val; len(p) >= 4; p = p[4:] {
					floats = append(floats, math.Float32frombits(binary.LittleEndian.Uint32(p)))
				}
			} else {
				floats = append(floats, math.Float32frombits(binary.LittleEndian.Uint32(f.val)))
			}
		case 5, 7:
			if f.typ == protowire.BytesType {
				for p := f.val; len(p) > 0; {
					v, n := protowire.ConsumeVarint(p)
					if n < 0 {
						return protowire.ParseError(n)
					}
					ints = append(ints, int64(v))
					p = p[n:]
				}
			} else {
				v, _ := protowire.ConsumeVarint(f.val)
				ints = append(ints, int64(v))
			}
		case 13, 14:
			extData = true
		default:
		}
		return nil
	})
	if err != nil {
		return onnxInit{}, err
	}
	if extData {
		return onnxInit{}, fmt.Errorf("initializer %q: external data is not supported", name)
	}
	in := onnxInit{name: name, raw: b}
	n := numElements(dims)
	switch dtype {
	case dtFloat:
		t := &tensor{dtype: dtFloat, dims: dims}
		if hasRaw {
			if int64(len(raw)) != 4*n {
				return onnxInit{}, fmt.Errorf("initializer %q: %d raw bytes for %d floats", name, len(raw), n)
			}
			t.f32 = make([]float32, n)
			for i := range t.f32 {
				t.f32[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
			}
		} else {
			if int64(len(floats)) != n {
				return onnxInit{}, fmt.Errorf("initializer %q: %d floats for shape %v", name, len(floats), dims)
			}
			t.f32 = floats
		}
		in.t = t
	case dtInt64, dtInt32:
		t := &tensor{dtype: dtype, dims: dims}
		switch {
		case hasRaw && dtype == dtInt64 && int64(len(raw)) == 8*n:
			for i := range n {
				t.i64 = append(t.i64, int64(binary.LittleEndian.Uint64(raw[8*i:])))
			}
		case hasRaw && dtype == dtInt32 && int64(len(raw)) == 4*n:
			for i := range n {
				t.i64 = append(t.i64, int64(int32(binary.LittleEndian.Uint32(raw[4*i:]))))
			}
		case !hasRaw && int64(len(ints)) == n:
			t.i64 = ints
		}
		if int64(len(t.i64)) == n {
			in.t = t
		}
	}
	return in, nil
}

// writeONNX serialises m: the stored fields as they were, the graph's
// nodes and initializers as they are now.
func writeONNX(m *onnxModel) []byte {
	var b []byte
	for _, f := range m.rest {
		b = appendRaw(b, f)
	}
	b = appendMessage(b, 7, func(b []byte) []byte { return writeGraph(b, &m.graph) })
	for _, o := range m.opsets {
		b = appendMessage(b, 8, func(b []byte) []byte {
			if o.domain != "" {
				b = appendString(b, 1, o.domain)
			}
			b = protowire.AppendTag(b, 2, protowire.VarintType)
			return protowire.AppendVarint(b, uint64(o.version))
		})
	}
	return b
}

func writeGraph(b []byte, g *onnxGraph) []byte {
	for i := range g.nodes {
		n := &g.nodes[i]
		b = appendMessage(b, 1, func(b []byte) []byte {
			for _, s := range n.in {
				b = appendString(b, 1, s)
			}
			for _, s := range n.out {
				b = appendString(b, 2, s)
			}
			if n.name != "" {
				b = appendString(b, 3, n.name)
			}
			b = appendString(b, 4, n.op)
			for _, f := range n.rest {
				b = appendRaw(b, f)
			}
			if n.dm != "" {
				b = appendString(b, 7, n.dm)
			}
			return b
		})
	}
	for _, f := range g.rest {
		b = appendRaw(b, f)
	}
	for _, in := range g.inits {
		if in.raw != nil {
			b = appendBytes(b, 5, in.raw)
		} else {
			b = appendMessage(b, 5, func(b []byte) []byte { return appendTensor(b, in.name, in.t) })
		}
	}
	for _, v := range g.inputs {
		b = appendBytes(b, 11, v.raw)
	}
	for _, v := range g.outputs {
		b = appendBytes(b, 12, v.raw)
	}
	return b
}

func appendRaw(b []byte, f rawField) []byte {
	b = protowire.AppendTag(b, f.num, f.typ)
	if f.typ == protowire.BytesType {
		return protowire.AppendBytes(b, f.val)
	}
	return append(b, f.val...)
}

// newNodeAttrs turns attrs into stored attribute fields for a new node.
func newNodeAttrs(attrs ...attr) []rawField {
	var out []rawField
	for _, a := range attrs {
		out = append(out, rawField{num: 5, typ: protowire.BytesType, val: appendAttr(nil, a)})
	}
	return out
}

package tfconv

import (
	"fmt"
	"strconv"
)

// builder accumulates an ONNX graph with unique value names.
type builder struct {
	g     graphProto
	names map[string]bool
	// nchwOf maps an NHWC value made by toNHWC back to its NCHW source, so
	// back-to-back layout changes cancel at conversion time.
	nchwOf map[string]string
	nhwcOf map[string]string
	// reserved names are kept for outputs added later.
	reserved map[string]bool
}

func newBuilder(name string) *builder {
	return &builder{
		g:        graphProto{name: name},
		names:    map[string]bool{},
		nchwOf:   map[string]string{},
		nhwcOf:   map[string]string{},
		reserved: map[string]bool{},
	}
}

// unique returns base, or base with a numeric suffix, never used before.
func (b *builder) unique(base string) string {
	if base == "" {
		base = "v"
	}
	if !b.names[base] {
		b.names[base] = true
		return base
	}
	for i := 1; ; i++ {
		n := base + "_" + strconv.Itoa(i)
		if !b.names[n] {
			b.names[n] = true
			return n
		}
	}
}

// reserve keeps names for outputs: unique never returns them.
func (b *builder) reserve(names ...string) {
	for _, n := range names {
		b.names[n] = true
		b.reserved[n] = true
	}
}

// op adds a node with one output named after name and returns the output.
func (b *builder) op(opType, name string, in []string, attrs ...attr) string {
	return b.opN(opType, name, 1, in, attrs...)[0]
}

// opN adds a node with n outputs.
func (b *builder) opN(opType, name string, n int, in []string, attrs ...attr) []string {
	nodeName := b.unique(name)
	out := make([]string, n)
	for i := range out {
		if i == 0 {
			out[i] = nodeName
		} else {
			out[i] = b.unique(nodeName + ":" + strconv.Itoa(i))
		}
	}
	b.g.nodes = append(b.g.nodes, node{op: opType, name: nodeName, in: in, out: out, attrs: attrs})
	return out
}

// constant adds an initializer and returns its name.
func (b *builder) constant(name string, t *tensor) string {
	n := b.unique(name)
	b.g.inits = append(b.g.inits, initializer{name: n, t: t})
	return n
}

func (b *builder) constI64(name string, v ...int64) string {
	return b.constant(name, &tensor{dtype: dtInt64, dims: []int64{int64(len(v))}, i64: v})
}

func (b *builder) scalarF32(name string, v float32) string {
	return b.constant(name, &tensor{dtype: dtFloat, f32: []float32{v}})
}

func (b *builder) input(name string, dtype int32, dims []int64) string {
	n := b.unique(name)
	b.g.inputs = append(b.g.inputs, valueInfo{name: n, dtype: dtype, dims: dims})
	return n
}

// output exposes value v as graph output name (adding an Identity when
// the value is named differently or is already an output or input).
func (b *builder) output(name, v string, dtype int32) error {
	for _, o := range b.g.outputs {
		if o.name == name {
			return fmt.Errorf("duplicate output %q", name)
		}
	}
	if v != name || b.isInput(v) {
		if b.names[name] && !b.reserved[name] {
			return fmt.Errorf("output name %q is already used by another value", name)
		}
		delete(b.reserved, name)
		b.names[name] = true
		b.g.nodes = append(b.g.nodes, node{op: "Identity", name: name, in: []string{v}, out: []string{name}})
	}
	b.g.outputs = append(b.g.outputs, valueInfo{name: name, dtype: dtype})
	return nil
}

func (b *builder) isInput(v string) bool {
	for _, in := range b.g.inputs {
		if in.name == v {
			return true
		}
	}
	return false
}

// toNCHW transposes an NHWC value to NCHW.
func (b *builder) toNCHW(v string) string {
	if src, ok := b.nchwOf[v]; ok {
		return src
	}
	if t, ok := b.nhwcOf[v]; ok {
		return t
	}
	t := b.op("Transpose", v+"/nchw", []string{v}, intsAttr("perm", 0, 3, 1, 2))
	b.nhwcOf[v] = t
	return t
}

// toNHWC transposes an NCHW value to NHWC.
func (b *builder) toNHWC(v string) string {
	t := b.op("Transpose", v+"/nhwc", []string{v}, intsAttr("perm", 0, 2, 3, 1))
	b.nchwOf[t] = v
	return t
}

// model serialises the graph.
func (b *builder) model() []byte {
	return appendModel(nil, &b.g, "imagerec-tfconv")
}

package tfconv

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// graphConv converts a TFJS graph model.
type graphConv struct {
	b       *builder
	nodes   map[string]*tfNode
	weights map[string]*tensor
	vals    map[string]string  // TF tensor ref ("n" or "n:1") -> ONNX value
	folded  map[string]*tensor // nodes computed at conversion time
	dtypes  map[string]int32   // ONNX value -> data type, when not float
}

func convertGraph(topology json.RawMessage, sig *signature, weights map[string]*tensor) ([]byte, error) {
	var topo struct {
		Node []*tfNode `json:"node"`
	}
	if err := json.Unmarshal(topology, &topo); err != nil {
		return nil, fmt.Errorf("parse graph: %w", err)
	}
	c := &graphConv{
		b:       newBuilder("tfjs-graph"),
		nodes:   map[string]*tfNode{},
		weights: weights,
		vals:    map[string]string{},
		dtypes:  map[string]int32{},
		folded:  map[string]*tensor{},
	}
	for _, n := range topo.Node {
		if n == nil || n.Name == "" {
			return nil, errors.New("parse graph: node without a name")
		}
		if _, dup := c.nodes[n.Name]; dup {
			return nil, fmt.Errorf("parse graph: duplicate node %q", n.Name)
		}
		c.nodes[n.Name] = n
	}
	outputs, err := c.outputNames(topo.Node, sig)
	if err != nil {
		return nil, err
	}
	order, err := c.topoOrder(outputs)
	if err != nil {
		return nil, err
	}
	for _, n := range order {
		if err := c.convertNode(n); err != nil {
			return nil, fmt.Errorf("node %q (%s): %w", n.Name, n.Op, err)
		}
	}
	for _, o := range outputs {
		v, err := c.value(o)
		if err != nil {
			return nil, err
		}
		if err := c.b.output(strings.TrimSuffix(o, ":0"), v, c.dtypeOf(v)); err != nil {
			return nil, err
		}
	}
	return c.b.model(), nil
}

// outputNames returns the model's outputs: the signature's, else every
// node nobody consumes; sorted so the output is deterministic.
func (c *graphConv) outputNames(all []*tfNode, sig *signature) ([]string, error) {
	var outs []string
	if sig != nil && len(sig.Outputs) > 0 {
		for k, ti := range sig.Outputs {
			name := ti.Name
			if name == "" {
				name = k
			}
			outs = append(outs, name)
		}
	} else {
		used := map[string]bool{}
		for _, n := range all {
			for _, in := range n.Input {
				used[refNode(in)] = true
			}
		}
		for _, n := range all {
			if !used[n.Name] && n.Op != "Const" && n.Op != "Placeholder" && n.Op != "NoOp" {
				outs = append(outs, n.Name)
			}
		}
	}
	sort.Strings(outs)
	for _, o := range outs {
		if _, ok := c.nodes[refNode(o)]; !ok {
			return nil, fmt.Errorf("output %q: no such node", o)
		}
	}
	if len(outs) == 0 {
		return nil, errors.New("graph has no outputs")
	}
	return outs, nil
}

// refNode returns the node name of a tensor reference such as "^a", "a:1".
func refNode(ref string) string {
	ref = strings.TrimPrefix(ref, "^")
	if i := strings.LastIndexByte(ref, ':'); i >= 0 {
		if _, err := strconv.Atoi(ref[i+1:]); err == nil {
			return ref[:i]
		}
	}
	return ref
}

// topoOrder returns the nodes the outputs depend on, inputs first.
func (c *graphConv) topoOrder(outputs []string) ([]*tfNode, error) {
	const (
		visiting = 1
		done     = 2
	)
	state := map[string]int{}
	var order []*tfNode
	type frame struct {
		n    *tfNode
		next int
	}
	for _, o := range outputs {
		root := c.nodes[refNode(o)]
		if state[root.Name] == done {
			continue
		}
		stack := []frame{{n: root}}
		state[root.Name] = visiting
		for len(stack) > 0 {
			top := &stack[len(stack)-1]
			ins := top.n.dataInputs()
			if top.next < len(ins) {
				name := refNode(ins[top.next])
				top.next++
				dep, ok := c.nodes[name]
				if !ok {
					return nil, fmt.Errorf("node %q: input %q: no such node", top.n.Name, name)
				}
				switch state[name] {
				case visiting:
					return nil, fmt.Errorf("node %q: cycle through %q", top.n.Name, name)
				case done:
					continue
				}
				state[name] = visiting
				stack = append(stack, frame{n: dep})
				continue
			}
			state[top.n.Name] = done
			order = append(order, top.n)
			stack = stack[:len(stack)-1]
		}
	}
	return order, nil
}

func (c *graphConv) dtypeOf(v string) int32 {
	if t, ok := c.dtypes[v]; ok {
		return t
	}
	return dtFloat
}

func (c *graphConv) set(n *tfNode, v string, dtype int32) {
	c.vals[n.Name] = v
	if dtype != dtFloat {
		c.dtypes[v] = dtype
	}
}

// constant returns the value of a Const node's output (or of a node
// computed at conversion time).
func (c *graphConv) constant(ref string) (*tensor, error) {
	if t, ok := c.folded[refNode(ref)]; ok {
		if s := strings.TrimPrefix(strings.TrimPrefix(ref, "^"), refNode(ref)); s != "" && s != ":0" {
			return nil, fmt.Errorf("input %q: no such output", ref)
		}
		return t, nil
	}
	n := c.nodes[refNode(ref)]
	if n == nil || n.Op != "Const" {
		return nil, fmt.Errorf("input %q is not a constant: %w", ref, ErrUnsupported)
	}
	t, ok := c.weights[n.Name]
	if !ok {
		return nil, fmt.Errorf("constant %q has no weight", n.Name)
	}
	return t, nil
}

// value returns the ONNX value for a TF tensor reference, emitting an
// initializer the first time a constant is used as data.
func (c *graphConv) value(ref string) (string, error) {
	name := refNode(ref)
	key := name
	if r := strings.TrimPrefix(ref, "^"); r != name && !strings.HasSuffix(r, ":0") {
		key = r
	}
	if v, ok := c.vals[key]; ok {
		return v, nil
	}
	n := c.nodes[name]
	if _, folded := c.folded[name]; folded || (n != nil && n.Op == "Const") {
		t, err := c.constant(name)
		if err != nil {
			return "", err
		}
		v := c.b.constant(name, t)
		c.vals[name] = v
		if t.dtype != dtFloat {
			c.dtypes[v] = t.dtype
		}
		return v, nil
	}
	return "", fmt.Errorf("input %q: not converted (output %s)", name, key)
}

// in returns the ONNX value of the node's i-th data input.
func (c *graphConv) in(n *tfNode, i int) (string, error) {
	ins := n.dataInputs()
	if i >= len(ins) {
		return "", fmt.Errorf("needs input %d, has %d", i, len(ins))
	}
	return c.value(ins[i])
}

// constIn returns the constant value of the node's i-th data input.
func (c *graphConv) constIn(n *tfNode, i int) (*tensor, error) {
	ins := n.dataInputs()
	if i >= len(ins) {
		return nil, fmt.Errorf("needs input %d, has %d", i, len(ins))
	}
	return c.constant(ins[i])
}

var unaryOps = map[string]string{
	"Relu": "Relu", "Sigmoid": "Sigmoid", "Tanh": "Tanh", "Elu": "Elu", "Selu": "Selu",
	"Exp": "Exp", "Log": "Log", "Sqrt": "Sqrt", "Neg": "Neg", "Abs": "Abs",
	"Floor": "Floor", "Ceil": "Ceil", "Round": "Round", "Reciprocal": "Reciprocal",
	"Softplus": "Softplus", "Sign": "Sign", "LogicalNot": "Not",
}

var binaryOps = map[string]string{
	"Add": "Add", "AddV2": "Add", "BiasAdd": "Add", "Sub": "Sub", "Mul": "Mul",
	"RealDiv": "Div", "Div": "Div", "Maximum": "Max", "Minimum": "Min", "Pow": "Pow",
	"Equal": "Equal", "Greater": "Greater", "Less": "Less", "GreaterEqual": "GreaterOrEqual",
	"LessEqual": "LessOrEqual", "LogicalAnd": "And", "LogicalOr": "Or",
}

var compareOps = map[string]bool{
	"Equal": true, "Greater": true, "Less": true, "GreaterEqual": true, "LessEqual": true,
	"LogicalAnd": true, "LogicalOr": true, "LogicalNot": true,
}

func (c *graphConv) convertNode(n *tfNode) error {
	b := c.b
	if t, ok, err := c.fold(n); err != nil {
		return err
	} else if ok {
		c.folded[n.Name] = t
		return nil
	}
	if op, ok := unaryOps[n.Op]; ok {
		x, err := c.in(n, 0)
		if err != nil {
			return err
		}
		dt := c.dtypeOf(x)
		if compareOps[n.Op] {
			dt = dtBool
		}
		c.set(n, b.op(op, n.Name, []string{x}), dt)
		return nil
	}
	if op, ok := binaryOps[n.Op]; ok {
		if n.Op == "BiasAdd" {
			if f, _ := n.str("data_format", "NHWC"); f != "NHWC" {
				return fmt.Errorf("data_format %s: %w", f, ErrUnsupported)
			}
		}
		x, err := c.in(n, 0)
		if err != nil {
			return err
		}
		y, err := c.in(n, 1)
		if err != nil {
			return err
		}
		dt := c.dtypeOf(x)
		if compareOps[n.Op] {
			dt = dtBool
		}
		c.set(n, b.op(op, n.Name, []string{x, y}), dt)
		return nil
	}
	switch n.Op {
	case "Const", "NoOp":
		return nil // emitted on first use
	case "Placeholder":
		dims, err := n.shape("shape")
		if err != nil {
			return err
		}
		dt, err := n.dtype("dtype")
		if err != nil {
			return err
		}
		c.set(n, b.input(strings.TrimSuffix(n.Name, ":0"), dt, dims), dt)
		return nil
	case "Identity", "StopGradient", "Snapshot":
		x, err := c.in(n, 0)
		if err != nil {
			return err
		}
		c.set(n, x, c.dtypeOf(x))
		return nil
	case "Conv2D", "_FusedConv2D":
		return c.conv(n, false)
	case "DepthwiseConv2dNative", "FusedDepthwiseConv2dNative":
		return c.conv(n, true)
	case "MatMul", "_FusedMatMul":
		return c.matMul(n)
	case "FusedBatchNorm", "FusedBatchNormV2", "FusedBatchNormV3":
		return c.batchNorm(n)
	case "Relu6":
		x, err := c.in(n, 0)
		if err != nil {
			return err
		}
		c.set(n, c.relu6(n.Name, x), dtFloat)
		return nil
	case "LeakyRelu":
		x, err := c.in(n, 0)
		if err != nil {
			return err
		}
		alpha, err := n.float("alpha", 0.2)
		if err != nil {
			return err
		}
		c.set(n, b.op("LeakyRelu", n.Name, []string{x}, floatAttr("alpha", alpha)), dtFloat)
		return nil
	case "Prelu":
		x, err := c.in(n, 0)
		if err != nil {
			return err
		}
		alpha, err := c.in(n, 1)
		if err != nil {
			return err
		}
		c.set(n, b.op("PRelu", n.Name, []string{x, alpha}), dtFloat)
		return nil
	case "Rsqrt":
		x, err := c.in(n, 0)
		if err != nil {
			return err
		}
		s := b.op("Sqrt", n.Name+"/sqrt", []string{x})
		c.set(n, b.op("Reciprocal", n.Name, []string{s}), dtFloat)
		return nil
	case "Square":
		x, err := c.in(n, 0)
		if err != nil {
			return err
		}
		c.set(n, b.op("Mul", n.Name, []string{x, x}), c.dtypeOf(x))
		return nil
	case "SquaredDifference":
		x, err := c.in(n, 0)
		if err != nil {
			return err
		}
		y, err := c.in(n, 1)
		if err != nil {
			return err
		}
		d := b.op("Sub", n.Name+"/sub", []string{x, y})
		c.set(n, b.op("Mul", n.Name, []string{d, d}), c.dtypeOf(x))
		return nil
	case "FloorDiv", "FloorMod":
		return c.floorDivMod(n)
	case "Softmax", "LogSoftmax":
		x, err := c.in(n, 0)
		if err != nil {
			return err
		}
		c.set(n, b.op(n.Op, n.Name, []string{x}, intAttr("axis", -1)), dtFloat)
		return nil
	case "Cast":
		x, err := c.in(n, 0)
		if err != nil {
			return err
		}
		to, err := n.dtype("DstT")
		if err != nil {
			return err
		}
		c.set(n, b.op("Cast", n.Name, []string{x}, intAttr("to", int64(to))), to)
		return nil
	case "MaxPool", "AvgPool":
		return c.pool(n)
	case "Mean", "Max", "Min", "Prod", "Sum":
		return c.reduce(n)
	case "ConcatV2", "Concat":
		return c.concat(n)
	case "Pack":
		return c.pack(n)
	case "Pad", "PadV2", "MirrorPad":
		return c.pad(n)
	case "ResizeBilinear", "ResizeNearestNeighbor":
		return c.resize(n)
	case "Reshape":
		return c.reshape(n)
	case "Squeeze":
		return c.squeeze(n)
	case "ExpandDims":
		return c.expandDims(n)
	case "Transpose":
		return c.transpose(n)
	case "StridedSlice":
		return c.stridedSlice(n)
	case "Slice":
		return c.slice(n)
	case "GatherV2":
		return c.gather(n)
	case "TopKV2":
		return c.topK(n)
	case "SplitV", "Split":
		return c.split(n)
	case "AddN":
		var xs []string
		for i := range n.dataInputs() {
			x, err := c.in(n, i)
			if err != nil {
				return err
			}
			xs = append(xs, x)
		}
		if len(xs) == 0 {
			return fmt.Errorf("no inputs")
		}
		c.set(n, b.op("Sum", n.Name, xs), c.dtypeOf(xs[0]))
		return nil
	case "Unpack":
		return c.unpack(n)
	case "DepthToSpace", "SpaceToDepth":
		if err := checkNHWC(n); err != nil {
			return err
		}
		x, err := c.in(n, 0)
		if err != nil {
			return err
		}
		bs, err := n.int("block_size", 0)
		if err != nil {
			return err
		}
		if bs < 2 {
			return fmt.Errorf("block_size %d", bs)
		}
		attrs := []attr{intAttr("blocksize", bs)}
		if n.Op == "DepthToSpace" {
			attrs = append(attrs, stringAttr("mode", "DCR")) // TF's channel order
		}
		y := b.op(n.Op, n.Name+"/nchw", []string{b.toNCHW(x)}, attrs...)
		c.set(n, b.toNHWC(y), c.dtypeOf(x))
		return nil
	case "Shape":
		x, err := c.in(n, 0)
		if err != nil {
			return err
		}
		s := b.op("Shape", n.Name+"/i64", []string{x})
		c.set(n, b.op("Cast", n.Name, []string{s}, intAttr("to", int64(dtInt32))), dtInt32)
		return nil
	}
	return fmt.Errorf("op %s: %w", n.Op, ErrUnsupported)
}

func (c *graphConv) relu6(name, x string) string {
	lo := c.b.scalarF32(name+"/min", 0)
	hi := c.b.scalarF32(name+"/max", 6)
	return c.b.op("Clip", name, []string{x, lo, hi})
}

package tfconv

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"

	"google.golang.org/protobuf/encoding/protowire"
)

// QuantizeOptions configure Quantize.
type QuantizeOptions struct {
	// Ranges maps every tensor that CalibrationModel lists to the least
	// and greatest value it took on the calibration inputs.
	Ranges map[string][2]float32
	// ReduceRange stores weights in 7 bits (-64..64) instead of 8
	// (-127..127): ONNX Runtime's uint8 x int8 kernels on x86 CPUs
	// without VNNI add pairs of products in 16 bits, which 8-bit weights
	// can saturate; with 7-bit weights they cannot, so the file computes
	// exactly on every CPU.
	ReduceRange bool
	// Skip names Conv, MatMul or Gemm nodes (by node name or first output)
	// left in float.
	Skip []string
	// FloatDepthwise leaves depthwise convolutions (group = channels) in
	// float. Measured slower (BenchmarkQuantModels in
	// internal/vision/onnx): ONNX Runtime then converts each tensor
	// between its int8 NHWC and float blocked layouts twice per block.
	FloatDepthwise bool
}

// Range is a calibrated tensor range.
type Range = [2]float32

// CalibrationModel returns model with the tensors that Quantize needs
// ranges for added as float outputs, and their names in order. Run it on
// calibration inputs and record each tensor's least and greatest value.
func CalibrationModel(model []byte) ([]byte, []string, error) {
	return calibrationModel(model, QuantizeOptions{})
}

func calibrationModel(model []byte, opts QuantizeOptions) ([]byte, []string, error) {
	m, err := readONNX(model)
	if err != nil {
		return nil, nil, err
	}
	if err := prepareQuant(m); err != nil {
		return nil, nil, err
	}
	p := planQuant(m, opts)
	outs := map[string]bool{}
	for _, o := range m.graph.outputs {
		outs[o.name] = true
	}
	for _, t := range p.tensors {
		if outs[t] {
			continue
		}
		vi := appendValueInfo(nil, valueInfo{name: t, dtype: dtFloat})
		m.graph.outputs = append(m.graph.outputs, namedRaw{name: t, raw: vi})
	}
	return writeONNX(m), p.tensors, nil
}

// Quantize rewrites a float32 ONNX model into ONNX Runtime's QDQ form:
// the activations entering and leaving every Conv, MatMul and Gemm with a
// constant weight go through QuantizeLinear and DequantizeLinear (uint8,
// asymmetric, the calibrated range stretched to include 0); the weights
// are int8, symmetric, one scale per output channel; biases int32 with
// the scale input scale x weight scale. ONNX Runtime fuses these groups
// into integer kernels (QLinearConv, QLinearMatMul). Before that,
// Constant nodes become initializers and a BatchNormalization that alone
// reads a Conv's output is folded into the Conv. The result is
// deterministic: the same model and options give the same bytes.
func Quantize(model []byte, opts QuantizeOptions) ([]byte, error) {
	m, err := readONNX(model)
	if err != nil {
		return nil, err
	}
	if err := prepareQuant(m); err != nil {
		return nil, err
	}
	p := planQuant(m, opts)
	var missing []string
	for _, t := range p.tensors {
		if _, ok := opts.Ranges[t]; !ok {
			missing = append(missing, t)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("quantize: no calibrated range for %d tensors (%q...)", len(missing), missing[0])
	}
	if err := applyQuant(m, p, opts); err != nil {
		return nil, err
	}
	return writeONNX(m), nil
}

// liftOps are the operators whose meaning is the same at opsets 11, 12
// and 13 (later versions only add types): a model using no others can be
// lifted to opset 13, which per-channel DequantizeLinear needs.
var liftOps = map[string]bool{
	"Add": true, "Sub": true, "Mul": true, "Div": true, "Relu": true, "Sigmoid": true,
	"HardSigmoid": true, "Conv": true, "ConvTranspose": true, "BatchNormalization": true,
	"Concat": true, "Clip": true, "GlobalAveragePool": true, "AveragePool": true,
	"MaxPool": true, "Resize": true, "Reshape": true, "Transpose": true,
	"ConstantOfShape": true, "Pad": true, "Identity": true, "Constant": true,
	"MatMul": true, "Gemm": true, "Shape": true, "Cast": true, "Pow": true, "Sqrt": true,
}

// lift9Ops are the operators whose meaning is the same at opsets 9 and
// 10, and Slice, whose attributes liftSlices turns into inputs.
var lift9Ops = map[string]bool{
	"Add": true, "Sub": true, "Mul": true, "Div": true, "Relu": true, "Sigmoid": true,
	"HardSigmoid": true, "Conv": true, "BatchNormalization": true, "Concat": true,
	"Clip": true, "GlobalAveragePool": true, "AveragePool": true, "MaxPool": true,
	"Reshape": true, "Transpose": true, "Identity": true, "Constant": true,
	"MatMul": true, "Gemm": true, "Shape": true, "Cast": true, "Pow": true, "Sqrt": true,
	"ReduceMean": true, "Softmax": true, "Squeeze": true, "Unsqueeze": true, "Slice": true,
	"Flatten": true, "Tanh": true, "Exp": true, "Gather": true,
}

func liftable(g *onnxGraph, ops map[string]bool) bool {
	for _, n := range g.nodes {
		if !ops[n.op] {
			return false
		}
	}
	return true
}

func (m *onnxModel) setDefaultOpset(v int64) {
	for i := range m.opsets {
		if m.opsets[i].domain == "" || m.opsets[i].domain == "ai.onnx" {
			m.opsets[i].version = v
		}
	}
}

// liftSlices rewrites opset-1 Slice nodes (starts, ends and axes as
// attributes) into the opset-10 form (as inputs).
func liftSlices(g *onnxGraph) error {
	for i := range g.nodes {
		n := &g.nodes[i]
		if n.op != "Slice" || len(n.in) != 1 {
			continue
		}
		starts, ends, axes := n.attrs["starts"].ints, n.attrs["ends"].ints, n.attrs["axes"].ints
		if len(starts) == 0 || len(starts) != len(ends) {
			return fmt.Errorf("quantize: slice %q: starts %v, ends %v", n.name, starts, ends)
		}
		base := n.out[0] + "/slice_"
		add := func(name string, v []int64) string {
			g.inits = append(g.inits, onnxInit{name: base + name, t: &tensor{dtype: dtInt64, dims: []int64{int64(len(v))}, i64: v}})
			return base + name
		}
		n.in = append(n.in, add("starts", starts), add("ends", ends))
		if len(axes) > 0 {
			n.in = append(n.in, add("axes", axes))
		}
		var rest []rawField
		for _, f := range n.rest {
			a, err := readAttr(f.val)
			if f.num == 5 && err == nil && (a.name == "starts" || a.name == "ends" || a.name == "axes") {
				continue
			}
			rest = append(rest, f)
		}
		n.rest = rest
	}
	return nil
}

// quantOps are the operators whose weights are quantised, with the
// weight's output-channel axis.
var quantOps = map[string]int{"Conv": 0, "MatMul": 1, "Gemm": 0}

// prepareQuant turns Constant nodes into initializers and folds
// BatchNormalization into the Conv before it, and makes sure the model
// can hold per-channel QuantizeLinear/DequantizeLinear (opset 13 of the
// default domain: models of opset 12 are lifted, the operators they use
// being unchanged from 12 to 13; older ones keep their opset and use
// ONNX Runtime's com.microsoft Q/DQ operators).
func prepareQuant(m *onnxModel) error {
	g := &m.graph
	for _, n := range g.nodes {
		if n.dm != "" && n.dm != "ai.onnx" {
			return fmt.Errorf("quantize: node %q: domain %q is not supported", n.name, n.dm)
		}
	}
	// Constant -> initializer.
	kept := g.nodes[:0]
	for _, n := range g.nodes {
		if n.op != "Constant" || len(n.out) != 1 {
			kept = append(kept, n)
			continue
		}
		var tp []byte
		for _, f := range n.rest {
			if f.num != 5 {
				continue
			}
			_ = eachField(f.val, func(h rawField) error {
				if h.num == 5 && h.typ == protowire.BytesType {
					tp = h.val
				}
				return nil
			})
		}
		if tp == nil {
			kept = append(kept, n)
			continue
		}
		in, err := readInit(tp)
		if err != nil {
			return fmt.Errorf("quantize: constant %q: %w", n.out[0], err)
		}
		in.name = n.out[0]
		in.raw = appendNameToTensor(tp, n.out[0])
		g.inits = append(g.inits, in)
	}
	g.nodes = kept
	if err := foldBatchNorm(g); err != nil {
		return err
	}
	for foldAffine(g) {
	}
	poolNHWCMeans(g)
	// IR version >= 4 lets initializers be left out of the inputs.
	for i, f := range m.rest {
		if f.num == 1 && f.typ == protowire.VarintType {
			if v, _ := protowire.ConsumeVarint(f.val); v < 4 {
				m.rest[i].val = protowire.AppendVarint(nil, 4)
			}
		}
	}
	return nil
}

// appendNameToTensor returns a TensorProto's bytes with its name set.
func appendNameToTensor(tp []byte, name string) []byte {
	var b []byte
	_ = eachField(tp, func(f rawField) error {
		if f.num != 8 {
			b = appendRaw(b, f)
		}
		return nil
	})
	return appendString(b, 8, name)
}

// defaultOpset is the model's default-domain opset.
func (m *onnxModel) defaultOpset() int64 {
	for _, o := range m.opsets {
		if o.domain == "" || o.domain == "ai.onnx" {
			return o.version
		}
	}
	return 0
}

// graphIndex maps values to their producers and consumers.
type graphIndex struct {
	producer  map[string]int
	consumers map[string][]int
	inits     map[string]int
	outputs   map[string]bool
}

func indexGraph(g *onnxGraph) graphIndex {
	ix := graphIndex{producer: map[string]int{}, consumers: map[string][]int{}, inits: map[string]int{}, outputs: map[string]bool{}}
	for i, n := range g.nodes {
		for _, o := range n.out {
			ix.producer[o] = i
		}
		for _, in := range n.in {
			if in != "" {
				ix.consumers[in] = append(ix.consumers[in], i)
			}
		}
	}
	for i, in := range g.inits {
		ix.inits[in.name] = i
	}
	for _, o := range g.outputs {
		ix.outputs[o.name] = true
	}
	return ix
}

// constF32 returns the float initializer named v, or nil.
func (g *onnxGraph) constF32(ix graphIndex, v string) *tensor {
	i, ok := ix.inits[v]
	if !ok || g.inits[i].t == nil || g.inits[i].t.dtype != dtFloat {
		return nil
	}
	return g.inits[i].t
}

// foldBatchNorm folds Conv -> BatchNormalization (constant parameters,
// the Conv's output read by nothing else) into the Conv's weights and
// bias. The arithmetic is float64 rounded to float32 once per value.
func foldBatchNorm(g *onnxGraph) error {
	ix := indexGraph(g)
	drop := map[int]bool{}
	for bi, bn := range g.nodes {
		if bn.op != "BatchNormalization" || len(bn.in) != 5 || len(bn.out) != 1 {
			continue
		}
		ci, ok := ix.producer[bn.in[0]]
		if !ok || g.nodes[ci].op != "Conv" || len(ix.consumers[bn.in[0]]) != 1 || ix.outputs[bn.in[0]] {
			continue
		}
		conv := &g.nodes[ci]
		w := g.constF32(ix, conv.in[1])
		var params [4]*tensor
		okAll := w != nil && len(w.dims) >= 2
		for k := range params {
			params[k] = g.constF32(ix, bn.in[1+k])
			okAll = okAll && params[k] != nil && int64(len(params[k].f32)) == w.dims[0]
		}
		if !okAll || len(ix.consumers[conv.in[1]]) != 1 {
			continue
		}
		var b *tensor
		if len(conv.in) > 2 && conv.in[2] != "" {
			if b = g.constF32(ix, conv.in[2]); b == nil || len(ix.consumers[conv.in[2]]) != 1 {
				continue
			}
		}
		eps := 1e-5
		if a, ok := bn.attrs["epsilon"]; ok {
			eps = float64(a.f)
		}
		co := int(w.dims[0])
		per := len(w.f32) / co
		nw := make([]float32, len(w.f32))
		nb := make([]float32, co)
		for c := range co {
			scale, shift, mean, vr := float64(params[0].f32[c]), float64(params[1].f32[c]), float64(params[2].f32[c]), float64(params[3].f32[c])
			k := float64(scale / math.Sqrt(vr+eps))
			for j := range per {
				nw[c*per+j] = float32(float64(float64(w.f32[c*per+j]) * k))
			}
			bias := 0.0
			if b != nil {
				bias = float64(b.f32[c])
			}
			nb[c] = float32(float64(float64(bias-mean)*k) + shift)
		}
		g.setInit(ix, conv.in[1], &tensor{dtype: dtFloat, dims: w.dims, f32: nw})
		bname := conv.in[1] + "/folded_bias"
		if b != nil {
			g.setInit(ix, conv.in[2], &tensor{dtype: dtFloat, dims: []int64{int64(co)}, f32: nb})
		} else {
			g.inits = append(g.inits, onnxInit{name: bname, t: &tensor{dtype: dtFloat, dims: []int64{int64(co)}, f32: nb}})
			if len(conv.in) < 3 {
				conv.in = append(conv.in, bname)
			} else {
				conv.in[2] = bname
			}
		}
		conv.out = []string{bn.out[0]}
		drop[bi] = true
	}
	if len(drop) == 0 {
		return nil
	}
	kept := g.nodes[:0]
	for i, n := range g.nodes {
		if !drop[i] {
			kept = append(kept, n)
		}
	}
	g.nodes = kept
	return nil
}

// foldAffine folds one Conv -> Mul or Add by a constant that is a
// scalar or one value per output channel ([C,1,1] or [1,C,1,1]), the
// Conv's output read by nothing else, into the Conv's weights or bias.
// It reports whether it folded one.
func foldAffine(g *onnxGraph) bool {
	ix := indexGraph(g)
	for ni, n := range g.nodes {
		if (n.op != "Mul" && n.op != "Add") || len(n.in) != 2 || len(n.out) != 1 {
			continue
		}
		for side := range 2 {
			ci, ok := ix.producer[n.in[side]]
			if !ok || g.nodes[ci].op != "Conv" || len(ix.consumers[n.in[side]]) != 1 || ix.outputs[n.in[side]] {
				continue
			}
			conv := &g.nodes[ci]
			w := g.constF32(ix, conv.in[1])
			k := g.constF32(ix, n.in[1-side])
			if w == nil || k == nil || len(w.dims) < 3 || len(ix.consumers[conv.in[1]]) != 1 {
				continue
			}
			co := int(w.dims[0])
			per := perChannel(k, co)
			if per == nil {
				continue
			}
			var b *tensor
			if len(conv.in) > 2 && conv.in[2] != "" {
				if b = g.constF32(ix, conv.in[2]); b == nil || len(ix.consumers[conv.in[2]]) != 1 {
					continue
				}
			}
			nb := make([]float32, co)
			if b != nil {
				copy(nb, b.f32)
			}
			if n.op == "Mul" {
				nw := make([]float32, len(w.f32))
				sz := len(w.f32) / co
				for c := range co {
					for j := range sz {
						nw[c*sz+j] = w.f32[c*sz+j] * per[c]
					}
					nb[c] *= per[c]
				}
				g.setInit(ix, conv.in[1], &tensor{dtype: dtFloat, dims: w.dims, f32: nw})
			} else {
				for c := range co {
					nb[c] += per[c]
				}
			}
			bt := &tensor{dtype: dtFloat, dims: []int64{int64(co)}, f32: nb}
			if b != nil {
				g.setInit(ix, conv.in[2], bt)
			} else {
				bname := conv.in[1] + "/folded_bias"
				for _, in := range g.inits {
					if in.name == bname {
						bname += "_1"
					}
				}
				g.inits = append(g.inits, onnxInit{name: bname, t: bt})
				conv.in = append(conv.in[:2], bname)
			}
			conv.out = []string{n.out[0]}
			g.nodes = append(g.nodes[:ni], g.nodes[ni+1:]...)
			return true
		}
	}
	return false
}

// perChannel returns a constant's value per output channel when it is a
// scalar or shaped [C,1,1] or [1,C,1,1], else nil.
func perChannel(k *tensor, co int) []float32 {
	n := len(k.f32)
	out := make([]float32, co)
	switch {
	case n == 1:
		for c := range out {
			out[c] = k.f32[0]
		}
		return out
	case n == co && (slices.Equal(k.dims, []int64{int64(co), 1, 1}) || slices.Equal(k.dims, []int64{1, int64(co), 1, 1})):
		copy(out, k.f32)
		return out
	}
	return nil
}

// poolNHWCMeans replaces Transpose(x, NCHW->NHWC) -> ReduceMean over
// height and width (kept) -> Transpose back with GlobalAveragePool(x),
// which ONNX Runtime runs far faster (and in int8).
func poolNHWCMeans(g *onnxGraph) {
	ix := indexGraph(g)
	drop := map[int]bool{}
	for ri, r := range g.nodes {
		if r.op != "ReduceMean" || len(r.in) != 1 || !slices.Equal(r.attrs["axes"].ints, []int64{1, 2}) || r.attrs["keepdims"].kind != 0 && r.attrs["keepdims"].i != 1 {
			continue
		}
		cs := ix.consumers[r.out[0]]
		if len(cs) != 1 || ix.outputs[r.out[0]] {
			continue
		}
		back := &g.nodes[cs[0]]
		if back.op != "Transpose" || !slices.Equal(back.attrs["perm"].ints, []int64{0, 3, 1, 2}) {
			continue
		}
		src := ""
		if ti, ok := ix.producer[r.in[0]]; ok && g.nodes[ti].op == "Transpose" && slices.Equal(g.nodes[ti].attrs["perm"].ints, []int64{0, 2, 3, 1}) {
			src = g.nodes[ti].in[0]
		}
		if src == "" {
			// An NHWC value: transpose it (replacing the ReduceMean node).
			src = r.out[0] + "/nchw_in"
			g.nodes[ri] = onnxNode{op: "Transpose", name: src, in: r.in, out: []string{src}, attrs: map[string]attr{}, rest: newNodeAttrs(intsAttr("perm", 0, 3, 1, 2))}
		} else {
			drop[ri] = true
		}
		*back = onnxNode{op: "GlobalAveragePool", name: back.name, in: []string{src}, out: back.out, attrs: map[string]attr{}}
	}
	if len(drop) == 0 {
		return
	}
	kept := g.nodes[:0]
	for i, n := range g.nodes {
		if !drop[i] {
			kept = append(kept, n)
		}
	}
	g.nodes = kept
}

// setInit replaces initializer v's data.
func (g *onnxGraph) setInit(ix graphIndex, v string, t *tensor) {
	i := ix.inits[v]
	g.inits[i] = onnxInit{name: v, t: t}
}

// quantPlan lists the nodes to quantise and the activations that need
// ranges, in graph order.
type quantPlan struct {
	nodes   []int
	tensors []string
}

// planQuant picks the Conv, MatMul and Gemm nodes with a constant float
// weight, and the activations to quantise: their data inputs and outputs.
// An output read only by one Relu, or a Clip from 0, is quantised after
// it (ONNX Runtime then drops the activation, the quantised range
// saturating at 0).
func planQuant(m *onnxModel, opts QuantizeOptions) quantPlan {
	skip := opts.Skip
	g := &m.graph
	ix := indexGraph(g)
	var p quantPlan
	seen := map[string]bool{}
	add := func(t string) {
		if !seen[t] {
			seen[t] = true
			p.tensors = append(p.tensors, t)
		}
	}
	for i, n := range g.nodes {
		if _, ok := quantOps[n.op]; !ok || len(n.in) < 2 || len(n.out) != 1 {
			continue
		}
		if slices.Contains(skip, n.name) || slices.Contains(skip, n.out[0]) {
			continue
		}
		w := g.constF32(ix, n.in[1])
		if w == nil || g.constF32(ix, n.in[0]) != nil {
			continue
		}
		switch n.op {
		case "Conv":
			if len(w.dims) < 3 {
				continue
			}
			if g := n.attrs["group"].i; g > 1 && w.dims[1] == 1 && opts.FloatDepthwise {
				continue
			}
		case "MatMul":
			if len(w.dims) != 2 {
				continue
			}
		case "Gemm":
			if len(w.dims) != 2 || n.attrs["transA"].i != 0 || n.attrs["alpha"].kind != 0 && n.attrs["alpha"].f != 1 || n.attrs["beta"].kind != 0 && n.attrs["beta"].f != 1 {
				continue
			}
		}
		if len(n.in) > 2 && n.in[2] != "" {
			b := g.constF32(ix, n.in[2])
			if b == nil || len(b.dims) != 1 {
				continue
			}
		}
		p.nodes = append(p.nodes, i)
		add(n.in[0])
		add(quantOutput(g, ix, n.out[0]))
	}
	return p
}

// quantOutput is the tensor to quantise for an operator's output v: v,
// or the output of the one Relu (or Clip from 0) reading it.
func quantOutput(g *onnxGraph, ix graphIndex, v string) string {
	cs := ix.consumers[v]
	if len(cs) != 1 || ix.outputs[v] {
		return v
	}
	n := g.nodes[cs[0]]
	switch n.op {
	case "Relu":
		return n.out[0]
	case "Clip":
		lo := float32(math.Inf(-1))
		if a, ok := n.attrs["min"]; ok {
			lo = a.f
		}
		if len(n.in) > 1 && n.in[1] != "" {
			if t := g.constF32(ix, n.in[1]); t != nil && len(t.f32) == 1 {
				lo = t.f32[0]
			}
		}
		if lo == 0 {
			return n.out[0]
		}
	}
	return v
}

// qparams are a uint8 activation's scale and zero point.
type qparams struct {
	scale float32
	zero  uint8
}

// activationParams maps a calibrated range to uint8 parameters, the range
// stretched to include 0.
func activationParams(r Range) qparams {
	lo, hi := math.Min(0, float64(r[0])), math.Max(0, float64(r[1]))
	if hi-lo < 1e-8 {
		return qparams{scale: 1}
	}
	scale := float32((hi - lo) / 255)
	z := math.RoundToEven(-lo / float64(scale))
	return qparams{scale: scale, zero: uint8(max(0, min(255, z)))}
}

// applyQuant rewrites the planned nodes.
func applyQuant(m *onnxModel, p quantPlan, opts QuantizeOptions) error {
	g := &m.graph
	qdom := ""
	switch v := m.defaultOpset(); {
	case v >= 13:
	case v >= 11 && liftable(g, liftOps):
		m.setDefaultOpset(13)
	case v >= 9 && liftable(g, lift9Ops):
		// Opset 10 has QLinearConv, into which ONNX Runtime fuses the
		// groups; the per-channel weights use com.microsoft's
		// DequantizeLinear, which takes an axis at any opset.
		if err := liftSlices(g); err != nil {
			return err
		}
		m.setDefaultOpset(10)
		qdom = "com.microsoft"
		m.opsets = append(m.opsets, opsetID{domain: qdom, version: 1})
	default:
		return fmt.Errorf("quantize: opset %d with these operators is not supported", v)
	}
	ix := indexGraph(g)
	names := map[string]bool{}
	for _, n := range g.nodes {
		names[n.name] = true
		for _, o := range n.out {
			names[o] = true
		}
	}
	for _, in := range g.inits {
		names[in.name] = true
	}
	for _, in := range g.inputs {
		names[in.name] = true
	}
	unique := func(base string) string {
		if !names[base] {
			names[base] = true
			return base
		}
		for i := 1; ; i++ {
			n := fmt.Sprintf("%s_%d", base, i)
			if !names[n] {
				names[n] = true
				return n
			}
		}
	}
	newInit := func(name string, t *tensor) string {
		n := unique(name)
		g.inits = append(g.inits, onnxInit{name: n, t: t})
		return n
	}
	qnode := func(op, name string, in []string, out string, axis *int64) onnxNode {
		n := onnxNode{op: op, name: unique(name), in: in, out: []string{out}, dm: qdom}
		if axis != nil {
			n.rest = newNodeAttrs(intAttr("axis", *axis))
		}
		return n
	}
	// Activations: T -> QuantizeLinear -> DequantizeLinear -> T/dq, every
	// consumer of T reading T/dq (graph outputs keep T).
	params := map[string]qparams{}
	deq := map[string]string{}
	after := map[int][]onnxNode{} // new nodes to insert after node i (-1: at the start)
	for _, t := range p.tensors {
		qp := activationParams(opts.Ranges[t])
		params[t] = qp
		s := newInit(t+"/q_scale", &tensor{dtype: dtFloat, f32: []float32{qp.scale}})
		z := newInit(t+"/q_zero", &tensor{dtype: dtUint8, i64: []int64{int64(qp.zero)}})
		q, dq := unique(t+"/q"), unique(t+"/dq")
		at := -1
		if pi, ok := ix.producer[t]; ok {
			at = pi
		}
		after[at] = append(after[at],
			qnode("QuantizeLinear", t+"/QuantizeLinear", []string{t, s, z}, q, nil),
			qnode("DequantizeLinear", t+"/DequantizeLinear", []string{q, s, z}, dq, nil))
		deq[t] = dq
	}
	for i := range g.nodes {
		n := &g.nodes[i]
		for k, in := range n.in {
			if dq, ok := deq[in]; ok {
				n.in[k] = dq
			}
		}
	}
	// Weights and biases.
	qmax := 127.0
	if opts.ReduceRange {
		qmax = 64
	}
	replaced := map[string]bool{}
	for _, i := range p.nodes {
		n := &g.nodes[i]
		w := g.constF32(ix, n.in[1])
		axis := quantOps[n.op]
		if n.op == "Gemm" && n.attrs["transB"].i == 0 {
			axis = 1
		}
		xIn := n.in[0]
		// n.in[0] now reads the dequantised value; find its source.
		src := ""
		for t, dq := range deq {
			if dq == xIn {
				src = t
			}
		}
		if src == "" {
			return fmt.Errorf("quantize: node %q: input %q not quantised", n.name, xIn)
		}
		inScale := params[src].scale
		wq, ws := quantizeWeights(w, axis, qmax)
		var wAxis *int64
		if len(ws) > 1 {
			a := int64(axis)
			wAxis = &a
		}
		wName := newInit(n.in[1]+"/quantized", wq)
		wsName := newInit(n.in[1]+"/w_scale", &tensor{dtype: dtFloat, dims: scaleDims(ws), f32: ws})
		wzName := newInit(n.in[1]+"/w_zero", &tensor{dtype: dtInt8, dims: scaleDims(ws), i64: make([]int64, len(ws))})
		wdq := unique(n.in[1] + "/dq")
		newNodes := []onnxNode{qnode("DequantizeLinear", n.in[1]+"/DequantizeLinear", []string{wName, wsName, wzName}, wdq, wAxis)}
		replaced[n.in[1]] = true
		n.in[1] = wdq
		if len(n.in) > 2 && n.in[2] != "" {
			b := g.constF32(ix, n.in[2])
			bs := make([]float32, len(ws))
			bq := make([]int64, len(b.f32))
			for c := range b.f32 {
				sc := ws[0]
				if len(ws) > 1 {
					sc = ws[c]
				}
				bs[min(c, len(bs)-1)] = float32(float64(inScale) * float64(sc))
				q := math.RoundToEven(float64(b.f32[c]) / (float64(inScale) * float64(sc)))
				bq[c] = int64(max(math.MinInt32, min(math.MaxInt32, q)))
			}
			bName := newInit(n.in[2]+"/quantized", &tensor{dtype: dtInt32, dims: b.dims, i64: bq})
			bsName := newInit(n.in[2]+"/b_scale", &tensor{dtype: dtFloat, dims: scaleDims(bs), f32: bs})
			bzName := newInit(n.in[2]+"/b_zero", &tensor{dtype: dtInt32, dims: scaleDims(bs), i64: make([]int64, len(bs))})
			bdq := unique(n.in[2] + "/dq")
			var bAxis *int64
			if len(bs) > 1 {
				a := int64(0)
				bAxis = &a
			}
			newNodes = append(newNodes, qnode("DequantizeLinear", n.in[2]+"/DequantizeLinear", []string{bName, bsName, bzName}, bdq, bAxis))
			replaced[n.in[2]] = true
			n.in[2] = bdq
		}
		after[-1] = append(after[-1], newNodes...)
	}
	// Drop the float weights no longer read.
	ix2 := indexGraph(g)
	keptInits := g.inits[:0]
	for _, in := range g.inits {
		if replaced[in.name] && len(ix2.consumers[in.name]) == 0 {
			continue
		}
		keptInits = append(keptInits, in)
	}
	g.inits = keptInits
	// Insert the new nodes, keeping the graph topologically sorted.
	nodes := append([]onnxNode(nil), after[-1]...)
	for i, n := range g.nodes {
		nodes = append(nodes, n)
		nodes = append(nodes, after[i]...)
	}
	g.nodes = nodes
	return nil
}

func scaleDims(s []float32) []int64 {
	if len(s) == 1 {
		return nil
	}
	return []int64{int64(len(s))}
}

// quantizeWeights quantises w symmetrically to int8 in [-qmax, qmax], one
// scale per index of axis (axis 0 for Conv filters, 1 for MatMul's [K,N]).
func quantizeWeights(w *tensor, axis int, qmax float64) (*tensor, []float32) {
	dims := w.dims
	ch := int(dims[axis])
	inner := 1
	for _, d := range dims[axis+1:] {
		inner *= int(d)
	}
	outer := len(w.f32) / (ch * inner)
	maxAbs := make([]float64, ch)
	for o := range outer {
		for c := range ch {
			base := (o*ch + c) * inner
			for j := range inner {
				maxAbs[c] = math.Max(maxAbs[c], math.Abs(float64(w.f32[base+j])))
			}
		}
	}
	scales := make([]float32, ch)
	for c := range ch {
		if maxAbs[c] == 0 {
			scales[c] = 1
			continue
		}
		scales[c] = float32(maxAbs[c] / qmax)
	}
	q := make([]int64, len(w.f32))
	for o := range outer {
		for c := range ch {
			base := (o*ch + c) * inner
			for j := range inner {
				v := math.RoundToEven(float64(w.f32[base+j]) / float64(scales[c]))
				q[base+j] = int64(max(-qmax, min(qmax, v)))
			}
		}
	}
	return &tensor{dtype: dtInt8, dims: dims, i64: q}, scales
}

// QuantizedTensors lists the activations a quantised model (Quantize's
// output) holds in 8 bits, sorted: for tests and reports.
func QuantizedTensors(model []byte) ([]string, error) {
	m, err := readONNX(model)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, n := range m.graph.nodes {
		if n.op == "QuantizeLinear" {
			out = append(out, n.in[0])
		}
	}
	sort.Strings(out)
	if len(out) == 0 {
		return nil, errors.New("no QuantizeLinear nodes")
	}
	return out, nil
}

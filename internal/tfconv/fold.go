package tfconv

import "fmt"

// maxFoldElements bounds tensors computed at conversion time.
const maxFoldElements = 1 << 24

// foldable ops are computed at conversion time when all their inputs are
// constants (TF graphs keep small shape computations such as
// SparseToDense + AddV2 feeding a Reshape).
var foldable = map[string]bool{
	"SparseToDense": true, "Identity": true,
	"Add": true, "AddV2": true, "Sub": true, "Mul": true,
}

// fold computes n if all its data inputs are constants; ok is false when
// it cannot (the node is then converted to ONNX as usual).
func (c *graphConv) fold(n *tfNode) (t *tensor, ok bool, err error) {
	if !foldable[n.Op] {
		return nil, false, nil
	}
	var in []*tensor
	for _, ref := range n.dataInputs() {
		t, err := c.constant(ref)
		if err != nil {
			return nil, false, nil
		}
		in = append(in, t)
	}
	if len(in) == 0 {
		return nil, false, nil
	}
	switch n.Op {
	case "Identity":
		return in[0], true, nil
	case "SparseToDense":
		t, err := sparseToDense(in)
		return t, err == nil, err
	}
	if len(in) != 2 || in[0].dtype == dtFloat || in[1].dtype == dtFloat {
		return nil, false, nil // float arithmetic stays in the graph
	}
	a, b := in[0], in[1]
	if a.size() != b.size() && a.size() != 1 && b.size() != 1 {
		return nil, false, nil
	}
	out := a
	if a.size() == 1 && b.size() != 1 {
		out = b
	}
	r := &tensor{dtype: a.dtype, dims: append([]int64(nil), out.dims...), i64: make([]int64, out.size())}
	av, bv := a.ints(), b.ints()
	for i := range r.i64 {
		x, y := av[min(i, len(av)-1)], bv[min(i, len(bv)-1)]
		switch n.Op {
		case "Add", "AddV2":
			r.i64[i] = x + y
		case "Sub":
			r.i64[i] = x - y
		case "Mul":
			r.i64[i] = x * y
		}
	}
	return r, true, nil
}

// sparseToDense evaluates TF's SparseToDense(indices, output_shape,
// values, default_value).
func sparseToDense(in []*tensor) (*tensor, error) {
	if len(in) != 4 {
		return nil, fmt.Errorf("needs 4 inputs")
	}
	idx, shape, vals, def := in[0], in[1].ints(), in[2], in[3]
	if def.size() != 1 {
		return nil, fmt.Errorf("default value must be a scalar")
	}
	total := int64(1)
	for _, d := range shape {
		if d < 0 || d > maxFoldElements {
			return nil, fmt.Errorf("bad output shape %v", shape)
		}
		total *= d
		if total > maxFoldElements {
			return nil, fmt.Errorf("output shape %v too large", shape)
		}
	}
	out := &tensor{dtype: vals.dtype, dims: append([]int64(nil), shape...)}
	if out.dtype == dtFloat {
		out.f32 = make([]float32, total)
		for i := range out.f32 {
			out.f32[i] = def.f32[0]
		}
	} else {
		out.i64 = make([]int64, total)
		for i := range out.i64 {
			out.i64[i] = def.ints()[0]
		}
	}
	rank := int64(len(shape))
	var n int64
	switch len(idx.dims) {
	case 0:
		n = 1
	case 1:
		n = idx.dims[0]
		if rank != 1 {
			if n != 0 {
				return nil, fmt.Errorf("1-D indices for rank %d output", rank)
			}
		}
	case 2:
		n = idx.dims[0]
		if idx.dims[1] != rank {
			return nil, fmt.Errorf("indices %v for rank %d output", idx.dims, rank)
		}
	default:
		return nil, fmt.Errorf("indices must be at most 2-D")
	}
	iv := idx.ints()
	for k := int64(0); k < n; k++ {
		off := int64(0)
		for d := int64(0); d < rank; d++ {
			v := iv[k*rank+d]
			if v < 0 || v >= shape[d] {
				return nil, fmt.Errorf("index %d out of range", v)
			}
			off = off*shape[d] + v
		}
		j := min(k, vals.size()-1)
		if j < 0 {
			return nil, fmt.Errorf("no values")
		}
		if out.dtype == dtFloat {
			out.f32[off] = vals.f32[j]
		} else {
			out.i64[off] = vals.ints()[j]
		}
	}
	return out, nil
}

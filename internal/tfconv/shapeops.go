package tfconv

import (
	"fmt"
	"math"
)

func (c *graphConv) floorDivMod(n *tfNode) error {
	b := c.b
	x, err := c.in(n, 0)
	if err != nil {
		return err
	}
	y, err := c.in(n, 1)
	if err != nil {
		return err
	}
	dt, err := n.dtype("T")
	if err != nil {
		return err
	}
	if dt != dtFloat {
		if n.Op == "FloorMod" {
			// ONNX Mod with fmod=0 takes the divisor's sign: TF's FloorMod.
			c.set(n, b.op("Mod", n.Name, []string{x, y}, intAttr("fmod", 0)), dt)
			return nil
		}
		// Integer Div truncates; floor(x/y) = (x - Mod(x,y)) / y exactly.
		m := b.op("Mod", n.Name+"/mod", []string{x, y}, intAttr("fmod", 0))
		d := b.op("Sub", n.Name+"/sub", []string{x, m})
		c.set(n, b.op("Div", n.Name, []string{d, y}), dt)
		return nil
	}
	q := b.op("Div", n.Name+"/div", []string{x, y})
	if n.Op == "FloorDiv" {
		c.set(n, b.op("Floor", n.Name, []string{q}), dt)
		return nil
	}
	f := b.op("Floor", n.Name+"/floor", []string{q})
	p := b.op("Mul", n.Name+"/mul", []string{f, y})
	c.set(n, b.op("Sub", n.Name, []string{x, p}), dt)
	return nil
}

func (c *graphConv) pool(n *tfNode) error {
	if err := checkNHWC(n); err != nil {
		return err
	}
	x, err := c.in(n, 0)
	if err != nil {
		return err
	}
	k, err := hw(n, "ksize")
	if err != nil {
		return err
	}
	s, err := hw(n, "strides")
	if err != nil {
		return err
	}
	autoPad, pads, err := padding(n)
	if err != nil {
		return err
	}
	op := "MaxPool"
	if n.Op == "AvgPool" {
		op = "AveragePool"
	}
	c.set(n, poolOp(c.b, op, n.Name, x, k, s, autoPad, pads), dtFloat)
	return nil
}

// poolOp emits a pooling op on an NHWC value and returns NHWC.
func poolOp(b *builder, op, name, x string, k, s []int64, autoPad string, pads []int64) string {
	attrs := []attr{intsAttr("kernel_shape", k...), intsAttr("strides", s...)}
	if autoPad != "" {
		attrs = append(attrs, stringAttr("auto_pad", autoPad))
	} else {
		attrs = append(attrs, intsAttr("pads", pads...))
	}
	y := b.op(op, name+"/pool", []string{b.toNCHW(x)}, attrs...)
	return b.toNHWC(y)
}

func (c *graphConv) reduce(n *tfNode) error {
	x, err := c.in(n, 0)
	if err != nil {
		return err
	}
	axes, err := c.constIn(n, 1)
	if err != nil {
		return err
	}
	keep := int64(0)
	if n.bool("keep_dims") {
		keep = 1
	}
	dt := c.dtypeOf(x)
	if n.Op == "Sum" {
		a := c.b.constI64(n.Name+"/axes", axes.ints()...)
		c.set(n, c.b.op("ReduceSum", n.Name, []string{x, a}, intAttr("keepdims", keep)), dt)
		return nil
	}
	op := map[string]string{"Mean": "ReduceMean", "Max": "ReduceMax", "Min": "ReduceMin", "Prod": "ReduceProd"}[n.Op]
	c.set(n, c.b.op(op, n.Name, []string{x}, intsAttr("axes", axes.ints()...), intAttr("keepdims", keep)), dt)
	return nil
}

func (c *graphConv) concat(n *tfNode) error {
	ins := n.dataInputs()
	if len(ins) < 2 {
		return fmt.Errorf("needs at least 2 inputs")
	}
	axisRef, vals := ins[len(ins)-1], ins[:len(ins)-1]
	if n.Op == "Concat" {
		axisRef, vals = ins[0], ins[1:]
	}
	at, err := c.constant(axisRef)
	if err != nil {
		return err
	}
	if at.size() != 1 {
		return fmt.Errorf("axis must be a scalar")
	}
	var xs []string
	for _, r := range vals {
		v, err := c.value(r)
		if err != nil {
			return err
		}
		xs = append(xs, v)
	}
	dt := c.dtypeOf(xs[0])
	c.set(n, c.b.op("Concat", n.Name, xs, intAttr("axis", at.ints()[0])), dt)
	return nil
}

func (c *graphConv) pack(n *tfNode) error {
	axis, err := n.int("axis", 0)
	if err != nil {
		return err
	}
	ax := c.b.constI64(n.Name+"/axes", axis)
	var xs []string
	for i, r := range n.dataInputs() {
		v, err := c.value(r)
		if err != nil {
			return err
		}
		xs = append(xs, c.b.op("Unsqueeze", fmt.Sprintf("%s/u%d", n.Name, i), []string{v, ax}))
	}
	if len(xs) == 0 {
		return fmt.Errorf("no inputs")
	}
	c.set(n, c.b.op("Concat", n.Name, xs, intAttr("axis", axis)), c.dtypeOf(c.vals[refNode(n.dataInputs()[0])]))
	return nil
}

func (c *graphConv) pad(n *tfNode) error {
	x, err := c.in(n, 0)
	if err != nil {
		return err
	}
	p, err := c.constIn(n, 1)
	if err != nil {
		return err
	}
	pads, err := onnxPads(p)
	if err != nil {
		return err
	}
	in := []string{x, c.b.constI64(n.Name+"/pads", pads...)}
	mode := "constant"
	switch n.Op {
	case "PadV2":
		v, err := c.in(n, 2)
		if err != nil {
			return err
		}
		in = append(in, v)
	case "MirrorPad":
		m, err := n.str("mode", "")
		if err != nil {
			return err
		}
		if m != "REFLECT" {
			return fmt.Errorf("mirror pad mode %q: %w", m, ErrUnsupported)
		}
		mode = "reflect"
	}
	c.set(n, c.b.op("Pad", n.Name, in, stringAttr("mode", mode)), c.dtypeOf(x))
	return nil
}

// onnxPads turns TF paddings [[before, after], ...] into ONNX
// [before..., after...].
func onnxPads(p *tensor) ([]int64, error) {
	v := p.ints()
	if len(p.dims) != 2 || p.dims[1] != 2 {
		return nil, fmt.Errorf("paddings must be [rank, 2], got %v", p.dims)
	}
	r := int(p.dims[0])
	out := make([]int64, 2*r)
	for i := 0; i < r; i++ {
		out[i], out[r+i] = v[2*i], v[2*i+1]
	}
	return out, nil
}

func (c *graphConv) resize(n *tfNode) error {
	x, err := c.in(n, 0)
	if err != nil {
		return err
	}
	size, err := c.constIn(n, 1)
	if err != nil {
		return err
	}
	if size.size() != 2 {
		return fmt.Errorf("size must have 2 values")
	}
	align, half := n.bool("align_corners"), n.bool("half_pixel_centers")
	sz := size.ints()
	c.set(n, resizeOp(c.b, n.Name, x, sz[0], sz[1], n.Op == "ResizeBilinear", align, half), dtFloat)
	return nil
}

// resizeOp resizes an NHWC value's H and W like TF's resize ops.
func resizeOp(b *builder, name, x string, h, w int64, bilinear, align, half bool) string {
	xc := b.toNCHW(x)
	shape := b.op("Shape", name+"/shape", []string{xc})
	nc := b.op("Slice", name+"/nc", []string{shape, b.constI64(name+"/s0", 0), b.constI64(name+"/s1", 2)})
	sizes := b.op("Concat", name+"/sizes", []string{nc, b.constI64(name+"/hw", h, w)}, intAttr("axis", 0))
	attrs := []attr{}
	ctm := "asymmetric"
	if bilinear {
		attrs = append(attrs, stringAttr("mode", "linear"))
		if align {
			ctm = "align_corners"
		} else if half {
			ctm = "half_pixel"
		}
	} else {
		attrs = append(attrs, stringAttr("mode", "nearest"))
		nm := "floor"
		if align {
			ctm, nm = "align_corners", "round_prefer_ceil"
		} else if half {
			ctm = "tf_half_pixel_for_nn"
		}
		attrs = append(attrs, stringAttr("nearest_mode", nm))
	}
	attrs = append(attrs, stringAttr("coordinate_transformation_mode", ctm))
	y := b.op("Resize", name+"/resize", []string{xc, "", "", sizes}, attrs...)
	return b.toNHWC(y)
}

func (c *graphConv) reshape(n *tfNode) error {
	x, err := c.in(n, 0)
	if err != nil {
		return err
	}
	var shape string
	if t, err := c.constIn(n, 1); err == nil {
		shape = c.b.constI64(n.Name+"/shape", t.ints()...)
	} else {
		s, err := c.in(n, 1)
		if err != nil {
			return err
		}
		shape = c.b.op("Cast", n.Name+"/shape", []string{s}, intAttr("to", int64(dtInt64)))
	}
	c.set(n, c.b.op("Reshape", n.Name, []string{x, shape}), c.dtypeOf(x))
	return nil
}

func (c *graphConv) squeeze(n *tfNode) error {
	x, err := c.in(n, 0)
	if err != nil {
		return err
	}
	dims, err := n.ints("squeeze_dims")
	if err != nil {
		return err
	}
	in := []string{x}
	if len(dims) > 0 {
		in = append(in, c.b.constI64(n.Name+"/axes", dims...))
	}
	c.set(n, c.b.op("Squeeze", n.Name, in), c.dtypeOf(x))
	return nil
}

func (c *graphConv) expandDims(n *tfNode) error {
	x, err := c.in(n, 0)
	if err != nil {
		return err
	}
	d, err := c.constIn(n, 1)
	if err != nil {
		return err
	}
	if d.size() != 1 {
		return fmt.Errorf("dim must be a scalar")
	}
	ax := c.b.constI64(n.Name+"/axes", d.ints()[0])
	c.set(n, c.b.op("Unsqueeze", n.Name, []string{x, ax}), c.dtypeOf(x))
	return nil
}

func (c *graphConv) transpose(n *tfNode) error {
	x, err := c.in(n, 0)
	if err != nil {
		return err
	}
	p, err := c.constIn(n, 1)
	if err != nil {
		return err
	}
	c.set(n, c.b.op("Transpose", n.Name, []string{x}, intsAttr("perm", p.ints()...)), c.dtypeOf(x))
	return nil
}

func (c *graphConv) stridedSlice(n *tfNode) error {
	x, err := c.in(n, 0)
	if err != nil {
		return err
	}
	var bes [3][]int64
	for i := range bes {
		t, err := c.constIn(n, i+1)
		if err != nil {
			return err
		}
		bes[i] = t.ints()
	}
	begin, end, strides := bes[0], bes[1], bes[2]
	if len(end) != len(begin) || len(strides) != len(begin) {
		return fmt.Errorf("begin, end and strides differ in length")
	}
	var masks [5]int64
	for i, k := range []string{"begin_mask", "end_mask", "ellipsis_mask", "new_axis_mask", "shrink_axis_mask"} {
		if masks[i], err = n.int(k, 0); err != nil {
			return err
		}
	}
	if masks[2] != 0 || masks[3] != 0 {
		return fmt.Errorf("ellipsis or new axis mask: %w", ErrUnsupported)
	}
	var starts, ends, axes, steps, shrink []int64
	for i := range begin {
		bit := int64(1) << i
		st, bg, en := strides[i], begin[i], end[i]
		if st == 0 {
			return fmt.Errorf("stride 0")
		}
		if masks[4]&bit != 0 {
			st, en = 1, bg+1
			if bg == -1 {
				en = math.MaxInt64
			}
			shrink = append(shrink, int64(i))
		} else {
			if masks[0]&bit != 0 {
				bg = 0
				if st < 0 {
					bg = math.MaxInt64
				}
			}
			if masks[1]&bit != 0 {
				en = math.MaxInt64
				if st < 0 {
					en = math.MinInt64
				}
			}
		}
		if bg == 0 && en == math.MaxInt64 && st == 1 {
			continue // whole axis
		}
		starts, ends, axes, steps = append(starts, bg), append(ends, en), append(axes, int64(i)), append(steps, st)
	}
	b := c.b
	y := x
	if len(axes) > 0 {
		y = b.op("Slice", n.Name+"/slice", []string{x,
			b.constI64(n.Name+"/starts", starts...), b.constI64(n.Name+"/ends", ends...),
			b.constI64(n.Name+"/axes", axes...), b.constI64(n.Name+"/steps", steps...)})
	}
	if len(shrink) > 0 {
		y = b.op("Squeeze", n.Name, []string{y, b.constI64(n.Name+"/squeeze", shrink...)})
	} else if y == x {
		y = b.op("Identity", n.Name, []string{x})
	}
	c.set(n, y, c.dtypeOf(x))
	return nil
}

func (c *graphConv) slice(n *tfNode) error {
	x, err := c.in(n, 0)
	if err != nil {
		return err
	}
	bt, err := c.constIn(n, 1)
	if err != nil {
		return err
	}
	st, err := c.constIn(n, 2)
	if err != nil {
		return err
	}
	begin, size := bt.ints(), st.ints()
	if len(begin) != len(size) {
		return fmt.Errorf("begin and size differ in length")
	}
	ends := make([]int64, len(begin))
	axes := make([]int64, len(begin))
	for i := range begin {
		axes[i] = int64(i)
		ends[i] = begin[i] + size[i]
		if size[i] < 0 {
			ends[i] = math.MaxInt64
		}
	}
	b := c.b
	c.set(n, b.op("Slice", n.Name, []string{x, b.constI64(n.Name+"/starts", begin...),
		b.constI64(n.Name+"/ends", ends...), b.constI64(n.Name+"/axes", axes...)}), c.dtypeOf(x))
	return nil
}

func (c *graphConv) gather(n *tfNode) error {
	x, err := c.in(n, 0)
	if err != nil {
		return err
	}
	idx, err := c.in(n, 1)
	if err != nil {
		return err
	}
	at, err := c.constIn(n, 2)
	if err != nil {
		return err
	}
	if bd, _ := n.int("batch_dims", 0); bd != 0 || at.size() != 1 {
		return fmt.Errorf("batch_dims or non-scalar axis: %w", ErrUnsupported)
	}
	c.set(n, c.b.op("Gather", n.Name, []string{x, idx}, intAttr("axis", at.ints()[0])), c.dtypeOf(x))
	return nil
}

func (c *graphConv) topK(n *tfNode) error {
	x, err := c.in(n, 0)
	if err != nil {
		return err
	}
	k, err := c.constIn(n, 1)
	if err != nil {
		return err
	}
	if k.size() != 1 {
		return fmt.Errorf("k must be a scalar")
	}
	b := c.b
	out := b.opN("TopK", n.Name, 2, []string{x, b.constI64(n.Name+"/k", k.ints()[0])},
		intAttr("axis", -1), intAttr("largest", 1), intAttr("sorted", 1))
	c.set(n, out[0], c.dtypeOf(x))
	idx := b.op("Cast", n.Name+"/indices", []string{out[1]}, intAttr("to", int64(dtInt32)))
	c.vals[n.Name+":1"] = idx
	c.dtypes[idx] = dtInt32
	return nil
}

// split converts Split(axis, x) and SplitV(x, size_splits, axis).
func (c *graphConv) split(n *tfNode) error {
	num, err := n.int("num_split", 0)
	if err != nil {
		return err
	}
	if num <= 0 || num > 1<<16 {
		return fmt.Errorf("num_split %d", num)
	}
	xi, ai := 0, 2
	if n.Op == "Split" {
		xi, ai = 1, 0
	}
	x, err := c.in(n, xi)
	if err != nil {
		return err
	}
	at, err := c.constIn(n, ai)
	if err != nil {
		return err
	}
	if at.size() != 1 {
		return fmt.Errorf("split_dim must be a scalar")
	}
	in := []string{x}
	if n.Op == "SplitV" {
		sz, err := c.constIn(n, 1)
		if err != nil {
			return err
		}
		sizes := sz.ints()
		if int64(len(sizes)) != num {
			return fmt.Errorf("%d split sizes for %d outputs", len(sizes), num)
		}
		for _, s := range sizes {
			if s < 0 {
				return fmt.Errorf("split size -1: %w", ErrUnsupported)
			}
		}
		in = append(in, c.b.constI64(n.Name+"/split", sizes...))
	}
	outs := c.b.opN("Split", n.Name, int(num), in, intAttr("axis", at.ints()[0]))
	dt := c.dtypeOf(x)
	for i, o := range outs {
		key := n.Name
		if i > 0 {
			key = fmt.Sprintf("%s:%d", n.Name, i)
		}
		c.vals[key] = o
		if dt != dtFloat {
			c.dtypes[o] = dt
		}
	}
	return nil
}

// unpack converts Unpack (unstack) to Split + Squeeze per output.
func (c *graphConv) unpack(n *tfNode) error {
	x, err := c.in(n, 0)
	if err != nil {
		return err
	}
	num, err := n.int("num", 0)
	if err != nil {
		return err
	}
	if num <= 0 || num > 1<<16 {
		return fmt.Errorf("num %d", num)
	}
	axis, err := n.int("axis", 0)
	if err != nil {
		return err
	}
	b := c.b
	parts := []string{x}
	if num > 1 {
		parts = b.opN("Split", n.Name+"/split", int(num), []string{x}, intAttr("axis", axis))
	}
	ax := b.constI64(n.Name+"/axes", axis)
	dt := c.dtypeOf(x)
	for i, p := range parts {
		key := n.Name
		if i > 0 {
			key = fmt.Sprintf("%s:%d", n.Name, i)
		}
		o := b.op("Squeeze", key, []string{p, ax})
		c.vals[key] = o
		if dt != dtFloat {
			c.dtypes[o] = dt
		}
	}
	return nil
}

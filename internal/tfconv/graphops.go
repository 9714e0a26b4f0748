package tfconv

import (
	"fmt"
	"math"
)

// convSpec is a 2-D convolution in ONNX terms (weights OIHW).
type convSpec struct {
	w       *tensor
	bias    []float32
	group   int64
	strides []int64 // [h, w]
	dil     []int64
	autoPad string  // "SAME_UPPER" or ""
	pads    []int64 // [top, left, bottom, right] when autoPad == ""
}

// convWeights converts a TF filter to ONNX OIHW: HWIO for a normal
// convolution, [H, W, C, multiplier] for a depthwise one.
func convWeights(f *tensor, depthwise bool) (*tensor, int64, error) {
	if f.dtype != dtFloat || len(f.dims) != 4 {
		return nil, 0, fmt.Errorf("filter must be 4-D float32, got %v", f.dims)
	}
	kh, kw, ci, co := f.dims[0], f.dims[1], f.dims[2], f.dims[3]
	w := make([]float32, len(f.f32))
	if depthwise {
		m := co
		for y := int64(0); y < kh; y++ {
			for x := int64(0); x < kw; x++ {
				for ch := int64(0); ch < ci; ch++ {
					for j := int64(0); j < m; j++ {
						o := ch*m + j
						w[(o*kh+y)*kw+x] = f.f32[((y*kw+x)*ci+ch)*m+j]
					}
				}
			}
		}
		return &tensor{dtype: dtFloat, dims: []int64{ci * m, 1, kh, kw}, f32: w}, ci, nil
	}
	for y := int64(0); y < kh; y++ {
		for x := int64(0); x < kw; x++ {
			for ch := int64(0); ch < ci; ch++ {
				for o := int64(0); o < co; o++ {
					w[((o*ci+ch)*kh+y)*kw+x] = f.f32[((y*kw+x)*ci+ch)*co+o]
				}
			}
		}
	}
	return &tensor{dtype: dtFloat, dims: []int64{co, ci, kh, kw}, f32: w}, 1, nil
}

// foldBatchNorm scales the conv's output channels: w' = w*s, b' = (b-mean)*s + offset
// with s = gamma/sqrt(var+eps).
func (s *convSpec) foldBatchNorm(gamma, beta, mean, variance []float32, eps float32) error {
	oc := int(s.w.dims[0])
	for _, v := range [][]float32{mean, variance} {
		if len(v) != oc {
			return fmt.Errorf("batch norm has %d channels, conv %d", len(v), oc)
		}
	}
	if (gamma != nil && len(gamma) != oc) || (beta != nil && len(beta) != oc) {
		return fmt.Errorf("batch norm scale/offset size mismatch (conv %d channels)", oc)
	}
	if s.bias == nil {
		s.bias = make([]float32, oc)
	}
	per := len(s.w.f32) / oc
	w := append([]float32(nil), s.w.f32...)
	for o := 0; o < oc; o++ {
		g := float32(1)
		if gamma != nil {
			g = gamma[o]
		}
		k := g / float32(math.Sqrt(float64(variance[o]+eps)))
		for i := o * per; i < (o+1)*per; i++ {
			w[i] *= k
		}
		off := float32(0)
		if beta != nil {
			off = beta[o]
		}
		s.bias[o] = float32((s.bias[o]-mean[o])*k) + off // explicit rounding: no FMA
	}
	s.w = &tensor{dtype: dtFloat, dims: s.w.dims, f32: w}
	return nil
}

func (s *convSpec) check() error {
	if s.autoPad != "" && (s.dil[0] > 1 || s.dil[1] > 1) && (s.strides[0] > 1 || s.strides[1] > 1) {
		return fmt.Errorf("SAME padding with both dilation and stride: %w", ErrUnsupported)
	}
	return nil
}

// emit adds the Conv on an NHWC input and returns its NCHW output.
func (s *convSpec) emit(b *builder, name, x string) string {
	if s.autoPad == "SAME_UPPER" && s.strides[0] == 1 && s.strides[1] == 1 {
		// With stride 1, SAME padding does not depend on the input size;
		// explicit pads also work with dilation, which ONNX Runtime
		// refuses to combine with auto_pad.
		s.pads = make([]int64, 4)
		for i := 0; i < 2; i++ {
			total := (s.w.dims[2+i] - 1) * s.dil[i]
			s.pads[i], s.pads[2+i] = total/2, total-total/2
		}
		s.autoPad = ""
	}
	in := []string{b.toNCHW(x), b.constant(name+"/W", s.w)}
	if s.bias != nil {
		in = append(in, b.constant(name+"/B", &tensor{dtype: dtFloat, dims: []int64{int64(len(s.bias))}, f32: s.bias}))
	}
	attrs := []attr{
		intsAttr("kernel_shape", s.w.dims[2], s.w.dims[3]),
		intsAttr("strides", s.strides...),
		intsAttr("dilations", s.dil...),
		intAttr("group", s.group),
	}
	if s.autoPad != "" {
		attrs = append(attrs, stringAttr("auto_pad", s.autoPad))
	} else {
		attrs = append(attrs, intsAttr("pads", s.pads...))
	}
	return b.op("Conv", name, in, attrs...)
}

// padding translates TF padding attributes to ONNX.
func padding(n *tfNode) (autoPad string, pads []int64, err error) {
	p, err := n.str("padding", "VALID")
	if err != nil {
		return "", nil, err
	}
	switch p {
	case "SAME":
		return "SAME_UPPER", nil, nil
	case "VALID":
		return "", []int64{0, 0, 0, 0}, nil
	case "EXPLICIT":
		e, err := n.ints("explicit_paddings")
		if err != nil {
			return "", nil, err
		}
		if len(e) != 8 {
			return "", nil, fmt.Errorf("explicit_paddings has %d values, want 8", len(e))
		}
		return "", []int64{e[2], e[4], e[3], e[5]}, nil
	}
	return "", nil, fmt.Errorf("padding %q: %w", p, ErrUnsupported)
}

// hw returns the H and W entries of an NHWC attribute list such as strides.
func hw(n *tfNode, key string) ([]int64, error) {
	v, err := n.ints(key)
	if err != nil {
		return nil, err
	}
	switch len(v) {
	case 0:
		return []int64{1, 1}, nil
	case 4:
		if v[1] <= 0 || v[2] <= 0 {
			return nil, fmt.Errorf("attr %s: bad value %v", key, v)
		}
		return []int64{v[1], v[2]}, nil
	}
	return nil, fmt.Errorf("attr %s: want 4 values, got %v", key, v)
}

func checkNHWC(n *tfNode) error {
	if f, err := n.str("data_format", "NHWC"); err != nil || f != "NHWC" {
		return fmt.Errorf("data_format %q: %w", f, ErrUnsupported)
	}
	return nil
}

func (c *graphConv) conv(n *tfNode, depthwise bool) error {
	if err := checkNHWC(n); err != nil {
		return err
	}
	x, err := c.in(n, 0)
	if err != nil {
		return err
	}
	f, err := c.constIn(n, 1)
	if err != nil {
		return err
	}
	var s convSpec
	if s.w, s.group, err = convWeights(f, depthwise); err != nil {
		return err
	}
	if s.strides, err = hw(n, "strides"); err != nil {
		return err
	}
	if s.dil, err = hw(n, "dilations"); err != nil {
		return err
	}
	if s.autoPad, s.pads, err = padding(n); err != nil {
		return err
	}
	if err := s.check(); err != nil {
		return err
	}
	fused, err := n.strs("fused_ops")
	if err != nil {
		return err
	}
	arg := 2 // next extra input
	if len(fused) > 0 {
		switch fused[0] {
		case "BiasAdd":
			bias, err := c.constIn(n, arg)
			if err != nil {
				return err
			}
			if bias.dtype != dtFloat || int64(len(bias.f32)) != s.w.dims[0] {
				return fmt.Errorf("bias has %d values, want %d", len(bias.f32), s.w.dims[0])
			}
			s.bias = append([]float32(nil), bias.f32...)
			arg++
			fused = fused[1:]
		case "FusedBatchNorm":
			var p [4][]float32
			for i := range p {
				t, err := c.constIn(n, arg+i)
				if err != nil {
					return err
				}
				p[i] = t.f32
			}
			eps, err := n.float("epsilon", 1e-3)
			if err != nil {
				return err
			}
			if err := s.foldBatchNorm(p[0], p[1], p[2], p[3], eps); err != nil {
				return err
			}
			arg += 4
			fused = fused[1:]
		}
	}
	y := s.emit(c.b, n.Name+"/conv", x)
	y, err = c.activations(n, fused, arg, y, true)
	if err != nil {
		return err
	}
	c.set(n, c.b.toNHWC(y), dtFloat)
	return nil
}

// activations applies fused activation ops; nchw says y is NCHW (PRelu's
// per-channel alpha is then reshaped to [C,1,1]).
func (c *graphConv) activations(n *tfNode, fused []string, arg int, y string, nchw bool) (string, error) {
	b := c.b
	for _, op := range fused {
		name := n.Name + "/" + op
		switch op {
		case "Relu":
			y = b.op("Relu", name, []string{y})
		case "Relu6":
			y = c.relu6(name, y)
		case "Elu":
			y = b.op("Elu", name, []string{y})
		case "Sigmoid":
			y = b.op("Sigmoid", name, []string{y})
		case "Tanh":
			y = b.op("Tanh", name, []string{y})
		case "LeakyRelu":
			alpha, err := n.float("leakyrelu_alpha", 0.2)
			if err != nil {
				return "", err
			}
			y = b.op("LeakyRelu", name, []string{y}, floatAttr("alpha", alpha))
		case "Prelu":
			a, err := c.constIn(n, arg)
			if err != nil {
				return "", err
			}
			arg++
			at := a
			if nchw {
				at = &tensor{dtype: dtFloat, dims: []int64{a.size(), 1, 1}, f32: a.f32}
			}
			y = b.op("PRelu", name, []string{y, b.constant(name+"/alpha", at)})
		default:
			return "", fmt.Errorf("fused op %s: %w", op, ErrUnsupported)
		}
	}
	return y, nil
}

func (c *graphConv) matMul(n *tfNode) error {
	b := c.b
	a, err := c.in(n, 0)
	if err != nil {
		return err
	}
	if n.bool("transpose_a") {
		a = b.op("Transpose", n.Name+"/ta", []string{a}, intsAttr("perm", 1, 0))
	}
	var w string
	if t, err := c.constIn(n, 1); err == nil && n.bool("transpose_b") {
		if len(t.dims) != 2 || t.dtype != dtFloat {
			return fmt.Errorf("transposed weight must be 2-D float32, got %v", t.dims)
		}
		r, k := t.dims[0], t.dims[1]
		tt := make([]float32, len(t.f32))
		for i := int64(0); i < r; i++ {
			for j := int64(0); j < k; j++ {
				tt[j*r+i] = t.f32[i*k+j]
			}
		}
		w = b.constant(n.Name+"/W", &tensor{dtype: dtFloat, dims: []int64{k, r}, f32: tt})
	} else {
		if w, err = c.in(n, 1); err != nil {
			return err
		}
		if n.bool("transpose_b") {
			w = b.op("Transpose", n.Name+"/tb", []string{w}, intsAttr("perm", 1, 0))
		}
	}
	y := b.op("MatMul", n.Name+"/matmul", []string{a, w})
	fused, err := n.strs("fused_ops")
	if err != nil {
		return err
	}
	arg := 2
	if len(fused) > 0 && fused[0] == "BiasAdd" {
		bias, err := c.in(n, arg)
		if err != nil {
			return err
		}
		y = b.op("Add", n.Name+"/bias", []string{y, bias})
		arg++
		fused = fused[1:]
	}
	y, err = c.activations(n, fused, arg, y, false)
	if err != nil {
		return err
	}
	c.set(n, y, dtFloat)
	return nil
}

// batchNorm converts a standalone FusedBatchNorm (inference) to Mul+Add.
func (c *graphConv) batchNorm(n *tfNode) error {
	if err := checkNHWC(n); err != nil {
		return err
	}
	x, err := c.in(n, 0)
	if err != nil {
		return err
	}
	var p [4]*tensor
	for i := range p {
		if p[i], err = c.constIn(n, i+1); err != nil {
			return err
		}
	}
	eps, err := n.float("epsilon", 1e-3)
	if err != nil {
		return err
	}
	ch := len(p[2].f32)
	for _, t := range p {
		if len(t.f32) != ch {
			return fmt.Errorf("batch norm parameters differ in size")
		}
	}
	scale := make([]float32, ch)
	shift := make([]float32, ch)
	for i := range scale {
		scale[i] = p[0].f32[i] / float32(math.Sqrt(float64(p[3].f32[i]+eps)))
		shift[i] = p[1].f32[i] - float32(p[2].f32[i]*scale[i])
	}
	c.set(n, c.scaleShift(n.Name, x, scale, shift), dtFloat)
	return nil
}

// scaleShift returns x*scale + shift along the last (channel) axis.
func (c *graphConv) scaleShift(name, x string, scale, shift []float32) string {
	return scaleShift(c.b, name, x, scale, shift)
}

func scaleShift(b *builder, name, x string, scale, shift []float32) string {
	dims := []int64{int64(len(scale))}
	s := b.constant(name+"/scale", &tensor{dtype: dtFloat, dims: dims, f32: scale})
	y := b.op("Mul", name+"/mul", []string{x, s})
	o := b.constant(name+"/shift", &tensor{dtype: dtFloat, dims: dims, f32: shift})
	return b.op("Add", name, []string{y, o})
}

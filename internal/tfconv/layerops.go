package tfconv

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
)

func (c *layersConv) convertLayer(l *kerasLayer) error {
	cfg, err := l.config()
	if err != nil {
		return err
	}
	b := c.b
	if l.ClassName == "InputLayer" {
		shape := cfg.BatchInputShape
		if shape == nil {
			shape = cfg.BatchShape
		}
		if shape == nil {
			return fmt.Errorf("input layer without batch_input_shape")
		}
		c.vals[l.Name] = b.input(l.Name, dtFloat, dimsOf(shape))
		return nil
	}
	if l.foldedByLayer { // folded into the preceding convolution
		x, err := c.in(l, 0)
		if err != nil {
			return err
		}
		c.vals[l.Name] = x
		return nil
	}
	var y string
	switch l.ClassName {
	case "Conv2D", "DepthwiseConv2D":
		y, err = c.conv(l, cfg)
	case "SeparableConv2D":
		y, err = c.separableConv(l, cfg)
	case "BatchNormalization":
		y, err = c.batchNorm(l, cfg)
	case "Dense":
		y, err = c.dense(l, cfg)
	case "ReLU":
		y, err = c.relu(l, cfg)
	case "Activation":
		var x string
		if x, err = c.in(l, 0); err == nil {
			y, err = c.activation(l.Name, cfg.Activation, x)
		}
	case "Softmax":
		var x string
		if x, err = c.in(l, 0); err == nil {
			y = b.op("Softmax", l.Name, []string{x}, intAttr("axis", -1))
		}
	case "LeakyReLU":
		var x string
		if x, err = c.in(l, 0); err == nil {
			alpha := 0.3
			if cfg.Alpha != nil {
				alpha = *cfg.Alpha
			}
			y = b.op("LeakyRelu", l.Name, []string{x}, floatAttr("alpha", float32(alpha)))
		}
	case "ZeroPadding2D":
		y, err = c.zeroPad(l, cfg)
	case "Add", "Multiply", "Subtract", "Maximum", "Minimum", "Average":
		y, err = c.merge(l)
	case "Concatenate":
		y, err = c.concatenate(l, cfg)
	case "GlobalAveragePooling2D", "GlobalMaxPooling2D":
		var x string
		if x, err = c.in(l, 0); err == nil {
			op := "ReduceMean"
			if l.ClassName == "GlobalMaxPooling2D" {
				op = "ReduceMax"
			}
			keep := int64(0)
			if cfg.KeepDims {
				keep = 1
			}
			y = b.op(op, l.Name, []string{x}, intsAttr("axes", 1, 2), intAttr("keepdims", keep))
		}
	case "AveragePooling2D", "MaxPooling2D":
		y, err = c.pool(l, cfg)
	case "Flatten":
		var x string
		if x, err = c.in(l, 0); err == nil {
			y = b.op("Flatten", l.Name, []string{x}, intAttr("axis", 1))
		}
	case "Reshape":
		var x string
		if x, err = c.in(l, 0); err == nil {
			shape := append([]int64{0}, cfg.TargetShape...)
			y = b.op("Reshape", l.Name, []string{x, b.constI64(l.Name+"/shape", shape...)})
		}
	case "Dropout", "SpatialDropout2D", "GaussianNoise", "GaussianDropout", "AlphaDropout", "ActivityRegularization":
		y, err = c.in(l, 0)
	default:
		return fmt.Errorf("layer class %s: %w", l.ClassName, ErrUnsupported)
	}
	if err != nil {
		return err
	}
	c.vals[l.Name] = y
	return nil
}

func (c *layersConv) conv(l *kerasLayer, cfg *kerasConfig) (string, error) {
	x, err := c.in(l, 0)
	if err != nil {
		return "", err
	}
	depthwise := l.ClassName == "DepthwiseConv2D"
	kname := "kernel"
	if depthwise {
		kname = "depthwise_kernel"
	}
	k, err := c.weight(l.Name, kname)
	if err != nil {
		return "", err
	}
	var s convSpec
	if s.w, s.group, err = convWeights(k, depthwise); err != nil {
		return "", err
	}
	if err := c.convGeometry(&s, cfg); err != nil {
		return "", err
	}
	if cfg.UseBias == nil || *cfg.UseBias {
		bias, err := c.weight(l.Name, "bias")
		if err != nil {
			return "", err
		}
		if int64(len(bias.f32)) != s.w.dims[0] {
			return "", fmt.Errorf("bias has %d values, want %d", len(bias.f32), s.w.dims[0])
		}
		s.bias = append([]float32(nil), bias.f32...)
	}
	if l.foldedInto != "" {
		bn := c.layers[l.foldedInto]
		bcfg, err := bn.config()
		if err != nil {
			return "", err
		}
		p, eps, err := c.bnParams(bn.Name, bcfg)
		if err != nil {
			return "", err
		}
		if err := s.foldBatchNorm(p[0], p[1], p[2], p[3], eps); err != nil {
			return "", err
		}
	}
	y := s.emit(c.b, l.Name+"/conv", x)
	if cfg.Activation == "relu" || cfg.Activation == "relu6" {
		// Activate in NCHW, next to the Conv, so ONNX Runtime fuses them.
		if y, err = c.activation(l.Name, cfg.Activation, y); err != nil {
			return "", err
		}
		return c.b.toNHWC(y), nil
	}
	return c.activation(l.Name, cfg.Activation, c.b.toNHWC(y))
}

func (c *layersConv) convGeometry(s *convSpec, cfg *kerasConfig) error {
	var err error
	if s.strides, err = pair(cfg.Strides, 1); err != nil {
		return fmt.Errorf("strides: %w", err)
	}
	if s.dil, err = pair(cfg.DilationRate, 1); err != nil {
		return fmt.Errorf("dilation_rate: %w", err)
	}
	for _, v := range append(append([]int64{}, s.strides...), s.dil...) {
		if v <= 0 {
			return fmt.Errorf("bad stride or dilation %d", v)
		}
	}
	if s.autoPad, s.pads, err = kerasPadding(cfg.Padding); err != nil {
		return err
	}
	return s.check()
}

func (c *layersConv) separableConv(l *kerasLayer, cfg *kerasConfig) (string, error) {
	x, err := c.in(l, 0)
	if err != nil {
		return "", err
	}
	dk, err := c.weight(l.Name, "depthwise_kernel")
	if err != nil {
		return "", err
	}
	pk, err := c.weight(l.Name, "pointwise_kernel")
	if err != nil {
		return "", err
	}
	var d, p convSpec
	if d.w, d.group, err = convWeights(dk, true); err != nil {
		return "", err
	}
	if err := c.convGeometry(&d, cfg); err != nil {
		return "", err
	}
	if p.w, p.group, err = convWeights(pk, false); err != nil {
		return "", err
	}
	p.strides, p.dil, p.pads = []int64{1, 1}, []int64{1, 1}, []int64{0, 0, 0, 0}
	if cfg.UseBias == nil || *cfg.UseBias {
		bias, err := c.weight(l.Name, "bias")
		if err != nil {
			return "", err
		}
		p.bias = bias.f32
	}
	y := d.emit(c.b, l.Name+"/depthwise", x)
	y = p.emit(c.b, l.Name+"/pointwise", y)
	return c.activation(l.Name, cfg.Activation, c.b.toNHWC(y))
}

// bnParams returns gamma, beta, moving mean, moving variance and epsilon.
func (c *layersConv) bnParams(name string, cfg *kerasConfig) ([4][]float32, float32, error) {
	var p [4][]float32
	if axis := string(cfg.Axis); axis != "" && axis != "-1" && axis != "3" && axis != "[3]" && axis != "[-1]" {
		return p, 0, fmt.Errorf("batch norm axis %s: %w", axis, ErrUnsupported)
	}
	for i, w := range []string{"gamma", "beta", "moving_mean", "moving_variance"} {
		if (i == 0 && cfg.Scale != nil && !*cfg.Scale) || (i == 1 && cfg.Center != nil && !*cfg.Center) {
			continue
		}
		t, err := c.weight(name, w)
		if err != nil {
			return p, 0, err
		}
		p[i] = t.f32
	}
	eps := float32(1e-3)
	if cfg.Epsilon != nil {
		eps = float32(*cfg.Epsilon)
	}
	return p, eps, nil
}

func (c *layersConv) batchNorm(l *kerasLayer, cfg *kerasConfig) (string, error) {
	x, err := c.in(l, 0)
	if err != nil {
		return "", err
	}
	p, eps, err := c.bnParams(l.Name, cfg)
	if err != nil {
		return "", err
	}
	ch := len(p[2])
	if len(p[3]) != ch || (p[0] != nil && len(p[0]) != ch) || (p[1] != nil && len(p[1]) != ch) {
		return "", fmt.Errorf("batch norm parameters differ in size")
	}
	scale := make([]float32, ch)
	shift := make([]float32, ch)
	for i := range scale {
		g, o := float32(1), float32(0)
		if p[0] != nil {
			g = p[0][i]
		}
		if p[1] != nil {
			o = p[1][i]
		}
		scale[i] = g / float32(math.Sqrt(float64(p[3][i]+eps)))
		shift[i] = o - float32(p[2][i]*scale[i])
	}
	return scaleShift(c.b, l.Name, x, scale, shift), nil
}

func (c *layersConv) dense(l *kerasLayer, cfg *kerasConfig) (string, error) {
	x, err := c.in(l, 0)
	if err != nil {
		return "", err
	}
	k, err := c.weight(l.Name, "kernel")
	if err != nil {
		return "", err
	}
	if len(k.dims) != 2 {
		return "", fmt.Errorf("kernel must be 2-D, got %v", k.dims)
	}
	b := c.b
	y := b.op("MatMul", l.Name+"/matmul", []string{x, b.constant(l.Name+"/kernel", k)})
	if cfg.UseBias == nil || *cfg.UseBias {
		bias, err := c.weight(l.Name, "bias")
		if err != nil {
			return "", err
		}
		y = b.op("Add", l.Name+"/bias", []string{y, b.constant(l.Name+"/bias", bias)})
	}
	return c.activation(l.Name, cfg.Activation, y)
}

func (c *layersConv) relu(l *kerasLayer, cfg *kerasConfig) (string, error) {
	x, err := c.in(l, 0)
	if err != nil {
		return "", err
	}
	if cfg.Threshold != 0 {
		return "", fmt.Errorf("ReLU threshold: %w", ErrUnsupported)
	}
	b := c.b
	var y string
	if cfg.NegativeSlope != 0 {
		y = b.op("LeakyRelu", l.Name+"/leaky", []string{x}, floatAttr("alpha", float32(cfg.NegativeSlope)))
		if cfg.MaxValue == nil {
			return y, nil
		}
		return b.op("Min", l.Name, []string{y, b.scalarF32(l.Name+"/max", float32(*cfg.MaxValue))}), nil
	}
	if cfg.MaxValue == nil {
		return b.op("Relu", l.Name, []string{x}), nil
	}
	return b.op("Clip", l.Name, []string{x, b.scalarF32(l.Name+"/min", 0), b.scalarF32(l.Name+"/max", float32(*cfg.MaxValue))}), nil
}

func (c *layersConv) zeroPad(l *kerasLayer, cfg *kerasConfig) (string, error) {
	x, err := c.in(l, 0)
	if err != nil {
		return "", err
	}
	var t, bt, le, r int64
	var one int64
	var two []int64
	var four [][]int64
	switch {
	case json.Unmarshal(cfg.Padding, &one) == nil:
		t, bt, le, r = one, one, one, one
	case json.Unmarshal(cfg.Padding, &two) == nil && len(two) == 2:
		t, bt, le, r = two[0], two[0], two[1], two[1]
	case json.Unmarshal(cfg.Padding, &four) == nil && len(four) == 2 && len(four[0]) == 2 && len(four[1]) == 2:
		t, bt, le, r = four[0][0], four[0][1], four[1][0], four[1][1]
	default:
		return "", fmt.Errorf("padding %s: %w", cfg.Padding, ErrUnsupported)
	}
	pads := c.b.constI64(l.Name+"/pads", 0, t, le, 0, 0, bt, r, 0)
	return c.b.op("Pad", l.Name, []string{x, pads}, stringAttr("mode", "constant")), nil
}

func (c *layersConv) merge(l *kerasLayer) (string, error) {
	if len(l.inputs) < 2 {
		return "", fmt.Errorf("needs at least 2 inputs")
	}
	var xs []string
	for i := range l.inputs {
		x, err := c.in(l, i)
		if err != nil {
			return "", err
		}
		xs = append(xs, x)
	}
	b := c.b
	op := map[string]string{"Add": "Sum", "Multiply": "Mul", "Subtract": "Sub", "Maximum": "Max", "Minimum": "Min", "Average": "Mean"}[l.ClassName]
	if op == "Mul" || op == "Sub" {
		if len(xs) != 2 && op == "Sub" {
			return "", errors.New("layer Subtract needs 2 inputs")
		}
		y := xs[0]
		for i, x := range xs[1:] {
			y = b.op(op, fmt.Sprintf("%s/%d", l.Name, i), []string{y, x})
		}
		return y, nil
	}
	if op == "Sum" && len(xs) == 2 {
		op = "Add"
	}
	return b.op(op, l.Name, xs), nil
}

func (c *layersConv) concatenate(l *kerasLayer, cfg *kerasConfig) (string, error) {
	axis := int64(-1)
	if len(cfg.Axis) > 0 {
		if err := json.Unmarshal(cfg.Axis, &axis); err != nil {
			return "", fmt.Errorf("axis: %w", err)
		}
	}
	var xs []string
	for i := range l.inputs {
		x, err := c.in(l, i)
		if err != nil {
			return "", err
		}
		xs = append(xs, x)
	}
	return c.b.op("Concat", l.Name, xs, intAttr("axis", axis)), nil
}

func (c *layersConv) pool(l *kerasLayer, cfg *kerasConfig) (string, error) {
	x, err := c.in(l, 0)
	if err != nil {
		return "", err
	}
	k, err := pair(cfg.PoolSize, 2)
	if err != nil {
		return "", fmt.Errorf("pool_size: %w", err)
	}
	s := k
	if len(cfg.Strides) > 0 && string(cfg.Strides) != "null" {
		if s, err = pair(cfg.Strides, 1); err != nil {
			return "", fmt.Errorf("strides: %w", err)
		}
	}
	for _, v := range append(append([]int64{}, k...), s...) {
		if v <= 0 {
			return "", fmt.Errorf("bad pool size or stride %d", v)
		}
	}
	autoPad, pads, err := kerasPadding(cfg.Padding)
	if err != nil {
		return "", err
	}
	op := "MaxPool"
	if l.ClassName == "AveragePooling2D" {
		op = "AveragePool"
	}
	return poolOp(c.b, op, l.Name, x, k, s, autoPad, pads), nil
}

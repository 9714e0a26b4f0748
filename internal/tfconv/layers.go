package tfconv

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// kerasLayer is one layer of a Keras functional or sequential model config.
type kerasLayer struct {
	Name          string          `json:"name"`
	ClassName     string          `json:"class_name"`
	Config        json.RawMessage `json:"config"`
	InboundNodes  json.RawMessage `json:"inbound_nodes"`
	inputs        []string
	consumers     int
	foldedInto    string // a BatchNormalization folded into this conv
	foldedByLayer bool   // this BatchNormalization was folded
}

// kerasConfig holds the layer config fields the converter reads.
type kerasConfig struct {
	Name            string          `json:"name"`
	BatchInputShape []*int64        `json:"batch_input_shape"`
	BatchShape      []*int64        `json:"batch_shape"`
	Filters         int64           `json:"filters"`
	Strides         json.RawMessage `json:"strides"`
	Padding         json.RawMessage `json:"padding"`
	DilationRate    json.RawMessage `json:"dilation_rate"`
	DataFormat      string          `json:"data_format"`
	Activation      string          `json:"activation"`
	UseBias         *bool           `json:"use_bias"`
	DepthMultiplier int64           `json:"depth_multiplier"`
	Axis            json.RawMessage `json:"axis"`
	Epsilon         *float64        `json:"epsilon"`
	Center          *bool           `json:"center"`
	Scale           *bool           `json:"scale"`
	MaxValue        *float64        `json:"max_value"`
	NegativeSlope   float64         `json:"negative_slope"`
	Threshold       float64         `json:"threshold"`
	Alpha           *float64        `json:"alpha"`
	PoolSize        json.RawMessage `json:"pool_size"`
	TargetShape     []int64         `json:"target_shape"`
	KeepDims        bool            `json:"keepdims"`
	Units           int64           `json:"units"`
}

type kerasModel struct {
	ClassName string          `json:"class_name"`
	Config    json.RawMessage `json:"config"`
}

type kerasFunctional struct {
	Name         string          `json:"name"`
	Layers       []*kerasLayer   `json:"layers"`
	InputLayers  json.RawMessage `json:"input_layers"`
	OutputLayers json.RawMessage `json:"output_layers"`
}

// layersConv converts a Keras layers model.
type layersConv struct {
	b       *builder
	weights map[string]*tensor
	layers  map[string]*kerasLayer
	vals    map[string]string // layer name -> ONNX value (NHWC)
}

func convertLayers(raw json.RawMessage, weights map[string]*tensor) ([]byte, error) {
	var km kerasModel
	if err := json.Unmarshal(raw, &km); err != nil {
		return nil, fmt.Errorf("parse model_config: %w", err)
	}
	var fm kerasFunctional
	switch km.ClassName {
	case "Model", "Functional":
		if err := json.Unmarshal(km.Config, &fm); err != nil {
			return nil, fmt.Errorf("parse model config: %w", err)
		}
	case "Sequential":
		if err := json.Unmarshal(km.Config, &fm); err != nil {
			// Old Keras: the config is the list of layers itself.
			if err2 := json.Unmarshal(km.Config, &fm.Layers); err2 != nil {
				return nil, fmt.Errorf("parse sequential config: %w", err)
			}
		}
	default:
		return nil, fmt.Errorf("model class %q: %w", km.ClassName, ErrUnsupported)
	}
	c := &layersConv{
		b:       newBuilder(fm.Name),
		weights: weights,
		layers:  map[string]*kerasLayer{},
		vals:    map[string]string{},
	}
	if len(fm.Layers) == 0 {
		return nil, errors.New("model has no layers")
	}
	for i, l := range fm.Layers {
		if l == nil || l.Name == "" {
			return nil, fmt.Errorf("layer %d has no name", i)
		}
		if _, dup := c.layers[l.Name]; dup {
			return nil, fmt.Errorf("duplicate layer %q", l.Name)
		}
		c.layers[l.Name] = l
		if km.ClassName == "Sequential" {
			if i > 0 {
				l.inputs = []string{fm.Layers[i-1].Name}
			}
			continue
		}
		ins, err := inboundNames(l.InboundNodes)
		if err != nil {
			return nil, fmt.Errorf("layer %q: %w", l.Name, err)
		}
		l.inputs = ins
	}
	for _, l := range fm.Layers {
		for _, in := range l.inputs {
			p, ok := c.layers[in]
			if !ok {
				return nil, fmt.Errorf("layer %q: input %q: no such layer", l.Name, in)
			}
			p.consumers++
		}
	}
	outputs, err := c.outputNames(&fm, km.ClassName == "Sequential")
	if err != nil {
		return nil, err
	}
	if km.ClassName == "Sequential" && fm.Layers[0].ClassName != "InputLayer" {
		if err := c.sequentialInput(fm.Layers[0]); err != nil {
			return nil, err
		}
	}
	c.planFolds(fm.Layers)
	for _, l := range fm.Layers {
		if err := c.convertLayer(l); err != nil {
			return nil, fmt.Errorf("layer %q (%s): %w", l.Name, l.ClassName, err)
		}
	}
	for _, o := range outputs {
		v, ok := c.vals[o]
		if !ok {
			return nil, fmt.Errorf("output %q: no such layer", o)
		}
		if err := c.b.output(o, v, dtFloat); err != nil {
			return nil, err
		}
	}
	return c.b.model(), nil
}

// inboundNames reads Keras 2 inbound_nodes: [[["name", 0, 0, {}], ...]].
func inboundNames(raw json.RawMessage) ([]string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var nodes [][][]json.RawMessage
	if err := json.Unmarshal(raw, &nodes); err != nil {
		return nil, fmt.Errorf("inbound_nodes: %w", err)
	}
	if len(nodes) > 1 {
		return nil, fmt.Errorf("shared layer (called %d times): %w", len(nodes), ErrUnsupported)
	}
	var names []string
	for _, n := range nodes {
		for _, ref := range n {
			if len(ref) < 1 {
				return nil, errors.New("inbound_nodes: empty reference")
			}
			var name string
			if err := json.Unmarshal(ref[0], &name); err != nil {
				return nil, fmt.Errorf("inbound_nodes: %w", err)
			}
			names = append(names, name)
		}
	}
	return names, nil
}

func (c *layersConv) outputNames(fm *kerasFunctional, sequential bool) ([]string, error) {
	if sequential && len(fm.OutputLayers) == 0 {
		return []string{fm.Layers[len(fm.Layers)-1].Name}, nil
	}
	var refs [][]json.RawMessage
	if err := json.Unmarshal(fm.OutputLayers, &refs); err != nil {
		return nil, fmt.Errorf("output_layers: %w", err)
	}
	var out []string
	for _, r := range refs {
		if len(r) == 0 {
			return nil, errors.New("output_layers: empty reference")
		}
		var name string
		if err := json.Unmarshal(r[0], &name); err != nil {
			return nil, fmt.Errorf("output_layers: %w", err)
		}
		out = append(out, name)
	}
	if len(out) == 0 {
		return nil, errors.New("model has no outputs")
	}
	return out, nil
}

func (c *layersConv) sequentialInput(first *kerasLayer) error {
	cfg, err := first.config()
	if err != nil {
		return err
	}
	shape := cfg.BatchInputShape
	if shape == nil {
		return errors.New("sequential model without batch_input_shape")
	}
	v := c.b.input("input", dtFloat, dimsOf(shape))
	first.inputs = []string{"input"}
	c.vals["input"] = v
	return nil
}

// planFolds marks BatchNormalization layers whose only input is a
// convolution used by nothing else: they are folded into its weights.
func (c *layersConv) planFolds(layers []*kerasLayer) {
	for _, l := range layers {
		if l.ClassName != "BatchNormalization" || len(l.inputs) != 1 {
			continue
		}
		p := c.layers[l.inputs[0]]
		if p == nil || p.consumers != 1 || p.foldedInto != "" {
			continue
		}
		if p.ClassName != "Conv2D" && p.ClassName != "DepthwiseConv2D" {
			continue
		}
		if cfg, err := p.config(); err != nil || (cfg.Activation != "" && cfg.Activation != "linear") {
			continue
		}
		p.foldedInto = l.Name
		l.foldedByLayer = true
	}
}

func (l *kerasLayer) config() (*kerasConfig, error) {
	var cfg kerasConfig
	if err := json.Unmarshal(l.Config, &cfg); err != nil {
		return nil, fmt.Errorf("parse config: %w", err)
	}
	if cfg.DataFormat != "" && cfg.DataFormat != "channels_last" {
		return nil, fmt.Errorf("data_format %s: %w", cfg.DataFormat, ErrUnsupported)
	}
	return &cfg, nil
}

func dimsOf(shape []*int64) []int64 {
	dims := make([]int64, len(shape))
	for i, d := range shape {
		if d == nil || *d < 0 {
			dims[i] = -1
		} else {
			dims[i] = *d
		}
	}
	return dims
}

func (c *layersConv) weight(layer, name string) (*tensor, error) {
	t, ok := c.weights[layer+"/"+name]
	if !ok {
		return nil, fmt.Errorf("weight %s/%s missing", layer, name)
	}
	if t.dtype != dtFloat {
		return nil, fmt.Errorf("weight %s/%s is not float32", layer, name)
	}
	return t, nil
}

func (c *layersConv) in(l *kerasLayer, i int) (string, error) {
	if i >= len(l.inputs) {
		return "", fmt.Errorf("needs input %d, has %d", i, len(l.inputs))
	}
	v, ok := c.vals[l.inputs[i]]
	if !ok {
		return "", fmt.Errorf("input %q not converted yet", l.inputs[i])
	}
	return v, nil
}

// activation applies a Keras activation by name.
func (c *layersConv) activation(name, act, x string) (string, error) {
	b := c.b
	n := name + "/" + act
	switch act {
	case "", "linear":
		return x, nil
	case "relu":
		return b.op("Relu", n, []string{x}), nil
	case "relu6":
		return b.op("Clip", n, []string{x, b.scalarF32(n+"/min", 0), b.scalarF32(n+"/max", 6)}), nil
	case "sigmoid":
		return b.op("Sigmoid", n, []string{x}), nil
	case "tanh":
		return b.op("Tanh", n, []string{x}), nil
	case "softmax":
		return b.op("Softmax", n, []string{x}, intAttr("axis", -1)), nil
	case "elu":
		return b.op("Elu", n, []string{x}), nil
	case "selu":
		return b.op("Selu", n, []string{x}), nil
	case "softplus":
		return b.op("Softplus", n, []string{x}), nil
	case "softsign":
		return b.op("Softsign", n, []string{x}), nil
	case "hard_sigmoid":
		return b.op("HardSigmoid", n, []string{x}, floatAttr("alpha", 0.2), floatAttr("beta", 0.5)), nil
	case "swish", "silu":
		s := b.op("Sigmoid", n+"/sigmoid", []string{x})
		return b.op("Mul", n, []string{x, s}), nil
	case "exponential":
		return b.op("Exp", n, []string{x}), nil
	}
	return "", fmt.Errorf("activation %q: %w", act, ErrUnsupported)
}

// pair reads a Keras int-or-pair field such as strides or dilation_rate.
func pair(raw json.RawMessage, def int64) ([]int64, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return []int64{def, def}, nil
	}
	var one int64
	if err := json.Unmarshal(raw, &one); err == nil {
		return []int64{one, one}, nil
	}
	var two []int64
	if err := json.Unmarshal(raw, &two); err != nil || len(two) != 2 {
		return nil, fmt.Errorf("want an int or a pair, got %s", raw)
	}
	return two, nil
}

func kerasPadding(raw json.RawMessage) (string, []int64, error) {
	var p string
	if err := json.Unmarshal(raw, &p); err != nil {
		return "", nil, fmt.Errorf("padding %s: %w", raw, ErrUnsupported)
	}
	switch strings.ToLower(p) {
	case "same":
		return "SAME_UPPER", nil, nil
	case "valid", "":
		return "", []int64{0, 0, 0, 0}, nil
	}
	return "", nil, fmt.Errorf("padding %q: %w", p, ErrUnsupported)
}

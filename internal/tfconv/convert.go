package tfconv

import (
	"encoding/json"
	"errors"
	"fmt"
)

// Model is a TFJS model: the model.json bytes and a function that reads
// the weight shard files named in its weightsManifest.
type Model struct {
	JSON     []byte
	ReadFile func(name string) ([]byte, error)
}

// ErrUnsupported is wrapped by errors for operators, layers or attributes
// the converter does not handle.
var ErrUnsupported = errors.New("unsupported")

// modelJSON is the part of model.json common to both formats.
type modelJSON struct {
	Format              string          `json:"format"`
	ModelTopology       json.RawMessage `json:"modelTopology"`
	WeightsManifest     []weightGroup   `json:"weightsManifest"`
	Signature           *signature      `json:"signature"`
	UserDefinedMetadata *struct {
		Signature *signature `json:"signature"`
	} `json:"userDefinedMetadata"`
}

type signature struct {
	Inputs  map[string]tensorInfo `json:"inputs"`
	Outputs map[string]tensorInfo `json:"outputs"`
}

type tensorInfo struct {
	Name string `json:"name"`
}

// Convert converts a TFJS graph model or Keras layers model to ONNX
// (opset 13). Inputs and outputs are float32 NHWC tensors named as in
// the TFJS model (without ":0").
func Convert(m Model) ([]byte, error) {
	var mj modelJSON
	if err := json.Unmarshal(m.JSON, &mj); err != nil {
		return nil, fmt.Errorf("parse model.json: %w", err)
	}
	if len(mj.ModelTopology) == 0 {
		return nil, errors.New("parse model.json: no modelTopology")
	}
	var probe struct {
		Node        json.RawMessage `json:"node"`
		ModelConfig json.RawMessage `json:"model_config"`
		ClassName   string          `json:"class_name"`
	}
	if err := json.Unmarshal(mj.ModelTopology, &probe); err != nil {
		return nil, fmt.Errorf("parse modelTopology: %w", err)
	}
	weights, err := loadWeights(mj.WeightsManifest, m.ReadFile)
	if err != nil {
		return nil, err
	}
	switch {
	case probe.Node != nil:
		sig := mj.Signature
		if sig == nil && mj.UserDefinedMetadata != nil {
			sig = mj.UserDefinedMetadata.Signature
		}
		return convertGraph(mj.ModelTopology, sig, weights)
	case probe.ModelConfig != nil:
		return convertLayers(probe.ModelConfig, weights)
	case probe.ClassName != "":
		return convertLayers(mj.ModelTopology, weights)
	}
	return nil, errors.New("model.json is neither a graph model nor a layers model")
}

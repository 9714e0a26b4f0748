package tfconv

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// tfNode is one node of a TFJS graph model (a GraphDef NodeDef in JSON).
type tfNode struct {
	Name  string            `json:"name"`
	Op    string            `json:"op"`
	Input []string          `json:"input"`
	Attr  map[string]tfAttr `json:"attr"`
}

type tfAttr struct {
	S     *string      `json:"s"` // base64
	I     *json.Number `json:"i"`
	F     *json.Number `json:"f"`
	B     *bool        `json:"b"`
	Type  string       `json:"type"`
	Shape *tfShape     `json:"shape"`
	List  *struct {
		S []string      `json:"s"`
		I []json.Number `json:"i"`
		F []json.Number `json:"f"`
	} `json:"list"`
}

type tfShape struct {
	Dim []struct {
		Size json.Number `json:"size"`
	} `json:"dim"`
	UnknownRank bool `json:"unknownRank"`
}

// dataInputs returns the node's inputs without control dependencies.
func (n *tfNode) dataInputs() []string {
	var in []string
	for _, s := range n.Input {
		if !strings.HasPrefix(s, "^") {
			in = append(in, s)
		}
	}
	return in
}

func (n *tfNode) str(key, def string) (string, error) {
	a, ok := n.Attr[key]
	if !ok || a.S == nil {
		return def, nil
	}
	v, err := base64.StdEncoding.DecodeString(*a.S)
	if err != nil {
		return "", fmt.Errorf("attr %s: %w", key, err)
	}
	return string(v), nil
}

func (n *tfNode) strs(key string) ([]string, error) {
	a, ok := n.Attr[key]
	if !ok || a.List == nil {
		return nil, nil
	}
	out := make([]string, len(a.List.S))
	for i, s := range a.List.S {
		v, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return nil, fmt.Errorf("attr %s: %w", key, err)
		}
		out[i] = string(v)
	}
	return out, nil
}

func (n *tfNode) int(key string, def int64) (int64, error) {
	a, ok := n.Attr[key]
	if !ok || a.I == nil {
		return def, nil
	}
	v, err := strconv.ParseInt(string(*a.I), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("attr %s: %w", key, err)
	}
	return v, nil
}

func (n *tfNode) ints(key string) ([]int64, error) {
	a, ok := n.Attr[key]
	if !ok || a.List == nil {
		return nil, nil
	}
	out := make([]int64, len(a.List.I))
	for i, s := range a.List.I {
		v, err := strconv.ParseInt(string(s), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("attr %s: %w", key, err)
		}
		out[i] = v
	}
	return out, nil
}

func (n *tfNode) float(key string, def float32) (float32, error) {
	a, ok := n.Attr[key]
	if !ok || a.F == nil {
		return def, nil
	}
	v, err := strconv.ParseFloat(string(*a.F), 32)
	if err != nil {
		return 0, fmt.Errorf("attr %s: %w", key, err)
	}
	return float32(v), nil
}

func (n *tfNode) bool(key string) bool {
	a, ok := n.Attr[key]
	return ok && a.B != nil && *a.B
}

// dtype maps a TF type attribute to an ONNX data type (float if absent).
func (n *tfNode) dtype(key string) (int32, error) {
	a, ok := n.Attr[key]
	if !ok || a.Type == "" {
		return dtFloat, nil
	}
	return onnxType(a.Type)
}

func onnxType(tfType string) (int32, error) {
	switch tfType {
	case "DT_FLOAT":
		return dtFloat, nil
	case "DT_INT32":
		return dtInt32, nil
	case "DT_INT64":
		return dtInt64, nil
	case "DT_BOOL":
		return dtBool, nil
	case "DT_UINT8":
		return dtUint8, nil
	}
	return 0, fmt.Errorf("type %s: %w", tfType, ErrUnsupported)
}

// shape returns the dims of a shape attribute (-1 for unknown).
func (n *tfNode) shape(key string) ([]int64, error) {
	a, ok := n.Attr[key]
	if !ok || a.Shape == nil || a.Shape.UnknownRank {
		return nil, nil
	}
	dims := make([]int64, len(a.Shape.Dim))
	for i, d := range a.Shape.Dim {
		if d.Size == "" {
			dims[i] = 0
			continue
		}
		v, err := strconv.ParseInt(string(d.Size), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("attr %s: %w", key, err)
		}
		if v < -1 {
			v = -1
		}
		dims[i] = v
	}
	return dims, nil
}

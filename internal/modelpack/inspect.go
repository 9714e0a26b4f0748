package modelpack

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/imagerec/imagerec/internal/onnxrt"
)

// IsModel reports whether the asset is an ONNX model.
func (a Asset) IsModel() bool { return strings.HasSuffix(a.File, ".onnx") }

// Inspection is a model's tensors as ONNX Runtime reports them, and how
// they differ from the declaration.
type Inspection struct {
	Asset           Asset
	Inputs, Outputs []onnxrt.TensorInfo
	Mismatches      []string
}

func (in Inspection) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (%s)\n", in.Asset.Name, in.Asset.File)
	for _, t := range in.Inputs {
		fmt.Fprintf(&b, "  in  %-28q %v %s\n", t.Name, t.Shape, t.Type)
	}
	for _, t := range in.Outputs {
		fmt.Fprintf(&b, "  out %-28q %v %s\n", t.Name, t.Shape, t.Type)
	}
	for _, m := range in.Mismatches {
		fmt.Fprintf(&b, "  MISMATCH %s\n", m)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// Inspect loads a model's metadata and compares its inputs and outputs
// with the declaration (names in order and shapes).
func Inspect(rt *onnxrt.Runtime, root string, a Asset) (Inspection, error) {
	ins, outs, err := rt.Inspect(a.Path(root))
	if err != nil {
		return Inspection{}, err
	}
	r := Inspection{Asset: a, Inputs: ins, Outputs: outs}
	var declIn, declOut []onnxrt.TensorInfo
	for _, i := range a.Inputs {
		declIn = append(declIn, onnxrt.TensorInfo{Name: i.Name, Shape: i.Shape})
	}
	for _, o := range a.Outputs {
		declOut = append(declOut, onnxrt.TensorInfo{Name: o.Name, Shape: o.Shape})
	}
	r.Mismatches = append(compare("input", declIn, ins), compare("output", declOut, outs)...)
	return r, nil
}

func compare(kind string, decl, got []onnxrt.TensorInfo) []string {
	var out []string
	if len(decl) != len(got) {
		out = append(out, fmt.Sprintf("%d %ss declared, model has %d", len(decl), kind, len(got)))
	}
	for i := range min(len(decl), len(got)) {
		d, g := decl[i], got[i]
		if d.Name != g.Name {
			out = append(out, fmt.Sprintf("%s %d: declared %q, model has %q", kind, i, d.Name, g.Name))
		}
		if !slices.Equal(d.Shape, g.Shape) {
			out = append(out, fmt.Sprintf("%s %q: declared shape %v, model has %v", kind, d.Name, d.Shape, g.Shape))
		}
	}
	return out
}

// InspectAll opens the runtime under root and inspects every model among
// assets.
func InspectAll(root string, assets []Asset) ([]Inspection, error) {
	rt, err := onnxrt.Open(onnxrt.LibPath(root))
	if err != nil {
		return nil, err
	}
	var res []Inspection
	var errs []error
	for _, a := range assets {
		if !a.IsModel() {
			continue
		}
		r, err := Inspect(rt, root, a)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", a.Name, err))
			continue
		}
		res = append(res, r)
	}
	return res, errors.Join(append(errs, rt.Close())...)
}

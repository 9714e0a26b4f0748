package onnx

import (
	"os"
	"strings"

	"github.com/imagerec/imagerec/internal/onnxrt"
)

// modelIO lists a model's input and output names.
func modelIO(rt *onnxrt.Runtime, path string) (in, out []string, err error) {
	ins, outs, err := rt.Inspect(path)
	if err != nil {
		return nil, nil, err
	}
	for _, i := range ins {
		in = append(in, i.Name)
	}
	for _, o := range outs {
		out = append(out, o.Name)
	}
	return in, out, nil
}

// pickName returns the first name containing sub (case-insensitive).
func pickName(names []string, sub string) string {
	for _, n := range names {
		if strings.Contains(strings.ToLower(n), sub) {
			return n
		}
	}
	return ""
}

// fileExists reports whether path names a regular file.
func fileExists(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Mode().IsRegular()
}

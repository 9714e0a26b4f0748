package onnx

import (
	"os"
	"path/filepath"
	"strings"

	"github.com/imagerec/imagerec/internal/onnxrt"
)

// int8Suffix ends the file name of a model's int8 (QDQ) form, installed
// beside its float one: centernet.onnx -> centernet.int8.onnx (see
// internal/modelpack's quantised assets).
const int8Suffix = ".int8.onnx"

// pickModel returns the file name to load for float model file in dir:
// its int8 form when that is installed and float is false, else file.
func pickModel(dir, file string, float bool) string {
	if float {
		return file
	}
	q := strings.TrimSuffix(file, ".onnx") + int8Suffix
	if fileExists(filepath.Join(dir, q)) {
		return q
	}
	return file
}

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

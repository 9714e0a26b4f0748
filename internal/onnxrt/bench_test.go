package onnxrt_test

import (
	"path/filepath"
	"testing"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/imagerec/imagerec/internal/onnxrt"
)

// BenchmarkRun compares Session.Run with a bare onnxruntime_go Run of the
// same model (pre-allocated input and output tensors, one thread), to
// measure the wrapper's overhead: per-run tensor creation and output copy.
func BenchmarkRun(b *testing.B) {
	root := cacheRoot(b)
	lib := onnxrt.LibPath(root)
	for _, m := range []struct {
		file  string
		in    string
		shape []int64
	}{
		{"blazeface.onnx", "input:0", []int64{1, 256, 256, 3}},
		{"nsfw.onnx", "input_1", []int64{1, 224, 224, 3}},
	} {
		model := filepath.Join(root, "models", m.file)
		needB(b, lib, model)
		rt, err := onnxrt.Open(lib)
		if err != nil {
			b.Fatal(err)
		}
		_, outs, err := rt.Inspect(model)
		if err != nil {
			b.Fatal(err)
		}
		var outNames []string
		for _, o := range outs {
			outNames = append(outNames, o.Name)
		}
		n := int64(1)
		for _, d := range m.shape {
			n *= d
		}
		data := make([]float32, n)
		for i := range data {
			data[i] = float32(i%255) / 255
		}
		for _, v := range []struct {
			name string
			opts onnxrt.SessionOptions
		}{{"onnxrt", onnxrt.SessionOptions{}}, {"onnxrt-noarena", onnxrt.SessionOptions{NoArena: true}}} {
			b.Run(m.file+"/"+v.name, func(b *testing.B) {
				s, err := rt.NewSession(model, []string{m.in}, outNames, v.opts)
				if err != nil {
					b.Fatal(err)
				}
				defer s.Close()
				in := []onnxrt.Tensor{{Shape: m.shape, Data: data}}
				for b.Loop() {
					if _, err := s.Run(in); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
		b.Run(m.file+"/bare", func(b *testing.B) {
			so, err := ort.NewSessionOptions()
			if err != nil {
				b.Fatal(err)
			}
			defer so.Destroy()
			if err := so.SetIntraOpNumThreads(1); err != nil {
				b.Fatal(err)
			}
			if err := so.SetInterOpNumThreads(1); err != nil {
				b.Fatal(err)
			}
			s, err := ort.NewDynamicAdvancedSession(model, []string{m.in}, outNames, so)
			if err != nil {
				b.Fatal(err)
			}
			defer s.Destroy()
			in, err := ort.NewTensor(ort.NewShape(m.shape...), data)
			if err != nil {
				b.Fatal(err)
			}
			defer in.Destroy()
			outVals := make([]ort.Value, len(outs))
			for i, o := range outs {
				shape := ort.NewShape(o.Shape...)
				if shape[0] < 0 {
					shape[0] = 1
				}
				t, err := ort.NewEmptyTensor[float32](shape)
				if err != nil {
					b.Fatal(err)
				}
				defer t.Destroy()
				outVals[i] = t
			}
			for b.Loop() {
				if err := s.Run([]ort.Value{in}, outVals); err != nil {
					b.Fatal(err)
				}
			}
		})
		rt.Close()
	}
}

package onnx

import "testing"

// BenchmarkFillTensor resamples a 5000x5000 RGB image (the half-size scan
// copy of a 100 MP upload) into the labels and text detector inputs. B/op
// shows that the horizontal pass keeps a few rows, not the source height.
//
//	go test -run '^$' -bench FillTensor -benchmem ./internal/vision/onnx
func BenchmarkFillTensor(b *testing.B) {
	const w, h = 5000, 5000
	pix := make([]uint8, 3*w*h)
	for i := range pix {
		pix[i] = uint8(i * 31)
	}
	for _, side := range []int{512, 800} {
		spec := tensorSpec{Width: side, Height: side, Layout: layoutNHWC, Scale: [3]float32{1, 1, 1}}
		dst := make([]float32, side*side*3)
		b.Run(map[int]string{512: "512", 800: "800"}[side], func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				fillTensor(pix, w, h, spec, dst)
			}
		})
	}
}

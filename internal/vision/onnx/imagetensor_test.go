package onnx

import (
	"math"
	"testing"

	"github.com/imagerec/imagerec/internal/imageio"
)

func solidRGB(w, h int, r, g, b uint8) []uint8 {
	pix := make([]uint8, w*h*3)
	for i := 0; i < len(pix); i += 3 {
		pix[i], pix[i+1], pix[i+2] = r, g, b
	}
	return pix
}

func TestFillTensorLetterbox(t *testing.T) {
	t.Parallel()
	// A 200x100 red image letterboxed into 64x64 leaves 16 rows of padding
	// above and below; NCHW puts red in plane 0.
	pix := solidRGB(200, 100, 255, 0, 0)
	spec := tensorSpec{Width: 64, Height: 64, Layout: layoutNCHW, Letterbox: true, Centre: true,
		Scale: [3]float32{1.0 / 255, 1.0 / 255, 1.0 / 255}, Pad: -1}
	dst := make([]float32, 64*64*3)
	pl := fillTensor(pix, 200, 100, spec, dst)
	if pl.oy != 16 || pl.ox != 0 {
		t.Fatalf("placement %+v, want oy 16", pl)
	}
	if got := dst[5*64+10]; got != -1 {
		t.Errorf("padding = %v, want -1", got)
	}
	if got := dst[32*64+10]; math.Abs(float64(got-1)) > 1e-5 {
		t.Errorf("red plane = %v, want 1", got)
	}
	if got := dst[64*64+32*64+10]; got != 0 {
		t.Errorf("green plane = %v, want 0", got)
	}
	// Input-space corners of the image map back to the source corners.
	fx, fy := pl.toSource(0, 16)
	gx, gy := pl.toSource(64, 48)
	if fx != 0 || fy != 0 || math.Abs(gx-1) > 1e-9 || math.Abs(gy-1) > 1e-9 {
		t.Errorf("toSource corners = (%v,%v) (%v,%v)", fx, fy, gx, gy)
	}
}

func TestFillTensorAveragesWhenShrinking(t *testing.T) {
	t.Parallel()
	// Alternating black/white columns shrink to mid grey, not to aliasing.
	w, h := 64, 8
	pix := make([]uint8, w*h*3)
	for y := range h {
		for x := range w {
			if x%2 == 0 {
				i := (y*w + x) * 3
				pix[i], pix[i+1], pix[i+2] = 255, 255, 255
			}
		}
	}
	dst := make([]float32, 8*8*3)
	fillTensor(pix, w, h, tensorSpec{Width: 8, Height: 8, Layout: layoutNHWC, Scale: [3]float32{1, 1, 1}}, dst)
	for i, v := range dst {
		if math.Abs(float64(v)-127.5) > 0.5 {
			t.Fatalf("dst[%d] = %v, want 127.5", i, v)
		}
	}
}

// fillTensorReference is fillTensor written plainly, pixel by pixel, from
// the same weights: the optimised loops must give the same tensor.
func fillTensorReference(pix []uint8, w, h int, spec tensorSpec, dst []float32) {
	pl := fillTensor(pix, w, h, spec, make([]float32, len(dst))) // placement only
	rw, rh := int(math.Round(pl.sx*float64(w))), int(math.Round(pl.sy*float64(h)))
	for i := range dst {
		dst[i] = spec.Pad
	}
	xs, ys := imageio.Windows(w, rw), imageio.Windows(h, rh)
	plane := spec.Width * spec.Height
	for y, cy := range ys {
		for x, cx := range xs {
			var v [3]float32
			for ky, wy := range cy.Weights {
				for kx, wx := range cx.Weights {
					i := ((cy.First+ky)*w + cx.First + kx) * 3
					for ch := range 3 {
						v[ch] += float32(wy) * float32(wx) * float32(pix[i+ch])
					}
				}
			}
			tx, ty := int(pl.ox)+x, int(pl.oy)+y
			for ch := range 3 {
				out := v[ch]*spec.Scale[ch] + spec.Bias[ch]
				if spec.Layout == layoutNHWC {
					dst[(ty*spec.Width+tx)*3+ch] = out
				} else {
					dst[ch*plane+ty*spec.Width+tx] = out
				}
			}
		}
	}
}

func TestFillTensorMatchesReference(t *testing.T) {
	t.Parallel()
	seed := uint32(7)
	pix := make([]uint8, 97*61*3)
	for i := range pix {
		seed = seed*1664525 + 1013904223
		pix[i] = uint8(seed >> 24)
	}
	for _, tc := range []struct {
		name string
		spec tensorSpec
	}{
		{"shrink-nhwc-stretch", tensorSpec{Width: 40, Height: 30, Layout: layoutNHWC, Scale: [3]float32{1, 2, 3}, Bias: [3]float32{-1, 0, 1}}},
		{"shrink-nchw-letterbox", tensorSpec{Width: 32, Height: 32, Layout: layoutNCHW, Letterbox: true, Centre: true, Scale: [3]float32{1, 1, 1}, Pad: -5}},
		{"enlarge-nhwc-letterbox", tensorSpec{Width: 160, Height: 160, Layout: layoutNHWC, Letterbox: true, Scale: [3]float32{0.5, 0.5, 0.5}, Pad: 9}},
		{"enlarge-nchw-stretch", tensorSpec{Width: 128, Height: 96, Layout: layoutNCHW, Scale: [3]float32{1, 1, 1}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := tc.spec.Width * tc.spec.Height * 3
			got, want := make([]float32, n), make([]float32, n)
			fillTensor(pix, 97, 61, tc.spec, got)
			fillTensorReference(pix, 97, 61, tc.spec, want)
			for i := range got {
				if math.Abs(float64(got[i]-want[i])) > 1e-3*max(1, math.Abs(float64(want[i]))) {
					t.Fatalf("value %d = %v, want %v", i, got[i], want[i])
				}
			}
		})
	}
}

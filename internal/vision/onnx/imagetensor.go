package onnx

import (
	"math"

	"github.com/imagerec/imagerec/internal/imageio"
)

// This file turns decoded RGB pixels into model input tensors. Every model
// in the package wants a fixed-size float32 tensor; resampling straight from
// the decoded image into that tensor with imageio's one filter
// (imageio.ResampleRows: area-averaging when shrinking, bilinear when
// enlarging) avoids an intermediate image and keeps the
// preprocessing of each model in one declared place.

// tensorLayout is the memory order of a model input.
type tensorLayout int

const (
	layoutNHWC tensorLayout = iota // TensorFlow order: pixels interleaved
	layoutNCHW                     // ONNX/PyTorch order: planes
)

// placement maps model input coordinates back to the source image: the
// source was scaled by (sx, sy) and drawn at (ox, oy) in a w x h canvas.
type placement struct {
	w, h   int     // model input size
	ox, oy float64 // where the image starts in the input, in input pixels
	sx, sy float64 // input pixels per source pixel
	srcW   int     // source image size
	srcH   int
}

// toSource maps an input-space point to fractions of the source image.
func (p placement) toSource(x, y float64) (fx, fy float64) {
	return (x - p.ox) / p.sx / float64(p.srcW), (y - p.oy) / p.sy / float64(p.srcH)
}

// tensorSpec describes how to fill a model input.
type tensorSpec struct {
	Width, Height int
	Layout        tensorLayout
	// Letterbox keeps the aspect ratio and pads with Pad; otherwise the
	// image is stretched to Width x Height.
	Letterbox bool
	// Centre places a letterboxed image in the middle (else top-left).
	Centre bool
	// Each channel value v (0-255) becomes v*Scale[c] + Bias[c].
	Scale, Bias [3]float32
	// Pad is the value written to padding (after normalisation).
	Pad float32
}

// fillTensor resamples the packed RGB image pix (w x h) into dst following
// spec, and returns the placement used. dst must hold Width*Height*3 values.
func fillTensor(pix []uint8, w, h int, spec tensorSpec, dst []float32) placement {
	pl := placement{w: spec.Width, h: spec.Height, srcW: w, srcH: h}
	rw, rh := spec.Width, spec.Height
	if spec.Letterbox {
		s := math.Min(float64(spec.Width)/float64(w), float64(spec.Height)/float64(h))
		rw = max(1, min(spec.Width, int(math.Round(float64(w)*s))))
		rh = max(1, min(spec.Height, int(math.Round(float64(h)*s))))
		if spec.Centre {
			pl.ox = float64((spec.Width - rw) / 2)
			pl.oy = float64((spec.Height - rh) / 2)
		}
	}
	pl.sx = float64(rw) / float64(w)
	pl.sy = float64(rh) / float64(h)
	if rw < spec.Width || rh < spec.Height {
		pad := dst[:spec.Width*spec.Height*3]
		for i := range pad {
			pad[i] = spec.Pad
		}
	}
	ox, oy := int(pl.ox), int(pl.oy)
	plane := spec.Width * spec.Height
	s0, s1, s2 := spec.Scale[0], spec.Scale[1], spec.Scale[2]
	b0, b1, b2 := spec.Bias[0], spec.Bias[1], spec.Bias[2]
	src := imageio.Image{Pix: pix, Width: w, Height: h}
	src.ResampleRows(rw, rh, func(y int, acc []float32) {
		ty := oy + y
		if spec.Layout == layoutNHWC {
			out := dst[(ty*spec.Width+ox)*3 : (ty*spec.Width+ox+rw)*3]
			out = out[:len(acc)]
			for i := 0; i+2 < len(acc); i += 3 {
				out[i] = acc[i]*s0 + b0
				out[i+1] = acc[i+1]*s1 + b1
				out[i+2] = acc[i+2]*s2 + b2
			}
			return
		}
		i0 := ty*spec.Width + ox
		pr := dst[i0 : i0+rw]
		pg := dst[plane+i0 : plane+i0+rw]
		pb := dst[2*plane+i0 : 2*plane+i0+rw]
		for x := range pr {
			a := acc[x*3 : x*3+3 : x*3+3]
			pr[x] = a[0]*s0 + b0
			pg[x] = a[1]*s1 + b1
			pb[x] = a[2]*s2 + b2
		}
	})
	return pl
}

func clampInt(v, lo, hi int) int {
	if v < lo {
		return lo
	}
	if v > hi {
		return hi
	}
	return v
}

func clamp01(v float64) float64 {
	if v < 0 {
		return 0
	}
	if v > 1 {
		return 1
	}
	return v
}

// shrink returns a copy of img whose longer side is at most side, or img
// itself when it is already that small. The features that work on small
// inputs (labels, properties, moderation) share this one copy instead of
// each resampling the decoded image. Each byte is rounded once from the
// float filter (imageio.ResampleRows), exactly as a model tensor filled
// from img would see it; imageio's fixed-point Resize rounds twice, and
// its one-level differences move borderline labels.
func shrink(img *imageio.Image, side int) *imageio.Image {
	sw, sh := fitSide(img.Width, img.Height, side)
	if sw == img.Width && sh == img.Height {
		return img
	}
	out := &imageio.Image{Pix: make([]uint8, sw*sh*3), Width: sw, Height: sh}
	img.ResampleRows(sw, sh, func(y int, row []float32) {
		dst := out.Pix[y*sw*3 : (y+1)*sw*3]
		for i, v := range row {
			dst[i] = uint8(min(255, max(0, v+0.5)))
		}
	})
	return out
}

package onnx

import "math"

// This file turns decoded RGB pixels into model input tensors. Every model
// in the package wants a fixed-size float32 tensor; resampling straight from
// the decoded image into that tensor (area-averaging when shrinking,
// bilinear when enlarging) avoids an intermediate image and keeps the
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

	xs := resampleWeights(w, rw)
	ys := resampleWeights(h, rh)
	// Horizontal pass, row by row as the vertical pass needs them: the
	// windows of source rows (ys) only move down, so a ring of as many rows
	// as the widest window holds every row still needed. Memory is a few
	// rows, not the source height.
	win := 1
	for _, c := range ys {
		win = max(win, len(c.w))
	}
	ring := make([]float32, win*rw*3)
	next := 0 // the next source row to resample horizontally
	hrow := func(y int) []float32 {
		i := y % win
		return ring[i*rw*3 : (i+1)*rw*3]
	}
	plane := spec.Width * spec.Height
	acc := make([]float32, rw*3)
	s0, s1, s2 := spec.Scale[0], spec.Scale[1], spec.Scale[2]
	b0, b1, b2 := spec.Bias[0], spec.Bias[1], spec.Bias[2]
	for y, c := range ys {
		for next = max(next, c.first); next < c.first+len(c.w); next++ {
			row := pix[next*w*3 : (next+1)*w*3]
			out := hrow(next)
			for x, cx := range xs {
				src := row[cx.first*3 : (cx.first+len(cx.w))*3]
				var r, g, b float32
				for k, wt := range cx.w {
					p := src[k*3 : k*3+3 : k*3+3]
					r += wt * float32(p[0])
					g += wt * float32(p[1])
					b += wt * float32(p[2])
				}
				o := out[x*3 : x*3+3 : x*3+3]
				o[0], o[1], o[2] = r, g, b
			}
		}
		// Vertical pass: the output row is a weighted sum of whole
		// resampled rows, then normalised into the tensor.
		clear(acc)
		for k, wt := range c.w {
			src := hrow(c.first + k)[:len(acc)]
			for i, v := range src {
				acc[i] += wt * v
			}
		}
		ty := oy + y
		if spec.Layout == layoutNHWC {
			out := dst[(ty*spec.Width+ox)*3 : (ty*spec.Width+ox+rw)*3]
			out = out[:len(acc)]
			for i := 0; i+2 < len(acc); i += 3 {
				out[i] = acc[i]*s0 + b0
				out[i+1] = acc[i+1]*s1 + b1
				out[i+2] = acc[i+2]*s2 + b2
			}
			continue
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
	}
	return pl
}

// contrib lists the source samples (first, first+1, ...) contributing to
// one output sample, with weights summing to 1.
type contrib struct {
	first int
	w     []float32
}

// resampleWeights computes 1-D resampling weights from n source samples to
// m output samples: a box (area) filter when shrinking, which averages every
// source pixel once, and a triangle (bilinear) filter when enlarging.
func resampleWeights(n, m int) []contrib {
	out := make([]contrib, m)
	scale := float64(n) / float64(m)
	for i := range out {
		centre := (float64(i) + 0.5) * scale
		if scale > 1 {
			lo, hi := centre-scale/2, centre+scale/2
			first := int(math.Floor(lo))
			last := int(math.Ceil(hi)) - 1
			first = max(first, 0)
			last = min(last, n-1)
			ws := make([]float32, 0, last-first+1)
			var sum float64
			for j := first; j <= last; j++ {
				a := math.Max(lo, float64(j))
				b := math.Min(hi, float64(j+1))
				wt := math.Max(0, b-a)
				ws = append(ws, float32(wt))
				sum += wt
			}
			for k := range ws {
				ws[k] /= float32(sum)
			}
			out[i] = contrib{first: first, w: ws}
			continue
		}
		// Bilinear: sample at centre-0.5 in source pixel-centre coordinates.
		s := centre - 0.5
		j := int(math.Floor(s))
		f := s - float64(j)
		j0, j1 := clampInt(j, 0, n-1), clampInt(j+1, 0, n-1)
		if j0 == j1 {
			out[i] = contrib{first: j0, w: []float32{1}}
			continue
		}
		out[i] = contrib{first: j0, w: []float32{float32(1 - f), float32(f)}}
	}
	return out
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

// shrink returns a copy of the packed RGB image (w x h) whose longer side
// is at most side, or the image itself when it is already that small. The
// features that work on small inputs (labels, properties, moderation) share
// one shrunken copy instead of each resampling the decoded image.
func shrink(pix []uint8, w, h, side int) ([]uint8, int, int) {
	sw, sh := fitSide(w, h, side)
	if sw == w && sh == h {
		return pix, w, h
	}
	f := make([]float32, sw*sh*3)
	fillTensor(pix, w, h, tensorSpec{Width: sw, Height: sh, Layout: layoutNHWC, Scale: [3]float32{1, 1, 1}}, f)
	out := make([]uint8, len(f))
	for i, v := range f {
		out[i] = uint8(min(255, max(0, v+0.5)))
	}
	return out, sw, sh
}

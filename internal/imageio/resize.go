package imageio

import (
	"image"
	"math"
)

// derived returns an empty image of size w x h that keeps im's provenance
// (Format, orientation and source size).
func (im *Image) derived(w, h int) *Image {
	return &Image{
		Pix: make([]uint8, 3*w*h), Width: w, Height: h,
		Format: im.Format, OrientationCorrection: im.OrientationCorrection, Orientation: im.Orientation,
		SourceWidth: im.SourceWidth, SourceHeight: im.SourceHeight,
	}
}

// Bounds returns the rectangle (0, 0)-(Width, Height).
func (im *Image) Bounds() image.Rectangle { return image.Rect(0, 0, im.Width, im.Height) }

// Resize returns the image scaled to w x h (aspect ratio not kept). Shrinking
// averages the covered source area (like OpenCV's INTER_AREA), so large
// reductions do not alias; enlarging is bilinear. Sizes below 1 are taken
// as 1.
func (im *Image) Resize(w, h int) *Image {
	w, h = max(w, 1), max(h, 1)
	out := im.derived(w, h)
	if im.Width == 0 || im.Height == 0 {
		return out
	}
	if w == im.Width && h == im.Height {
		copy(out.Pix, im.Pix)
		return out
	}
	if 2*w == im.Width && 2*h == im.Height {
		im.halveInto(out)
		return out
	}
	cx, cy := contributions(im.Width, w), contributions(im.Height, h)
	// Horizontal pass into tmp (w x im.Height), then vertical pass.
	tmp := im.Pix
	if w != im.Width {
		tmp = make([]uint8, 3*w*im.Height)
		for y := 0; y < im.Height; y++ {
			src := im.Pix[3*y*im.Width : 3*(y+1)*im.Width]
			dst := tmp[3*y*w : 3*(y+1)*w]
			for x, c := range cx {
				s := src[3*c.start : 3*(c.start+len(c.weights))]
				d := dst[3*x : 3*x+3 : 3*x+3]
				if len(c.weights) == 2 {
					w0, w1 := c.weights[0], c.weights[1]
					s = s[:6:6]
					d[0] = round14(int32(s[0])*w0 + int32(s[3])*w1)
					d[1] = round14(int32(s[1])*w0 + int32(s[4])*w1)
					d[2] = round14(int32(s[2])*w0 + int32(s[5])*w1)
					continue
				}
				var r, g, b int32
				for k, wt := range c.weights {
					p := s[3*k : 3*k+3 : 3*k+3]
					r += int32(p[0]) * wt
					g += int32(p[1]) * wt
					b += int32(p[2]) * wt
				}
				d[0], d[1], d[2] = round14(r), round14(g), round14(b)
			}
		}
	}
	if h == im.Height {
		copy(out.Pix, tmp)
		return out
	}
	var acc []int32
	for y, c := range cy {
		dst := out.Pix[3*y*w : 3*(y+1)*w]
		row := func(k int) []uint8 { return tmp[3*(c.start+k)*w : 3*(c.start+k+1)*w][:len(dst)] }
		switch len(c.weights) {
		case 1:
			copy(dst, row(0))
		case 2: // bilinear, or a shrink by less than 2
			r0, r1 := row(0), row(1)
			w0, w1 := c.weights[0], c.weights[1]
			for i := range dst {
				dst[i] = round14(int32(r0[i])*w0 + int32(r1[i])*w1)
			}
		default:
			if acc == nil {
				acc = make([]int32, 3*w)
			}
			clear(acc)
			for k, wt := range c.weights {
				for i, v := range row(k) {
					acc[i] += int32(v) * wt
				}
			}
			for i, v := range acc {
				dst[i] = round14(v)
			}
		}
	}
	return out
}

// halveInto averages each 2x2 block of im into out (half im's size): the
// area-averaging result in one pass, as the vision engine halves every
// large decode once.
func (im *Image) halveInto(out *Image) {
	sw := 3 * im.Width
	for y := range out.Height {
		r0 := im.Pix[2*y*sw : (2*y+1)*sw]
		r1 := im.Pix[(2*y+1)*sw : (2*y+2)*sw]
		d := out.Pix[3*y*out.Width : 3*(y+1)*out.Width]
		for x := 0; x+3 <= len(d); x += 3 {
			a := r0[2*x : 2*x+6 : 2*x+6]
			b := r1[2*x : 2*x+6 : 2*x+6]
			dd := d[x : x+3 : x+3]
			dd[0] = uint8((uint16(a[0]) + uint16(a[3]) + uint16(b[0]) + uint16(b[3]) + 2) >> 2)
			dd[1] = uint8((uint16(a[1]) + uint16(a[4]) + uint16(b[1]) + uint16(b[4]) + 2) >> 2)
			dd[2] = uint8((uint16(a[2]) + uint16(a[5]) + uint16(b[2]) + uint16(b[5]) + 2) >> 2)
		}
	}
}

const weightOne = 1 << 14

// round14 turns a weighted sum back into a byte. Weights are never
// negative and sum to weightOne, so the result is within 0..255.
func round14(v int32) uint8 { return uint8((v + weightOne/2) >> 14) }

// contribution is one output sample's source window: weights (summing to
// weightOne) for source indices start, start+1, ...
type contribution struct {
	start   int
	weights []int32
}

// contributions maps src samples to dst samples along one axis in fixed
// point: Windows with weights summing to weightOne.
func contributions(src, dst int) []contribution {
	ws := Windows(src, dst)
	cs := make([]contribution, len(ws))
	for i, w := range ws {
		cs[i] = contribution{start: w.First, weights: fixedWeights(w.Weights)}
	}
	return cs
}

// Window is one output sample's source window along one axis: Weights,
// summing to 1, for the source samples First, First+1, ...
type Window struct {
	First   int
	Weights []float64
}

// Windows is imagerec's one resampling filter, along one axis from src
// samples to dst: area averaging when shrinking (every source pixel counts
// once, like OpenCV's INTER_AREA, so large reductions do not alias) and
// bilinear with pixel centres aligned when enlarging. Resize uses it in
// fixed point; the engines resample straight into model tensors with it.
func Windows(src, dst int) []Window {
	ws := make([]Window, dst)
	scale := float64(src) / float64(dst)
	for i := range ws {
		var fw []float64
		var start int
		if scale > 1 {
			a, b := float64(i)*scale, float64(i+1)*scale
			start = int(a)
			fw = make([]float64, 0, int(scale)+2)
			for s := start; s < src && float64(s) < b; s++ {
				fw = append(fw, (min(b, float64(s+1))-max(a, float64(s)))/scale)
			}
		} else {
			c := (float64(i)+0.5)*scale - 0.5
			c = min(max(c, 0), float64(src-1))
			start = int(c)
			f := c - float64(start)
			fw = []float64{1 - f, f}
			if start+1 >= src {
				fw = []float64{1}
			}
		}
		ws[i] = Window{First: start, Weights: fw}
	}
	return ws
}

// ResampleRows resamples im to rw x rh with Windows' filter in float32,
// without rounding, and hands each output row to emit in order: row holds
// rw interleaved RGB values (0-255 scale) and is reused after emit returns.
// The vertical windows only move down, so a ring of as many horizontally
// resampled rows as the widest window holds every row still needed:
// memory is a few rows, not the image. The engines fill model tensors from
// it (and the labels copy), so their inputs are never rounded in between.
func (im *Image) ResampleRows(rw, rh int, emit func(y int, row []float32)) {
	w := im.Width
	xs, ys := float32Windows(w, rw), float32Windows(im.Height, rh)
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
	acc := make([]float32, rw*3)
	for y, c := range ys {
		for next = max(next, c.first); next < c.first+len(c.w); next++ {
			row := im.Pix[next*w*3 : (next+1)*w*3]
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
		// resampled rows.
		clear(acc)
		for k, wt := range c.w {
			src := hrow(c.first + k)[:len(acc)]
			for i, v := range src {
				acc[i] += wt * v
			}
		}
		emit(y, acc)
	}
}

// window32 is a Window with float32 weights, for ResampleRows' loops.
type window32 struct {
	first int
	w     []float32
}

func float32Windows(src, dst int) []window32 {
	ws := Windows(src, dst)
	out := make([]window32, len(ws))
	for i, w := range ws {
		c := window32{first: w.First, w: make([]float32, len(w.Weights))}
		for k, v := range w.Weights {
			c.w[k] = float32(v)
		}
		out[i] = c
	}
	return out
}

// fixedWeights converts weights summing to 1 into fixed point summing to
// exactly weightOne.
func fixedWeights(fw []float64) []int32 {
	ws := make([]int32, len(fw))
	var sum, big int32
	for k, f := range fw {
		ws[k] = int32(math.Round(f * weightOne))
		sum += ws[k]
		if ws[k] > ws[big] {
			big = int32(k)
		}
	}
	ws[big] += weightOne - sum
	return ws
}

// Crop returns a copy of the part of the image inside r (clipped to the
// image; an empty intersection gives a 0 x 0 image).
func (im *Image) Crop(r image.Rectangle) *Image {
	r = r.Intersect(im.Bounds())
	out := im.derived(r.Dx(), r.Dy())
	for y := 0; y < out.Height; y++ {
		s := 3 * ((r.Min.Y+y)*im.Width + r.Min.X)
		copy(out.Pix[3*y*out.Width:3*(y+1)*out.Width], im.Pix[s:s+3*out.Width])
	}
	return out
}

// CropRotated samples a rotated rectangle into an outW x outH image, as for
// the text-line crops of an OCR recogniser. (cx, cy) is the rectangle's
// centre and w x h its size in source pixels; angleDeg is the angle of its
// width axis from the image's x axis, in image coordinates (y down), so a
// positive angle turns clockwise as seen on screen. The output's x axis
// runs along the rectangle's width. Sampling is bilinear, averaging up to
// 4x4 samples per output pixel when the crop is shrunk, and clamps at the
// image edges.
func (im *Image) CropRotated(cx, cy, w, h, angleDeg float64, outW, outH int) *Image {
	outW, outH = max(outW, 1), max(outH, 1)
	out := im.derived(outW, outH)
	if im.Width == 0 || im.Height == 0 {
		return out
	}
	sin, cos := math.Sincos(angleDeg * math.Pi / 180)
	sx, sy := w/float64(outW), h/float64(outH)
	n := int(math.Ceil(max(sx, sy)))
	n = min(max(n, 1), 4)
	inv := 1 / float64(n*n)
	for v := 0; v < outH; v++ {
		for u := 0; u < outW; u++ {
			var r, g, b float64
			for j := 0; j < n; j++ {
				ly := (float64(v)+(float64(j)+0.5)/float64(n))*sy - h/2
				for i := 0; i < n; i++ {
					lx := (float64(u)+(float64(i)+0.5)/float64(n))*sx - w/2
					pr, pg, pb := im.bilinear(cx+lx*cos-ly*sin-0.5, cy+lx*sin+ly*cos-0.5)
					r, g, b = r+pr, g+pg, b+pb
				}
			}
			o := out.Pix[3*(v*outW+u):]
			o[0], o[1], o[2] = uint8(r*inv+0.5), uint8(g*inv+0.5), uint8(b*inv+0.5)
		}
	}
	return out
}

// bilinear samples at (x, y) in pixel-index coordinates (pixel centres at
// integers), clamping to the edges.
func (im *Image) bilinear(x, y float64) (r, g, b float64) {
	x = min(max(x, 0), float64(im.Width-1))
	y = min(max(y, 0), float64(im.Height-1))
	x0, y0 := int(x), int(y)
	x1, y1 := min(x0+1, im.Width-1), min(y0+1, im.Height-1)
	fx, fy := x-float64(x0), y-float64(y0)
	p00, p10 := im.Pix[3*(y0*im.Width+x0):], im.Pix[3*(y0*im.Width+x1):]
	p01, p11 := im.Pix[3*(y1*im.Width+x0):], im.Pix[3*(y1*im.Width+x1):]
	c := func(k int) float64 {
		top := float64(p00[k])*(1-fx) + float64(p10[k])*fx
		bot := float64(p01[k])*(1-fx) + float64(p11[k])*fx
		return top*(1-fy) + bot*fy
	}
	return c(0), c(1), c(2)
}

// Letterbox scales the image to fit a size x size square, keeping its
// aspect ratio, and centres it on black padding. A point (x, y) of im maps
// to (x*scale + padX, y*scale + padY) in out.
func (im *Image) Letterbox(size int) (out *Image, scale float64, padX, padY int) {
	size = max(size, 1)
	out = im.derived(size, size)
	if im.Width == 0 || im.Height == 0 {
		return out, 1, 0, 0
	}
	scale = min(float64(size)/float64(im.Width), float64(size)/float64(im.Height))
	nw := min(max(int(math.Round(float64(im.Width)*scale)), 1), size)
	nh := min(max(int(math.Round(float64(im.Height)*scale)), 1), size)
	r := im.Resize(nw, nh)
	padX, padY = (size-nw)/2, (size-nh)/2
	for y := 0; y < nh; y++ {
		d := 3 * ((padY+y)*size + padX)
		copy(out.Pix[d:d+3*nw], r.Pix[3*y*nw:3*(y+1)*nw])
	}
	return out, scale, padX, padY
}

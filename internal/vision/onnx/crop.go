package onnx

import "math"

// rotatedRect is a rectangle of the source image turned by Angle radians
// (its width axis points along (cos Angle, sin Angle), y down).
type rotatedRect struct {
	CX, CY, W, H float64
	Angle        float64
}

// corners returns the rectangle's corners in the order top-left, top-right,
// bottom-right, bottom-left of the rectangle's own frame.
func (r rotatedRect) corners() [4][2]float64 {
	c, s := math.Cos(r.Angle), math.Sin(r.Angle)
	hw, hh := r.W/2, r.H/2
	pt := func(lx, ly float64) [2]float64 {
		return [2]float64{r.CX + lx*c - ly*s, r.CY + lx*s + ly*c}
	}
	return [4][2]float64{pt(-hw, -hh), pt(hw, -hh), pt(hw, hh), pt(-hw, hh)}
}

// rotatedCrop samples rectangle r of the packed RGB image pix (w x h) into
// a new outW x outH packed RGB image, bilinearly, averaging several samples
// per output pixel when shrinking so that small outputs do not alias.
// Outside the image, edge pixels are repeated when replicate is set, else
// black is used.
func rotatedCrop(pix []uint8, w, h int, r rotatedRect, outW, outH int, replicate bool) []uint8 {
	out := make([]uint8, outW*outH*3)
	if outW <= 0 || outH <= 0 || w <= 0 || h <= 0 {
		return out
	}
	c, s := math.Cos(r.Angle), math.Sin(r.Angle)
	du, dv := r.W/float64(outW), r.H/float64(outH)
	// Sub-samples per output pixel along each axis.
	ss := int(math.Ceil(math.Max(du, dv)))
	ss = max(1, min(ss, 4))
	inv := 1 / float64(ss*ss)
	for v := range outH {
		for u := range outW {
			var acc [3]float64
			for j := range ss {
				ly := (float64(v)+(float64(j)+0.5)/float64(ss))*dv - r.H/2
				for i := range ss {
					lx := (float64(u)+(float64(i)+0.5)/float64(ss))*du - r.W/2
					// Pixel centres are at integer+0.5.
					x := r.CX + lx*c - ly*s - 0.5
					y := r.CY + lx*s + ly*c - 0.5
					p := bilinearRGB(pix, w, h, x, y, replicate)
					acc[0] += p[0]
					acc[1] += p[1]
					acc[2] += p[2]
				}
			}
			o := (v*outW + u) * 3
			for k := range 3 {
				out[o+k] = uint8(math.Min(255, math.Max(0, acc[k]*inv+0.5)))
			}
		}
	}
	return out
}

// bilinearRGB samples pix at (x, y) in pixel-centre coordinates.
func bilinearRGB(pix []uint8, w, h int, x, y float64, replicate bool) [3]float64 {
	if !replicate && (x < -1 || y < -1 || x > float64(w) || y > float64(h)) {
		return [3]float64{}
	}
	x0, y0 := int(math.Floor(x)), int(math.Floor(y))
	fx, fy := x-float64(x0), y-float64(y0)
	var out [3]float64
	for _, t := range [4]struct {
		dx, dy int
		wt     float64
	}{{0, 0, (1 - fx) * (1 - fy)}, {1, 0, fx * (1 - fy)}, {0, 1, (1 - fx) * fy}, {1, 1, fx * fy}} {
		if t.wt == 0 {
			continue
		}
		xx, yy := x0+t.dx, y0+t.dy
		if xx < 0 || yy < 0 || xx >= w || yy >= h {
			if !replicate {
				continue
			}
			xx, yy = clampInt(xx, 0, w-1), clampInt(yy, 0, h-1)
		}
		i := (yy*w + xx) * 3
		out[0] += t.wt * float64(pix[i])
		out[1] += t.wt * float64(pix[i+1])
		out[2] += t.wt * float64(pix[i+2])
	}
	return out
}

package onnx

import (
	"cmp"
	"math"
	"slices"
)

// This file finds text boxes in the probability map of PP-OCRv4's DBNet
// detector, following PaddleOCR's DBPostProcess: binarise the map at
// dbThresh, take each connected region, fit its minimum-area rotated
// rectangle, keep it when the mean probability inside is at least
// dbBoxThresh, then grow it by the "unclip" offset
// d = area * dbUnclipRatio / perimeter on every side (DB shrinks text
// regions by that much in training).

const (
	dbThresh      = 0.3
	dbBoxThresh   = 0.6
	dbUnclipRatio = 1.5
	dbMinSide     = 3 // pixels of the map, before unclipping
	dbMaxBoxes    = 1000
	// dbVerticalRatio is the height/width ratio from which a box is read
	// as vertical text (PaddleOCR's 1.5).
	dbVerticalRatio = 1.5
)

// textRegion is a candidate text box found in the map.
type textRegion struct {
	Rect  rotatedRect // in map pixels, W along the text
	Score float64
}

// findTextRegions returns the text rectangles in prob (w x h, row-major).
func findTextRegions(prob []float32, w, h int) []textRegion {
	seen := make([]bool, w*h)
	var regions []textRegion
	var stack, comp []int
	rowMin := make([]int, h)
	rowMax := make([]int, h)
	for start := range prob {
		if prob[start] <= dbThresh || seen[start] {
			continue
		}
		// Flood-fill one 8-connected region (OpenCV's findContours uses
		// 8-connectivity too).
		seen[start] = true
		stack = append(stack[:0], start)
		comp = comp[:0]
		var sum float64
		for len(stack) > 0 {
			i := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			comp = append(comp, i)
			sum += float64(prob[i])
			x, y := i%w, i/w
			for yy := max(0, y-1); yy <= min(h-1, y+1); yy++ {
				for xx := max(0, x-1); xx <= min(w-1, x+1); xx++ {
					j := yy*w + xx
					if !seen[j] && prob[j] > dbThresh {
						seen[j] = true
						stack = append(stack, j)
					}
				}
			}
		}
		if len(comp) < dbMinSide*dbMinSide {
			continue
		}
		score := sum / float64(len(comp))
		if score < dbBoxThresh {
			continue
		}
		// Each row's leftmost and rightmost pixels bound the region; their
		// centres are the contour OpenCV would trace.
		y0, y1 := h, -1
		for _, i := range comp {
			y0, y1 = min(y0, i/w), max(y1, i/w)
		}
		for y := y0; y <= y1; y++ {
			rowMin[y], rowMax[y] = w, -1
		}
		for _, i := range comp {
			x, y := i%w, i/w
			rowMin[y], rowMax[y] = min(rowMin[y], x), max(rowMax[y], x)
		}
		pts := make([][2]float64, 0, (y1-y0+1)*2)
		for y := y0; y <= y1; y++ {
			if rowMax[y] < rowMin[y] {
				continue
			}
			fy := float64(y) + 0.5
			pts = append(pts, [2]float64{float64(rowMin[y]) + 0.5, fy}, [2]float64{float64(rowMax[y]) + 0.5, fy})
		}
		rect := minAreaRect(convexHull(pts))
		if math.Min(rect.W, rect.H) < dbMinSide {
			continue
		}
		d := rect.W * rect.H * dbUnclipRatio / (2 * (rect.W + rect.H))
		rect.W += 2 * d
		rect.H += 2 * d
		regions = append(regions, textRegion{Rect: textOriented(rect), Score: score})
		if len(regions) >= dbMaxBoxes {
			break
		}
	}
	return regions
}

// textOriented returns r as the recogniser should read it, as PaddleOCR
// crops: the width axis is the side closest to horizontal (angle within
// (-45, 45] degrees), so a lone glyph stays upright and lines tilted by up
// to 45 degrees read left to right; a box at least dbVerticalRatio times
// taller than wide is vertical text, read top to bottom (turned by +90
// degrees, PaddleOCR's rot90). Lines tilted further, or upside down, come
// out turned by 180 degrees; the optional direction classifier (text.go)
// turns them back.
func textOriented(r rotatedRect) rotatedRect {
	for r.Angle > math.Pi/4 {
		r.Angle -= math.Pi / 2
		r.W, r.H = r.H, r.W
	}
	for r.Angle <= -math.Pi/4 {
		r.Angle += math.Pi / 2
		r.W, r.H = r.H, r.W
	}
	if r.H >= dbVerticalRatio*r.W {
		r.Angle += math.Pi / 2
		r.W, r.H = r.H, r.W
	}
	return r
}

// convexHull returns the convex hull of pts counter-clockwise (Andrew's
// monotone chain), without collinear points.
func convexHull(pts [][2]float64) [][2]float64 {
	pts = slices.Clone(pts)
	slices.SortFunc(pts, func(a, b [2]float64) int {
		if c := cmp.Compare(a[0], b[0]); c != 0 {
			return c
		}
		return cmp.Compare(a[1], b[1])
	})
	pts = slices.Compact(pts)
	if len(pts) < 3 {
		return pts
	}
	cross := func(o, a, b [2]float64) float64 {
		return (a[0]-o[0])*(b[1]-o[1]) - (a[1]-o[1])*(b[0]-o[0])
	}
	hull := make([][2]float64, 0, 2*len(pts))
	for _, p := range pts {
		for len(hull) >= 2 && cross(hull[len(hull)-2], hull[len(hull)-1], p) <= 0 {
			hull = hull[:len(hull)-1]
		}
		hull = append(hull, p)
	}
	lower := len(hull) + 1
	for i := len(pts) - 2; i >= 0; i-- {
		p := pts[i]
		for len(hull) >= lower && cross(hull[len(hull)-2], hull[len(hull)-1], p) <= 0 {
			hull = hull[:len(hull)-1]
		}
		hull = append(hull, p)
	}
	return hull[:len(hull)-1]
}

// minAreaRect returns the smallest rectangle enclosing the convex polygon
// hull: one of its sides lies along a hull edge (rotating calipers).
func minAreaRect(hull [][2]float64) rotatedRect {
	switch len(hull) {
	case 0:
		return rotatedRect{}
	case 1:
		return rotatedRect{CX: hull[0][0], CY: hull[0][1]}
	}
	best := rotatedRect{W: math.Inf(1), H: 1}
	for i := range hull {
		p, q := hull[i], hull[(i+1)%len(hull)]
		ang := math.Atan2(q[1]-p[1], q[0]-p[0])
		c, s := math.Cos(ang), math.Sin(ang)
		minU, maxU := math.Inf(1), math.Inf(-1)
		minV, maxV := math.Inf(1), math.Inf(-1)
		for _, t := range hull {
			u := t[0]*c + t[1]*s
			v := -t[0]*s + t[1]*c
			minU, maxU = math.Min(minU, u), math.Max(maxU, u)
			minV, maxV = math.Min(minV, v), math.Max(maxV, v)
		}
		w, h := maxU-minU, maxV-minV
		if w*h < best.W*best.H {
			cu, cv := (minU+maxU)/2, (minV+maxV)/2
			best = rotatedRect{CX: cu*c - cv*s, CY: cu*s + cv*c, W: w, H: h, Angle: ang}
		}
	}
	return best
}

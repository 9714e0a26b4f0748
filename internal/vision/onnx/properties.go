package onnx

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"sync"

	"github.com/imagerec/imagerec/internal/vision"
)

// This file computes DetectLabels' IMAGE_PROPERTIES from pixels alone:
// Quality (Brightness, Sharpness, Contrast, each 0-100) and DominantColors
// (k-means in CIE Lab on a downscaled copy, each cluster named with the
// nearest CSS colour and one of twelve simplified colours). The scales are
// ours: Rekognition does not publish how it computes them, so values are
// comparable between images analysed here, not with Amazon's numbers.

const (
	// propertiesSide is the long side of the copy used for quality.
	propertiesSide = 512
	// colourSide is the long side of the copy clustered for colours, and
	// instanceColourSide that of each instance's crop.
	colourSide         = 64
	instanceColourSide = 32
	kmeansIter         = 12
	// sharpnessScale sets where Sharpness reaches ~63: the variance of the
	// Laplacian of a typical in-focus photo at 512 px.
	sharpnessScale = 300.0
)

// imageProperties computes ImageProperties for a packed RGB image.
func imageProperties(pix []uint8, w, h, maxColors int) *vision.ImageProperties {
	if w <= 0 || h <= 0 {
		return &vision.ImageProperties{DominantColors: []vision.DominantColor{}}
	}
	gw, gh := fitSide(w, h, propertiesSide)
	rgb := make([]float32, gw*gh*3)
	fillTensor(pix, w, h, tensorSpec{Width: gw, Height: gh, Layout: layoutNHWC, Scale: [3]float32{1, 1, 1}}, rgb)
	q := quality(rgb, gw, gh)

	// Colours are clustered on a 64 px copy made from the 512 px one.
	q8 := make([]uint8, len(rgb))
	for i, v := range rgb {
		q8[i] = uint8(min(255, max(0, v+0.5)))
	}
	cw, ch := fitSide(gw, gh, colourSide)
	small := make([]float32, cw*ch*3)
	fillTensor(q8, gw, gh, tensorSpec{Width: cw, Height: ch, Layout: layoutNHWC, Scale: [3]float32{1, 1, 1}}, small)
	return &vision.ImageProperties{Quality: q, DominantColors: dominantColors(small, maxColors)}
}

// fitSide scales (w, h) so the long side is at most side.
func fitSide(w, h, side int) (int, int) {
	if w <= side && h <= side {
		return w, h
	}
	if w >= h {
		return side, max(1, int(math.Round(float64(h)*float64(side)/float64(w))))
	}
	return max(1, int(math.Round(float64(w)*float64(side)/float64(h)))), side
}

// quality measures brightness (mean luma), contrast (RMS contrast: standard
// deviation of luma, 100 for a half-black half-white image) and sharpness
// (variance of the 4-neighbour Laplacian of luma, mapped to 0-100).
func quality(rgb []float32, w, h int) vision.ImageQuality {
	return maskedQuality(rgb, w, h, nil)
}

// maskedQuality is quality over the pixels where mask is true (all when
// mask is nil).
func maskedQuality(rgb []float32, w, h int, mask []bool) vision.ImageQuality {
	n := w * h
	in := func(i int) bool { return mask == nil || mask[i] }
	luma := make([]float64, n)
	var sum float64
	var cnt int
	for i := range n {
		y := 0.299*float64(rgb[i*3]) + 0.587*float64(rgb[i*3+1]) + 0.114*float64(rgb[i*3+2])
		luma[i] = y
		if in(i) {
			sum += y
			cnt++
		}
	}
	if cnt == 0 {
		return vision.ImageQuality{}
	}
	mean := sum / float64(cnt)
	var vsum float64
	for i, y := range luma {
		if in(i) {
			vsum += (y - mean) * (y - mean)
		}
	}
	std := math.Sqrt(vsum / float64(cnt))

	var lsum, lsq float64
	var count int
	for y := 1; y < h-1; y++ {
		for x := 1; x < w-1; x++ {
			i := y*w + x
			// The Laplacian must not straddle the region's edge.
			if !in(i) || !in(i-1) || !in(i+1) || !in(i-w) || !in(i+w) {
				continue
			}
			l := luma[i-1] + luma[i+1] + luma[i-w] + luma[i+w] - 4*luma[i]
			lsum += l
			lsq += l * l
			count++
		}
	}
	var sharp float64
	if count > 0 {
		m := lsum / float64(count)
		v := lsq/float64(count) - m*m
		sharp = 100 * (1 - math.Exp(-v/sharpnessScale))
	}
	return vision.ImageQuality{
		Brightness: round3(mean / 255 * 100),
		Sharpness:  round3(sharp),
		Contrast:   round3(math.Min(100, std/127.5*100)),
	}
}

// imageRegions splits the packed RGB image (w x h, at most a few hundred
// pixels a side) into foreground, the union of the boxes, and background,
// the rest, and describes each like Rekognition's Foreground and
// Background: Quality (Brightness, Sharpness) and DominantColors. Both are
// nil when the boxes cover less than 1% or more than 99% of the image.
func imageRegions(pix []uint8, w, h int, boxes []vision.BoundingBox, maxColors int) (fg, bg *vision.ImageRegion) {
	n := w * h
	if n == 0 || len(boxes) == 0 {
		return nil, nil
	}
	mask := make([]bool, n)
	inside := 0
	for _, b := range boxes {
		x0, y0 := clampInt(int(b.Left*float64(w)), 0, w), clampInt(int(b.Top*float64(h)), 0, h)
		x1 := clampInt(int(math.Ceil((b.Left+b.Width)*float64(w))), 0, w)
		y1 := clampInt(int(math.Ceil((b.Top+b.Height)*float64(h))), 0, h)
		for y := y0; y < y1; y++ {
			for x := x0; x < x1; x++ {
				if !mask[y*w+x] {
					mask[y*w+x] = true
					inside++
				}
			}
		}
	}
	if inside*100 < n || inside*100 > 99*n {
		return nil, nil
	}
	rgb := make([]float32, n*3)
	for i, v := range pix[:n*3] {
		rgb[i] = float32(v)
	}
	region := func(want bool) *vision.ImageRegion {
		m := make([]bool, n)
		cnt := 0
		for i, v := range mask {
			m[i] = v == want
			if m[i] {
				cnt++
			}
		}
		q := maskedQuality(rgb, w, h, m)
		q.Contrast = 0 // Rekognition's regions report Brightness and Sharpness
		// Cluster at most ~4096 of the region's pixels, evenly strided.
		step := max(1, int(math.Ceil(math.Sqrt(float64(cnt)/4096))))
		var px []float32
		for y := 0; y < h; y += step {
			for x := 0; x < w; x += step {
				if i := y*w + x; m[i] {
					px = append(px, rgb[i*3], rgb[i*3+1], rgb[i*3+2])
				}
			}
		}
		return &vision.ImageRegion{Quality: q, DominantColors: dominantColors(px, maxColors)}
	}
	return region(true), region(false)
}

type lab struct{ L, A, B float64 }

// dominantColors clusters the pixels of a small RGB float image (0-255)
// into at most k colours, largest first. Initialisation is deterministic
// (farthest-point from the mean), so the same image always gives the same
// answer.
func dominantColors(rgb []float32, k int) []vision.DominantColor {
	n := len(rgb) / 3
	out := []vision.DominantColor{}
	if n == 0 || k <= 0 {
		return out
	}
	pts := make([]lab, n)
	for i := range n {
		pts[i] = toLab(float64(rgb[i*3]), float64(rgb[i*3+1]), float64(rgb[i*3+2]))
	}
	centres := initCentres(pts, k)
	assign := make([]int, n)
	for range kmeansIter {
		changed := false
		for i, p := range pts {
			best := nearestCentre(centres, p)
			if best != assign[i] {
				assign[i] = best
				changed = true
			}
		}
		var acc = make([]struct {
			l, a, b float64
			n       int
		}, len(centres))
		for i, p := range pts {
			c := &acc[assign[i]]
			c.l += p.L
			c.a += p.A
			c.b += p.B
			c.n++
		}
		for j := range centres {
			if acc[j].n > 0 {
				centres[j] = lab{acc[j].l / float64(acc[j].n), acc[j].a / float64(acc[j].n), acc[j].b / float64(acc[j].n)}
			}
		}
		if !changed {
			break
		}
	}
	// Report the mean RGB of each cluster (exact, not via Lab round trip).
	sums := make([][4]float64, len(centres))
	for i := range n {
		s := &sums[assign[i]]
		s[0] += float64(rgb[i*3])
		s[1] += float64(rgb[i*3+1])
		s[2] += float64(rgb[i*3+2])
		s[3]++
	}
	for _, s := range sums {
		if s[3] == 0 {
			continue
		}
		r := int(math.Round(s[0] / s[3]))
		g := int(math.Round(s[1] / s[3]))
		b := int(math.Round(s[2] / s[3]))
		out = append(out, vision.DominantColor{
			Red: r, Green: g, Blue: b,
			HexCode:         fmt.Sprintf("#%02x%02x%02x", r, g, b),
			CSSColor:        nearestCSS(r, g, b),
			SimplifiedColor: simplifiedColor(r, g, b),
			PixelPercent:    round3(s[3] / float64(n) * 100),
		})
	}
	slices.SortStableFunc(out, func(a, b vision.DominantColor) int { return cmp.Compare(b.PixelPercent, a.PixelPercent) })
	return out
}

// initCentres picks k well-spread starting points: the point nearest the
// mean, then repeatedly the point farthest from all chosen ones. Identical
// colours are never chosen twice, so an image with fewer than k distinct
// colours yields fewer clusters.
func initCentres(pts []lab, k int) []lab {
	var mean lab
	for _, p := range pts {
		mean.L += p.L
		mean.A += p.A
		mean.B += p.B
	}
	f := float64(len(pts))
	mean = lab{mean.L / f, mean.A / f, mean.B / f}
	first := 0
	for i, p := range pts {
		if labDist(p, mean) < labDist(pts[first], mean) {
			first = i
		}
	}
	centres := []lab{pts[first]}
	dist := make([]float64, len(pts))
	for i, p := range pts {
		dist[i] = labDist(p, centres[0])
	}
	for len(centres) < k {
		far := 0
		for i := range pts {
			if dist[i] > dist[far] {
				far = i
			}
		}
		// Stop when every remaining point is within a just-noticeable
		// difference (deltaE 2.3, squared) of a centre.
		if dist[far] < 2.3*2.3 {
			break
		}
		c := pts[far]
		centres = append(centres, c)
		for i, p := range pts {
			dist[i] = math.Min(dist[i], labDist(p, c))
		}
	}
	return centres
}

func nearestCentre(cs []lab, p lab) int {
	best, bd := 0, math.Inf(1)
	for j, c := range cs {
		if d := labDist(p, c); d < bd {
			best, bd = j, d
		}
	}
	return best
}

// labDist is the squared CIE76 colour difference.
func labDist(a, b lab) float64 {
	dl, da, db := a.L-b.L, a.A-b.A, a.B-b.B
	return dl*dl + da*da + db*db
}

// srgbToLinear is the sRGB transfer function inverted, per 8-bit value.
var srgbToLinear = sync.OnceValue(func() (t [256]float64) {
	for i := range t {
		c := float64(i) / 255
		if c <= 0.04045 {
			t[i] = c / 12.92
		} else {
			t[i] = math.Pow((c+0.055)/1.055, 2.4)
		}
	}
	return t
})

// toLab converts sRGB (0-255, rounded to integers) to CIE Lab (D65).
func toLab(r, g, b float64) lab {
	lut := srgbToLinear()
	idx := func(v float64) int { return clampInt(int(v+0.5), 0, 255) }
	R, G, B := lut[idx(r)], lut[idx(g)], lut[idx(b)]
	x := (0.4124*R + 0.3576*G + 0.1805*B) / 0.95047
	y := 0.2126*R + 0.7152*G + 0.0722*B
	z := (0.0193*R + 0.1192*G + 0.9505*B) / 1.08883
	f := func(t float64) float64 {
		if t > 0.008856 {
			return math.Cbrt(t)
		}
		return 7.787*t + 16.0/116
	}
	fx, fy, fz := f(x), f(y), f(z)
	return lab{116*fy - 16, 500 * (fx - fy), 200 * (fy - fz)}
}

// cssLab holds cssColors in Lab, computed once.
var cssLab = sync.OnceValue(func() []lab {
	out := make([]lab, len(cssColors))
	for i, c := range cssColors {
		out[i] = toLab(float64(c.rgb>>16), float64(c.rgb>>8&0xff), float64(c.rgb&0xff))
	}
	return out
})

// nearestCSS names the CSS colour closest to (r, g, b) in Lab.
func nearestCSS(r, g, b int) string {
	p := toLab(float64(r), float64(g), float64(b))
	best, bd := 0, math.Inf(1)
	for i, q := range cssLab() {
		if d := labDist(p, q); d < bd {
			best, bd = i, d
		}
	}
	return cssColors[best].name
}

// simplifiedColor maps a colour to one of twelve names: red, orange,
// yellow, green, teal, blue, purple, pink, brown, black, white, grey.
func simplifiedColor(r, g, b int) string {
	h, s, v := hsv(float64(r)/255, float64(g)/255, float64(b)/255)
	switch {
	case v < 0.18:
		return "black"
	case s < 0.15 && v > 0.85:
		return "white"
	case s < 0.15 || (s < 0.25 && v < 0.35):
		return "grey"
	}
	switch {
	case h < 15 || h >= 345:
		if s < 0.45 && v > 0.75 {
			return "pink"
		}
		if v < 0.45 {
			return "brown"
		}
		return "red"
	case h < 45:
		if v < 0.65 || s < 0.4 {
			return "brown"
		}
		return "orange"
	case h < 70:
		if v < 0.5 {
			return "brown"
		}
		return "yellow"
	case h < 160:
		return "green"
	case h < 195:
		return "teal"
	case h < 255:
		return "blue"
	case h < 315:
		return "purple"
	default:
		return "pink"
	}
}

// hsv converts RGB in [0,1] to hue in degrees and saturation, value in [0,1].
func hsv(r, g, b float64) (h, s, v float64) {
	mx := math.Max(r, math.Max(g, b))
	mn := math.Min(r, math.Min(g, b))
	v = mx
	d := mx - mn
	if mx > 0 {
		s = d / mx
	}
	if d == 0 {
		return 0, s, v
	}
	switch mx {
	case r:
		h = 60 * math.Mod((g-b)/d, 6)
	case g:
		h = 60 * ((b-r)/d + 2)
	default:
		h = 60 * ((r-g)/d + 4)
	}
	if h < 0 {
		h += 360
	}
	return h, s, v
}

type cssColor struct {
	name string
	rgb  uint32
}

// cssColors are the CSS named colours (CSS Color Module Level 4), with the
// duplicate aliases cyan/magenta and the "grey" spellings left out.
var cssColors = []cssColor{
	{"aliceblue", 0xf0f8ff}, {"antiquewhite", 0xfaebd7}, {"aqua", 0x00ffff}, {"aquamarine", 0x7fffd4},
	{"azure", 0xf0ffff}, {"beige", 0xf5f5dc}, {"bisque", 0xffe4c4}, {"black", 0x000000},
	{"blanchedalmond", 0xffebcd}, {"blue", 0x0000ff}, {"blueviolet", 0x8a2be2}, {"brown", 0xa52a2a},
	{"burlywood", 0xdeb887}, {"cadetblue", 0x5f9ea0}, {"chartreuse", 0x7fff00},
	{"chocolate", 0xd2691e}, {"coral", 0xff7f50}, {"cornflowerblue", 0x6495ed},
	{"cornsilk", 0xfff8dc}, {"crimson", 0xdc143c}, {"darkblue", 0x00008b}, {"darkcyan", 0x008b8b},
	{"darkgoldenrod", 0xb8860b}, {"darkgray", 0xa9a9a9}, {"darkgreen", 0x006400},
	{"darkkhaki", 0xbdb76b}, {"darkmagenta", 0x8b008b}, {"darkolivegreen", 0x556b2f},
	{"darkorange", 0xff8c00}, {"darkorchid", 0x9932cc}, {"darkred", 0x8b0000},
	{"darksalmon", 0xe9967a}, {"darkseagreen", 0x8fbc8f}, {"darkslateblue", 0x483d8b},
	{"darkslategray", 0x2f4f4f}, {"darkturquoise", 0x00ced1}, {"darkviolet", 0x9400d3},
	{"deeppink", 0xff1493}, {"deepskyblue", 0x00bfff}, {"dimgray", 0x696969},
	{"dodgerblue", 0x1e90ff}, {"firebrick", 0xb22222}, {"floralwhite", 0xfffaf0},
	{"forestgreen", 0x228b22}, {"fuchsia", 0xff00ff}, {"gainsboro", 0xdcdcdc},
	{"ghostwhite", 0xf8f8ff}, {"gold", 0xffd700}, {"goldenrod", 0xdaa520}, {"gray", 0x808080},
	{"green", 0x008000}, {"greenyellow", 0xadff2f}, {"honeydew", 0xf0fff0}, {"hotpink", 0xff69b4},
	{"indianred", 0xcd5c5c}, {"indigo", 0x4b0082}, {"ivory", 0xfffff0}, {"khaki", 0xf0e68c},
	{"lavender", 0xe6e6fa}, {"lavenderblush", 0xfff0f5}, {"lawngreen", 0x7cfc00},
	{"lemonchiffon", 0xfffacd}, {"lightblue", 0xadd8e6}, {"lightcoral", 0xf08080},
	{"lightcyan", 0xe0ffff}, {"lightgoldenrodyellow", 0xfafad2}, {"lightgray", 0xd3d3d3},
	{"lightgreen", 0x90ee90}, {"lightpink", 0xffb6c1}, {"lightsalmon", 0xffa07a},
	{"lightseagreen", 0x20b2aa}, {"lightskyblue", 0x87cefa}, {"lightslategray", 0x778899},
	{"lightsteelblue", 0xb0c4de}, {"lightyellow", 0xffffe0}, {"lime", 0x00ff00},
	{"limegreen", 0x32cd32}, {"linen", 0xfaf0e6}, {"maroon", 0x800000},
	{"mediumaquamarine", 0x66cdaa}, {"mediumblue", 0x0000cd}, {"mediumorchid", 0xba55d3},
	{"mediumpurple", 0x9370db}, {"mediumseagreen", 0x3cb371}, {"mediumslateblue", 0x7b68ee},
	{"mediumspringgreen", 0x00fa9a}, {"mediumturquoise", 0x48d1cc}, {"mediumvioletred", 0xc71585},
	{"midnightblue", 0x191970}, {"mintcream", 0xf5fffa}, {"mistyrose", 0xffe4e1},
	{"moccasin", 0xffe4b5}, {"navajowhite", 0xffdead}, {"navy", 0x000080}, {"oldlace", 0xfdf5e6},
	{"olive", 0x808000}, {"olivedrab", 0x6b8e23}, {"orange", 0xffa500}, {"orangered", 0xff4500},
	{"orchid", 0xda70d6}, {"palegoldenrod", 0xeee8aa}, {"palegreen", 0x98fb98},
	{"paleturquoise", 0xafeeee}, {"palevioletred", 0xdb7093}, {"papayawhip", 0xffefd5},
	{"peachpuff", 0xffdab9}, {"peru", 0xcd853f}, {"pink", 0xffc0cb}, {"plum", 0xdda0dd},
	{"powderblue", 0xb0e0e6}, {"purple", 0x800080}, {"rebeccapurple", 0x663399}, {"red", 0xff0000},
	{"rosybrown", 0xbc8f8f}, {"royalblue", 0x4169e1}, {"saddlebrown", 0x8b4513}, {"salmon", 0xfa8072},
	{"sandybrown", 0xf4a460}, {"seagreen", 0x2e8b57}, {"seashell", 0xfff5ee}, {"sienna", 0xa0522d},
	{"silver", 0xc0c0c0}, {"skyblue", 0x87ceeb}, {"slateblue", 0x6a5acd}, {"slategray", 0x708090},
	{"snow", 0xfffafa}, {"springgreen", 0x00ff7f}, {"steelblue", 0x4682b4}, {"tan", 0xd2b48c},
	{"teal", 0x008080}, {"thistle", 0xd8bfd8}, {"tomato", 0xff6347}, {"turquoise", 0x40e0d0},
	{"violet", 0xee82ee}, {"wheat", 0xf5deb3}, {"white", 0xffffff}, {"whitesmoke", 0xf5f5f5},
	{"yellow", 0xffff00}, {"yellowgreen", 0x9acd32},
}

// maxColouredInstances bounds how many instances get their own colours.
const maxColouredInstances = 25

// instanceColors fills Instance.DominantColors from the pixels inside each
// box of the packed RGB image (w x h), as DetectLabels does when
// IMAGE_PROPERTIES is requested. Only the most confident instances are
// coloured.
func instanceColors(labels []vision.Label, pix []uint8, w, h, maxColors int) {
	n := 0
	for li := range labels {
		insts := labels[li].Instances
		for ii := range insts {
			if n >= maxColouredInstances {
				return
			}
			in := &insts[ii]
			bb := in.BoundingBox
			x0, y0 := int(bb.Left*float64(w)), int(bb.Top*float64(h))
			x1, y1 := int((bb.Left+bb.Width)*float64(w)+0.999), int((bb.Top+bb.Height)*float64(h)+0.999)
			x0, y0 = clampInt(x0, 0, w-1), clampInt(y0, 0, h-1)
			x1, y1 = clampInt(x1, x0+1, w), clampInt(y1, y0+1, h)
			cw, ch := x1-x0, y1-y0
			crop := make([]uint8, 0, cw*ch*3)
			for y := y0; y < y1; y++ {
				crop = append(crop, pix[(y*w+x0)*3:(y*w+x1)*3]...)
			}
			sw, sh := fitSide(cw, ch, instanceColourSide)
			small := make([]float32, sw*sh*3)
			fillTensor(crop, cw, ch, tensorSpec{Width: sw, Height: sh, Layout: layoutNHWC, Scale: [3]float32{1, 1, 1}}, small)
			in.DominantColors = dominantColors(small, maxColors)
			n++
		}
	}
}

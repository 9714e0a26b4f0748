package onnx

import (
	"math"
	"testing"

	"github.com/imagerec/imagerec/internal/vision"
)

func TestQuality(t *testing.T) {
	t.Parallel()
	checker := make([]uint8, 128*128*3)
	for y := range 128 {
		for x := range 128 {
			if (x/4+y/4)%2 == 0 {
				i := (y*128 + x) * 3
				checker[i], checker[i+1], checker[i+2] = 255, 255, 255
			}
		}
	}
	half := make([]uint8, 128*128*3)
	for i := 0; i < len(half)/2; i++ {
		half[i] = 255
	}
	gradient := make([]uint8, 128*128*3)
	for i := range gradient {
		gradient[i] = uint8(i / 3 % 128 * 2)
	}
	for _, tc := range []struct {
		name                       string
		pix                        []uint8
		bright, contrast, sharpMin float64
		sharpMax                   float64
	}{
		{"black", solidRGB(128, 128, 0, 0, 0), 0, 0, 0, 0},
		{"white", solidRGB(128, 128, 255, 255, 255), 100, 0, 0, 0},
		{"grey", solidRGB(128, 128, 128, 128, 128), 50.2, 0, 0, 0},
		{"checker", checker, 50, 100, 99, 100},
		{"half", half, 50, 100, 0, 100},
		{"gradient", gradient, 49.8, 57.7, 0, 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := imageProperties(tc.pix, 128, 128, 10)
			q := p.Quality
			if math.Abs(q.Brightness-tc.bright) > 0.5 || math.Abs(q.Contrast-tc.contrast) > 0.5 ||
				q.Sharpness < tc.sharpMin || q.Sharpness > tc.sharpMax {
				t.Errorf("quality = %+v, want brightness %v contrast %v sharpness %v-%v", q, tc.bright, tc.contrast, tc.sharpMin, tc.sharpMax)
			}
		})
	}
}

func TestDominantColors(t *testing.T) {
	t.Parallel()
	// 3/4 navy, 1/4 orange.
	w, h := 80, 40
	pix := make([]uint8, w*h*3)
	for y := range h {
		for x := range w {
			i := (y*w + x) * 3
			if x < 60 {
				pix[i], pix[i+1], pix[i+2] = 0, 0, 128
			} else {
				pix[i], pix[i+1], pix[i+2] = 255, 165, 0
			}
		}
	}
	got := imageProperties(pix, w, h, 10).DominantColors
	if len(got) < 2 {
		t.Fatalf("colours = %+v", got)
	}
	a, b := got[0], got[1]
	if a.CSSColor != "navy" || a.SimplifiedColor != "blue" || a.HexCode != "#000080" || math.Abs(a.PixelPercent-75) > 3 {
		t.Errorf("first = %+v, want navy/blue ~75%%", a)
	}
	if b.CSSColor != "orange" || b.SimplifiedColor != "orange" || math.Abs(b.PixelPercent-25) > 3 {
		t.Errorf("second = %+v, want orange ~25%%", b)
	}
	var total float64
	for _, c := range got {
		total += c.PixelPercent
	}
	if math.Abs(total-100) > 0.1 {
		t.Errorf("percentages sum to %v", total)
	}
	if one := imageProperties(pix, w, h, 1).DominantColors; len(one) != 1 || one[0].PixelPercent != 100 {
		t.Errorf("MaxDominantColors 1 gave %+v", one)
	}
}

func TestSimplifiedColor(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		r, g, b int
		want    string
	}{
		{255, 0, 0, "red"}, {255, 165, 0, "orange"}, {255, 255, 0, "yellow"}, {0, 128, 0, "green"},
		{0, 128, 128, "teal"}, {0, 0, 255, "blue"}, {128, 0, 128, "purple"}, {255, 192, 203, "pink"},
		{139, 69, 19, "brown"}, {0, 0, 0, "black"}, {255, 255, 255, "white"}, {128, 128, 128, "grey"},
		{255, 20, 147, "pink"},
	} {
		if got := simplifiedColor(tc.r, tc.g, tc.b); got != tc.want {
			t.Errorf("simplifiedColor(%d,%d,%d) = %q, want %q", tc.r, tc.g, tc.b, got, tc.want)
		}
	}
}

func TestNearestCSSExact(t *testing.T) {
	t.Parallel()
	for _, c := range cssColors {
		r, g, b := int(c.rgb>>16), int(c.rgb>>8&0xff), int(c.rgb&0xff)
		if got := nearestCSS(r, g, b); got != c.name {
			t.Errorf("nearestCSS(%s) = %q", c.name, got)
		}
	}
}

func TestInstanceColors(t *testing.T) {
	t.Parallel()
	// Left half red, right half blue; one instance on each half.
	w, h := 100, 50
	pix := make([]uint8, w*h*3)
	for y := range h {
		for x := range w {
			i := (y*w + x) * 3
			if x < 50 {
				pix[i] = 255
			} else {
				pix[i+2] = 255
			}
		}
	}
	labels := []vision.Label{{Name: "A", Instances: []vision.Instance{
		{BoundingBox: vision.BoundingBox{Left: 0.05, Top: 0.1, Width: 0.4, Height: 0.8}},
		{BoundingBox: vision.BoundingBox{Left: 0.55, Top: 0.1, Width: 0.4, Height: 0.8}},
	}}}
	instanceColors(labels, pix, w, h, 3)
	for i, want := range []string{"red", "blue"} {
		dc := labels[0].Instances[i].DominantColors
		if len(dc) != 1 || dc[0].SimplifiedColor != want || dc[0].PixelPercent != 100 {
			t.Errorf("instance %d colours = %+v, want all %s", i, dc, want)
		}
	}
}

func TestImageRegions(t *testing.T) {
	t.Parallel()
	// A sharp white/black checkerboard square on a flat grey background.
	w, h := 100, 80
	pix := solidRGB(w, h, 128, 128, 128)
	for y := 20; y < 60; y++ {
		for x := 30; x < 70; x++ {
			if (x/2+y/2)%2 == 0 {
				i := (y*w + x) * 3
				pix[i], pix[i+1], pix[i+2] = 255, 255, 255
			} else {
				i := (y*w + x) * 3
				pix[i], pix[i+1], pix[i+2] = 0, 0, 0
			}
		}
	}
	box := vision.BoundingBox{Left: 0.3, Top: 0.25, Width: 0.4, Height: 0.5}
	fg, bg := imageRegions(pix, w, h, []vision.BoundingBox{box}, 5)
	if fg == nil || bg == nil {
		t.Fatal("no regions")
	}
	if fg.Quality.Sharpness < 90 || bg.Quality.Sharpness > 1 {
		t.Errorf("sharpness fg %v bg %v, want sharp foreground, flat background", fg.Quality.Sharpness, bg.Quality.Sharpness)
	}
	if len(bg.DominantColors) != 1 || bg.DominantColors[0].HexCode != "#808080" {
		t.Errorf("background colours %+v, want grey only", bg.DominantColors)
	}
	if len(fg.DominantColors) < 2 || fg.Quality.Contrast != 0 {
		t.Errorf("foreground %+v", fg)
	}
	if fg, bg := imageRegions(pix, w, h, []vision.BoundingBox{{Width: 1, Height: 1}}, 5); fg != nil || bg != nil {
		t.Error("a box covering the whole image gave regions")
	}
	if fg, bg := imageRegions(pix, w, h, nil, 5); fg != nil || bg != nil {
		t.Error("no boxes gave regions")
	}
}

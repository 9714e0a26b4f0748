package onnx

import (
	"math"
	"slices"
	"strings"
	"testing"
)

func TestMinAreaRect(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		rect   rotatedRect
		points int
	}{
		{"axis aligned", rotatedRect{CX: 50, CY: 20, W: 80, H: 10}, 40},
		{"tilted 20 degrees", rotatedRect{CX: 60, CY: 40, W: 90, H: 12, Angle: 20 * math.Pi / 180}, 40},
		{"tilted -35 degrees", rotatedRect{CX: 60, CY: 40, W: 70, H: 20, Angle: -35 * math.Pi / 180}, 40},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// Points filling the rectangle, corners included.
			c := tt.rect.corners()
			var pts [][2]float64
			for i := range tt.points + 1 {
				for j := range 5 {
					u := float64(i) / float64(tt.points)
					v := float64(j) / 4
					top := lerp2(c[0], c[1], u)
					bottom := lerp2(c[3], c[2], u)
					pts = append(pts, lerp2(top, bottom, v))
				}
			}
			got := textOriented(minAreaRect(convexHull(pts)))
			want := tt.rect
			if math.Abs(got.CX-want.CX) > 1e-6 || math.Abs(got.CY-want.CY) > 1e-6 ||
				math.Abs(got.W-want.W) > 1e-6 || math.Abs(got.H-want.H) > 1e-6 ||
				math.Abs(got.Angle-want.Angle) > 1e-6 {
				t.Errorf("minAreaRect = %+v, want %+v", got, want)
			}
		})
	}
}

func lerp2(a, b [2]float64, t float64) [2]float64 {
	return [2]float64{a[0] + (b[0]-a[0])*t, a[1] + (b[1]-a[1])*t}
}

func TestTextOriented(t *testing.T) {
	t.Parallel()
	deg := math.Pi / 180
	tests := []struct {
		name string
		in   rotatedRect
		want rotatedRect
	}{
		{"horizontal line", rotatedRect{W: 100, H: 10}, rotatedRect{W: 100, H: 10}},
		{"line given along its height", rotatedRect{W: 10, H: 100, Angle: 90 * deg}, rotatedRect{W: 100, H: 10}},
		{"tilted line", rotatedRect{W: 10, H: 100, Angle: -70 * deg}, rotatedRect{W: 100, H: 10, Angle: 20 * deg}},
		{"upside-down box", rotatedRect{W: 100, H: 10, Angle: 180 * deg}, rotatedRect{W: 100, H: 10}},
		{"lone tall glyph stays upright", rotatedRect{W: 16, H: 12, Angle: 90 * deg}, rotatedRect{W: 12, H: 16}},
		{"vertical text reads top to bottom", rotatedRect{W: 10, H: 80}, rotatedRect{W: 80, H: 10, Angle: 90 * deg}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := textOriented(tt.in)
			if math.Abs(got.W-tt.want.W) > 1e-9 || math.Abs(got.H-tt.want.H) > 1e-9 || math.Abs(got.Angle-tt.want.Angle) > 1e-9 {
				t.Errorf("textOriented(%+v) = %+v, want %+v", tt.in, got, tt.want)
			}
		})
	}
}

func TestConvexHull(t *testing.T) {
	t.Parallel()
	pts := [][2]float64{{0, 0}, {2, 0}, {1, 1}, {2, 2}, {0, 2}, {1, 0}, {0, 0}}
	hull := convexHull(pts)
	if len(hull) != 4 {
		t.Fatalf("hull = %v, want the 4 corners", hull)
	}
	for _, p := range hull {
		if p == [2]float64{1, 1} || p == [2]float64{1, 0} {
			t.Errorf("hull %v holds inner or collinear point %v", hull, p)
		}
	}
}

// TestFindTextRegions draws two text-like bars into a probability map, one
// horizontal and one tilted, and checks the unclipped rectangles found.
func TestFindTextRegions(t *testing.T) {
	t.Parallel()
	const w, h = 200, 120
	prob := make([]float32, w*h)
	bars := []rotatedRect{
		{CX: 60, CY: 20, W: 80, H: 8},
		{CX: 110, CY: 80, W: 120, H: 10, Angle: 15 * math.Pi / 180},
	}
	for y := range h {
		for x := range w {
			for _, b := range bars {
				dx, dy := float64(x)+0.5-b.CX, float64(y)+0.5-b.CY
				c, s := math.Cos(b.Angle), math.Sin(b.Angle)
				if u, v := dx*c+dy*s, -dx*s+dy*c; math.Abs(u) < b.W/2 && math.Abs(v) < b.H/2 {
					prob[y*w+x] = 0.9
				}
			}
		}
	}
	// A faint blob below the box threshold and a speck are ignored.
	for y := 100; y < 110; y++ {
		for x := 10; x < 40; x++ {
			prob[y*w+x] = 0.4
		}
	}
	prob[5*w+190] = 0.95
	got := findTextRegions(prob, w, h)
	if len(got) != len(bars) {
		t.Fatalf("found %d regions, want %d: %+v", len(got), len(bars), got)
	}
	for i, b := range bars {
		r := got[i].Rect
		d := b.W * b.H * dbUnclipRatio / (2 * (b.W + b.H))
		if math.Abs(r.CX-b.CX) > 1 || math.Abs(r.CY-b.CY) > 1 {
			t.Errorf("region %d centre (%.1f,%.1f), want (%.1f,%.1f)", i, r.CX, r.CY, b.CX, b.CY)
		}
		if math.Abs(r.W-(b.W+2*d)) > 3 || math.Abs(r.H-(b.H+2*d)) > 3 {
			t.Errorf("region %d size %.1fx%.1f, want about %.1fx%.1f", i, r.W, r.H, b.W+2*d, b.H+2*d)
		}
		if math.Abs(r.Angle-b.Angle) > 2*math.Pi/180 {
			t.Errorf("region %d angle %.1f deg, want %.1f", i, r.Angle*180/math.Pi, b.Angle*180/math.Pi)
		}
		if got[i].Score < 0.89 {
			t.Errorf("region %d score %.2f", i, got[i].Score)
		}
	}
}

func TestCTCGreedy(t *testing.T) {
	t.Parallel()
	dict, err := readCTCDict(strings.NewReader("a\nb\nc\n"))
	if err != nil {
		t.Fatal(err)
	}
	// Classes: 0 blank, 1 a, 2 b, 3 c, 4 space.
	seq := []int{0, 1, 1, 0, 1, 4, 4, 2, 0, 3, 3}
	probs := make([]float32, len(seq)*5)
	for t, c := range seq {
		for k := range 5 {
			probs[t*5+k] = 0.05
		}
		probs[t*5+c] = 0.8
	}
	got := ctcGreedy(probs, len(seq), 5, dict, 0, nil)
	if s := charsText(got); s != "aa bc" {
		t.Errorf("decoded %q, want %q", s, "aa bc")
	}
	wantSteps := [][2]int{{1, 2}, {4, 4}, {5, 6}, {7, 7}, {9, 10}}
	for i, c := range got {
		if [2]int{c.Step, c.End} != wantSteps[i] {
			t.Errorf("char %d spans steps %d-%d, want %v", i, c.Step, c.End, wantSteps[i])
		}
	}
	words := splitWords(trimSpaces(got))
	if len(words) != 2 || charsText(words[0]) != "aa" || charsText(words[1]) != "bc" {
		t.Errorf("words = %v", words)
	}
	if ctcGreedy(probs, len(seq), 6, dict, 0, nil) != nil {
		t.Error("class count mismatch not reported")
	}
}

// TestCTCGapSpace: a word gap decoded as blanks gets a space when the
// space class shows up in it, and not otherwise.
func TestCTCGapSpace(t *testing.T) {
	t.Parallel()
	dict, err := readCTCDict(strings.NewReader("a\nb\n"))
	if err != nil {
		t.Fatal(err)
	}
	// Classes: 0 blank, 1 a, 2 b, 3 space. Steps: a, blank, blank, b.
	row := func(best int, space float32) []float32 {
		r := []float32{0.05, 0.05, 0.05, space}
		r[best] = 0.9 - space
		return r
	}
	tests := []struct {
		name  string
		gap   float32 // P(space) in the second blank step
		floor float32
		want  string
	}{
		{"strong gap evidence", 0.1, 0.02, "a b"},
		{"no gap evidence", 0.01, 0.02, "ab"},
		{"insertion disabled", 0.1, 0, "ab"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var probs []float32
			probs = append(probs, row(1, 0)...)
			probs = append(probs, row(0, 0.005)...)
			probs = append(probs, row(0, tt.gap)...)
			probs = append(probs, row(2, 0)...)
			got := ctcGreedy(probs, 4, 4, dict, tt.floor, nil)
			if s := charsText(got); s != tt.want {
				t.Errorf("decoded %q, want %q", s, tt.want)
			}
			if tt.want == "a b" && (got[1].Step != 2 || got[1].Prob < 0.85) {
				t.Errorf("inserted space %+v, want step 2 with P(blank)+P(space)", got[1])
			}
		})
	}
}

func TestRotatedCrop(t *testing.T) {
	t.Parallel()
	// A 40x20 image, left half red, right half blue.
	const w, h = 40, 20
	pix := make([]uint8, w*h*3)
	for y := range h {
		for x := range w {
			i := (y*w + x) * 3
			if x < w/2 {
				pix[i] = 255
			} else {
				pix[i+2] = 255
			}
		}
	}
	// Turned by 180 degrees, the crop's left is the image's right.
	out := rotatedCrop(pix, w, h, rotatedRect{CX: 20, CY: 10, W: 40, H: 20, Angle: math.Pi}, 8, 4, true)
	if out[0] != 0 || out[2] != 255 {
		t.Errorf("left pixel of the turned crop = %v, want blue", out[:3])
	}
	last := len(out) - 3
	if out[last] != 255 || out[last+2] != 0 {
		t.Errorf("right pixel of the turned crop = %v, want red", out[last:])
	}
	// Outside the image: black unless replicating edges.
	out = rotatedCrop(pix, w, h, rotatedRect{CX: -100, CY: 10, W: 10, H: 10}, 2, 2, false)
	for _, v := range out {
		if v != 0 {
			t.Fatalf("crop outside the image = %v, want black", out)
		}
	}
}

// FuzzFindTextRegions feeds arbitrary probability maps (the detector's
// output on arbitrary images) to the box finder: it must not panic, and
// every rectangle must be finite, inside the map's neighbourhood and
// oriented as textOriented promises.
func FuzzFindTextRegions(f *testing.F) {
	f.Add([]byte{0, 255, 255, 255, 0, 255, 255, 255, 0, 255, 255, 255}, uint8(4))
	f.Add([]byte("\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff"), uint8(4))
	f.Add([]byte("\x00\x80\xc0\xff\xc0\x80\x00\xff\xff\xff\x00\x00\xff\xff\xff\x90\x90\x90\x90\x90\x90"), uint8(7))
	f.Fuzz(func(t *testing.T, data []byte, width uint8) {
		w := int(width)
		if w == 0 || len(data) < w {
			return
		}
		h := len(data) / w
		prob := make([]float32, w*h)
		for i := range prob {
			prob[i] = float32(data[i]) / 255
		}
		for _, r := range findTextRegions(prob, w, h) {
			rc := r.Rect
			for _, v := range []float64{rc.CX, rc.CY, rc.W, rc.H, rc.Angle, r.Score} {
				if math.IsNaN(v) || math.IsInf(v, 0) {
					t.Fatalf("non-finite region %+v", r)
				}
			}
			if rc.W <= 0 || rc.H <= 0 || rc.CX < -1 || rc.CY < -1 || rc.CX > float64(w)+1 || rc.CY > float64(h)+1 {
				t.Fatalf("region %+v outside the %dx%d map", r, w, h)
			}
			if r.Score < dbBoxThresh || r.Score > 1 {
				t.Fatalf("region score %v", r.Score)
			}
		}
	})
}

// TestCTCSkipEastAsian: East Asian classes read as blanks unless asked
// for; the other characters of the line stay.
func TestCTCSkipEastAsian(t *testing.T) {
	t.Parallel()
	dict, err := readCTCDict(strings.NewReader("A\n米\n，\nб\n"))
	if err != nil {
		t.Fatal(err)
	}
	skip := eastAsianClasses(dict)
	if want := []bool{false, false, true, true, false, false}; !slices.Equal(skip, want) {
		t.Fatalf("eastAsianClasses = %v, want %v", skip, want)
	}
	// Classes: 0 blank, 1 A, 2 米, 3 full-width comma, 4 б, 5 space.
	onehot := func(seq ...int) []float32 {
		var probs []float32
		for _, c := range seq {
			r := make([]float32, 6)
			r[c] = 0.9
			probs = append(probs, r...)
		}
		return probs
	}
	tests := []struct {
		name string
		seq  []int
		skip []bool
		want string
	}{
		{"a lone Han character reads as nothing", []int{0, 2, 2, 0}, skip, ""},
		{"all scripts keeps it", []int{0, 2, 2, 0}, nil, "米"},
		{"mixed line keeps Latin and Cyrillic", []int{1, 0, 2, 3, 0, 4}, skip, "Aб"},
		{"repeats across a skipped step are two letters", []int{1, 2, 1}, skip, "AA"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := ctcGreedy(onehot(tt.seq...), len(tt.seq), 6, dict, 0, tt.skip)
			if s := charsText(got); s != tt.want {
				t.Errorf("decoded %q, want %q", s, tt.want)
			}
		})
	}
}

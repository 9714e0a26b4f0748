package onnx

import (
	"context"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"math"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"

	"github.com/imagerec/imagerec/internal/imageio"
	"github.com/imagerec/imagerec/internal/vision"
)

func newTestTextDetector(tb testing.TB) *TextDetector {
	tb.Helper()
	rt, root := detectorCache(tb, ocrDetFile, ocrRecFile, ocrKeysFile)
	d, err := NewTextDetector(rt, root, TextOptions{})
	if err != nil {
		tb.Fatalf("NewTextDetector: %v", err)
	}
	tb.Cleanup(func() {
		if err := d.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return d
}

// checkTextShape checks the Rekognition invariants of a DetectText result:
// LINEs first with Ids 0..n-1 top to bottom, then WORDs whose ParentId is
// a LINE and whose texts, joined, make their line; geometry in [0, 1].
func checkTextShape(t *testing.T, ts []vision.TextDetection) (lines []string) {
	t.Helper()
	words := map[int][]string{}
	lastTop := -1.0
	for i, d := range ts {
		if d.ID != i {
			t.Errorf("detection %d has Id %d", i, d.ID)
		}
		if d.Confidence <= 0 || d.Confidence > 100 {
			t.Errorf("%q: Confidence %v", d.DetectedText, d.Confidence)
		}
		g := d.Geometry
		if len(g.Polygon) != 4 {
			t.Errorf("%q: %d polygon points", d.DetectedText, len(g.Polygon))
		}
		for _, p := range g.Polygon {
			if p.X < 0 || p.X > 1 || p.Y < 0 || p.Y > 1 ||
				p.X < g.BoundingBox.Left-1e-3 || p.X > g.BoundingBox.Left+g.BoundingBox.Width+1e-3 {
				t.Errorf("%q: polygon point %+v outside [0,1] or its box %+v", d.DetectedText, p, g.BoundingBox)
			}
		}
		switch d.Type {
		case vision.TextLine:
			if len(words) > 0 {
				t.Errorf("LINE %d after WORDs", d.ID)
			}
			if d.ParentID != nil {
				t.Errorf("LINE %d has a ParentId", d.ID)
			}
			centre := g.BoundingBox.Top + g.BoundingBox.Height/2
			if centre < lastTop-0.02 {
				t.Errorf("LINE %q above the previous line", d.DetectedText)
			}
			lastTop = centre
			lines = append(lines, d.DetectedText)
		case vision.TextWord:
			if d.ParentID == nil || *d.ParentID < 0 || *d.ParentID >= len(lines) {
				t.Fatalf("WORD %q has ParentId %v", d.DetectedText, d.ParentID)
			}
			if strings.Contains(d.DetectedText, " ") || d.DetectedText == "" {
				t.Errorf("WORD %q", d.DetectedText)
			}
			words[*d.ParentID] = append(words[*d.ParentID], d.DetectedText)
		default:
			t.Errorf("Type %q", d.Type)
		}
	}
	for i, l := range lines {
		if got := strings.Join(words[i], " "); got != l {
			t.Errorf("words of line %d join to %q, want %q", i, got, l)
		}
	}
	return lines
}

func TestTextDetectorPage(t *testing.T) {
	d := newTestTextDetector(t)
	page := testPhoto(t, "ocr/page.png")
	// The engine halves large decodes once and gives the detector that
	// copy to scan; lines are still read from the full image.
	big := page.Resize(2*page.Width, 2*page.Height)
	for _, tc := range []struct {
		name      string
		img, scan *imageio.Image
	}{
		{"page", page, page},
		{"page-x2-scanned-at-half", big, page},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts, err := d.detectScaled(t.Context(), tc.img, tc.scan)
			if err != nil {
				t.Fatal(err)
			}
			checkPageText(t, ts)
		})
	}
}

func checkPageText(t *testing.T, ts []vision.TextDetection) {
	t.Helper()
	lines := checkTextShape(t, ts)
	if len(lines) < 7 {
		t.Fatalf("found %d lines, want at least 7: %q", len(lines), lines)
	}
	if lines[0] != "Region-based segmentation" {
		t.Errorf("first line %q, want the heading", lines[0])
	}
	all := strings.Join(lines, "\n")
	for _, w := range []string{"Let us first determine markers of the coins", "the markers are found at the two extreme parts", "histogram of grey values", "background", "unambiguously"} {
		if !strings.Contains(all, w) {
			t.Errorf("text lacks %q:\n%s", w, all)
		}
	}
}

// TestTextDetectorSmallTextInLargeImage reads lines a few percent of the
// image high in a 2000x1500 image, the copy the engine scans a 12 MP
// photo at: the detector input is then at most MaxSide (800) wide.
func TestTextDetectorSmallTextInLargeImage(t *testing.T) {
	d := newTestTextDetector(t)
	text := []string{"The quick brown fox jumps over 12 lazy dogs", "Amazon Rekognition shapes: LINE and WORD"}
	for _, size := range []float64{16, 24, 28} {
		t.Run(fmt.Sprintf("%.0fpt", size), func(t *testing.T) {
			ts, err := d.Detect(t.Context(), renderText(t, text, size, 0, 2000, 1500))
			if err != nil {
				t.Fatal(err)
			}
			lines := checkTextShape(t, ts)
			if size < 24 {
				// Found and read; a space may be lost at this size.
				for i := range lines {
					lines[i] = strings.ReplaceAll(lines[i], " ", "")
				}
				want := []string{strings.ReplaceAll(text[0], " ", ""), strings.ReplaceAll(text[1], " ", "")}
				if !slices.Equal(lines, want) {
					t.Fatalf("read %q, want %q (spaces ignored)", lines, want)
				}
				return
			}
			if !slices.Equal(lines, text) {
				t.Fatalf("read %q, want %q", lines, text)
			}
		})
	}
}

// renderText draws lines of text with the Go font, black on white, and
// turns the result by angle degrees (counter-clockwise as seen) into a
// w x h image.
func renderText(tb testing.TB, lines []string, size float64, angle float64, w, h int) *imageio.Image {
	tb.Helper()
	ft, err := opentype.Parse(goregular.TTF)
	if err != nil {
		tb.Fatal(err)
	}
	face, err := opentype.NewFace(ft, &opentype.FaceOptions{Size: size, DPI: 72, Hinting: font.HintingFull})
	if err != nil {
		tb.Fatal(err)
	}
	defer face.Close()
	canvas := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.Draw(canvas, canvas.Bounds(), image.White, image.Point{}, draw.Src)
	dr := &font.Drawer{Dst: canvas, Src: image.NewUniform(color.Black), Face: face}
	lineH := int(size * 1.8)
	top := (h - lineH*len(lines)) / 2
	for i, l := range lines {
		adv := dr.MeasureString(l).Round()
		dr.Dot = fixed.P((w-adv)/2, top+lineH*i+int(size))
		dr.DrawString(l)
	}
	flat := make([]uint8, w*h*3)
	for i := range w * h {
		copy(flat[i*3:i*3+3], canvas.Pix[i*4:i*4+3])
	}
	// Sampling the canvas through a rectangle turned by -angle shows the
	// text turned by +angle.
	r := rotatedRect{CX: float64(w) / 2, CY: float64(h) / 2, W: float64(w), H: float64(h), Angle: angle * math.Pi / 180}
	return &imageio.Image{Pix: rotatedCrop(flat, w, h, r, w, h, true), Width: w, Height: h}
}

func TestTextDetectorTiltedLines(t *testing.T) {
	d := newTestTextDetector(t)
	text := []string{"The quick brown fox jumps over 12 lazy dogs", "Amazon Rekognition shapes: LINE and WORD"}
	for _, angle := range []float64{0, 8, -15, 35, 150, 180} {
		t.Run(fmt.Sprintf("angle%+.0f", angle), func(t *testing.T) {
			if math.Abs(angle) > 45 && d.cls == nil {
				t.Skipf("text at %.0f degrees needs the direction classifier %s, not installed", angle, ocrClsFile)
			}
			img := renderText(t, text, 28, angle, 900, 900)
			ts, err := d.Detect(t.Context(), img)
			if err != nil {
				t.Fatal(err)
			}
			lines := checkTextShape(t, ts)
			want := slices.Clone(text)
			if math.Abs(angle) > 90 {
				slices.Reverse(want) // the first line is now at the bottom
			}
			if !slices.Equal(lines, want) {
				t.Fatalf("read %q, want %q", lines, want)
			}
			// Each line's polygon follows the tilt: its top edge, in reading
			// order, turns by angle (y grows downwards).
			// The polygon starts at the image's top-left corner of the
			// rectangle (Rekognition's order), so for upside-down text its
			// first edge runs against the reading direction.
			edge := angle
			if math.Cos(angle*math.Pi/180) < 0 {
				edge -= 180
			}
			for _, d := range ts[:len(lines)] {
				p := d.Geometry.Polygon
				dx := (p[1].X - p[0].X) * float64(img.Width)
				dy := (p[1].Y - p[0].Y) * float64(img.Height)
				if got := -math.Atan2(dy, dx) * 180 / math.Pi; math.Abs(math.Remainder(got-edge, 360)) > 2 {
					t.Errorf("line %q polygon's first edge is tilted %.1f degrees, want %.0f", d.DetectedText, got, edge)
				}
			}
			dir := [2]float64{math.Cos(angle * math.Pi / 180), -math.Sin(angle * math.Pi / 180)}
			// Words follow one another along the reading direction.
			var prev vision.TextDetection
			for _, w := range ts {
				if w.Type != vision.TextWord {
					continue
				}
				if prev.ParentID != nil && *prev.ParentID == *w.ParentID {
					along := func(d vision.TextDetection) float64 {
						b := d.Geometry.BoundingBox
						return (b.Left+b.Width/2)*float64(img.Width)*dir[0] + (b.Top+b.Height/2)*float64(img.Height)*dir[1]
					}
					if along(w) <= along(prev) {
						t.Errorf("WORD %q not after %q along the line", w.DetectedText, prev.DetectedText)
					}
				}
				prev = w
			}
		})
	}
}

// wordSpans returns, for text drawn by renderText at angle 0, each
// word's horizontal extent in pixels (advance widths, so a little wider
// than the ink).
func wordSpans(tb testing.TB, line string, size float64, w int) [][2]float64 {
	tb.Helper()
	ft, err := opentype.Parse(goregular.TTF)
	if err != nil {
		tb.Fatal(err)
	}
	face, err := opentype.NewFace(ft, &opentype.FaceOptions{Size: size, DPI: 72, Hinting: font.HintingFull})
	if err != nil {
		tb.Fatal(err)
	}
	defer face.Close()
	left := float64(w-font.MeasureString(face, line).Round()) / 2
	var out [][2]float64
	pos := 0
	for _, word := range strings.Split(line, " ") {
		x0 := left + float64(font.MeasureString(face, line[:pos]).Round())
		x1 := left + float64(font.MeasureString(face, line[:pos+len(word)]).Round())
		out = append(out, [2]float64{x0, x1})
		pos += len(word) + 1
	}
	return out
}

// TestTextDetectorWordBoxes checks WORD boxes against where the words were
// drawn: each covers its own word and does not reach the middle of a
// neighbour.
func TestTextDetectorWordBoxes(t *testing.T) {
	d := newTestTextDetector(t)
	line := "The quick brown fox jumps over 12 lazy dogs"
	const size, w, h = 28, 900, 200
	img := renderText(t, []string{line}, size, 0, w, h)
	ts, err := d.Detect(t.Context(), img)
	if err != nil {
		t.Fatal(err)
	}
	var words []vision.TextDetection
	for _, d := range ts {
		if d.Type == vision.TextWord {
			words = append(words, d)
		}
	}
	spans := wordSpans(t, line, size, w)
	if len(words) != len(spans) {
		t.Fatalf("%d words, want %d", len(words), len(spans))
	}
	for i, word := range words {
		b := word.Geometry.BoundingBox
		l, r := b.Left*w, (b.Left+b.Width)*w
		s := spans[i]
		slack := 0.25 * size // side bearings and resampling
		if l > s[0]+slack || r < s[1]-slack {
			t.Errorf("WORD %q spans %.0f-%.0f px, drawn at %.0f-%.0f", word.DetectedText, l, r, s[0], s[1])
		}
		if i > 0 && l < (spans[i-1][0]+spans[i-1][1])/2 {
			t.Errorf("WORD %q starts at %.0f px, inside %q", word.DetectedText, l, words[i-1].DetectedText)
		}
		if i < len(spans)-1 && r > (spans[i+1][0]+spans[i+1][1])/2 {
			t.Errorf("WORD %q ends at %.0f px, inside %q", word.DetectedText, r, words[i+1].DetectedText)
		}
	}
}

// TestTextDetectorNoText: photos without legible text give (nearly)
// nothing. The launch lights in rocket.jpg once read as the Han
// character "米"; East Asian scripts are not read by default.
func TestTextDetectorNoText(t *testing.T) {
	d := newTestTextDetector(t)
	for _, tt := range []struct {
		photo string
		max   int
	}{
		{"astronaut.jpg", 2},
		{"rocket.jpg", 0},
	} {
		t.Run(tt.photo, func(t *testing.T) {
			ts, err := d.Detect(t.Context(), testPhoto(t, tt.photo))
			if err != nil {
				t.Fatal(err)
			}
			if ts == nil {
				t.Fatal("nil result, want an empty list")
			}
			checkTextShape(t, ts)
			if len(ts) > tt.max {
				t.Errorf("found %d text detections, want at most %d: %+v", len(ts), tt.max, ts)
			}
		})
	}
}

func BenchmarkTextDetect(b *testing.B) {
	d := newTestTextDetector(b)
	for _, bc := range []struct {
		name string
		img  *imageio.Image
	}{
		{"page-384x191", testPhoto(b, "ocr/page.png")},
		{"synthetic-2lines-900x500", renderText(b, []string{"The quick brown fox jumps over 12 lazy dogs", "Amazon Rekognition shapes: LINE and WORD"}, 28, 8, 900, 500)},
		{"no-text-4000x2667", testPhoto(b, "rocket.jpg").Resize(4000, 2667)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			start := detectorCPU(b)
			for b.Loop() {
				if _, err := d.Detect(context.Background(), bc.img); err != nil {
					b.Fatal(err)
				}
			}
			reportDetectorCPU(b, start)
		})
	}
}

// TestDetectorsOddSizes runs both detectors on degenerate images: tiny,
// thin and very wide. They must not fail and find nothing in flat grey.
func TestDetectorsOddSizes(t *testing.T) {
	faces := newTestFaceDetector(t, FaceOptions{})
	text := newTestTextDetector(t)
	for _, sz := range [][2]int{{1, 1}, {7, 300}, {300, 7}, {3000, 40}, {33, 4500}} {
		t.Run(fmt.Sprintf("%dx%d", sz[0], sz[1]), func(t *testing.T) {
			img := &imageio.Image{Width: sz[0], Height: sz[1], Pix: make([]uint8, sz[0]*sz[1]*3)}
			for i := range img.Pix {
				img.Pix[i] = 128
			}
			fs, err := faces.Detect(t.Context(), img)
			if err != nil || len(fs) != 0 {
				t.Errorf("faces: %v, %v", fs, err)
			}
			ts, err := text.Detect(t.Context(), img)
			if err != nil || len(ts) != 0 {
				t.Errorf("text: %v, %v", ts, err)
			}
		})
	}
}

// TestDetectorsConcurrent runs both detectors from several goroutines at
// once: the results must equal the sequential ones (run with -race).
func TestDetectorsConcurrent(t *testing.T) {
	faces := newTestFaceDetector(t, FaceOptions{})
	text := newTestTextDetector(t)
	img := testPhoto(t, "astronaut.jpg")
	page := testPhoto(t, "ocr/page.png")
	wantF, err := faces.Detect(t.Context(), img)
	if err != nil {
		t.Fatal(err)
	}
	wantT, err := text.Detect(t.Context(), page)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			gotF, err := faces.Detect(t.Context(), img)
			if err != nil || !reflect.DeepEqual(gotF, wantF) {
				t.Errorf("concurrent faces differ: %v", err)
			}
			gotT, err := text.Detect(t.Context(), page)
			if err != nil || !reflect.DeepEqual(gotT, wantT) {
				t.Errorf("concurrent text differs: %v", err)
			}
		})
	}
	wg.Wait()
}

// TestRectGeometryOrder checks Rekognition's polygon order (top-left,
// top-right, bottom-right, bottom-left in the image) for upright, tilted
// and upside-down rectangles.
func TestRectGeometryOrder(t *testing.T) {
	t.Parallel()
	for _, deg := range []float64{0, 10, -20, 180, 170, -175} {
		t.Run(fmt.Sprint(deg), func(t *testing.T) {
			t.Parallel()
			r := rotatedRect{CX: 50, CY: 50, W: 60, H: 10, Angle: deg * math.Pi / 180}
			p := rectGeometry(r, 100, 100).Polygon
			// TL is left of TR and above BL; BR is right of BL.
			if !(p[0].X < p[1].X && p[0].Y < p[3].Y && p[2].X > p[3].X && p[1].Y < p[2].Y) {
				t.Errorf("polygon %v is not TL, TR, BR, BL", p)
			}
		})
	}
}

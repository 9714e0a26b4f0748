package imageio

import (
	"fmt"
	"image"
	"image/color"
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// fromRGBA converts a test image to an *Image.
func fromRGBA(m image.Image) *Image {
	pix, w, h := toRGB(m)
	return &Image{Pix: pix, Width: w, Height: h}
}

func TestResizeConstant(t *testing.T) {
	t.Parallel()
	src := &Image{Width: 37, Height: 23, Pix: make([]uint8, 3*37*23)}
	for i := range src.Pix {
		src.Pix[i] = []uint8{200, 100, 7}[i%3]
	}
	for _, size := range [][2]int{{1, 1}, {5, 3}, {18, 11}, {36, 22}, {37, 23}, {38, 23}, {100, 7}, {224, 224}} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			t.Parallel()
			out := src.Resize(size[0], size[1])
			if out.Width != size[0] || out.Height != size[1] || len(out.Pix) != 3*size[0]*size[1] {
				t.Fatalf("got %dx%d with %d bytes", out.Width, out.Height, len(out.Pix))
			}
			for i, v := range out.Pix {
				if want := []uint8{200, 100, 7}[i%3]; v != want {
					t.Fatalf("byte %d = %d, want %d", i, v, want)
				}
			}
		})
	}
}

func TestResizeValues(t *testing.T) {
	t.Parallel()
	grey := func(w, h int, v ...uint8) *Image {
		im := &Image{Width: w, Height: h}
		for _, x := range v {
			im.Pix = append(im.Pix, x, x, x)
		}
		return im
	}
	tests := []struct {
		name string
		src  *Image
		w, h int
		want []uint8 // grey values
	}{
		{"area 2x", grey(4, 2, 0, 100, 50, 50, 200, 100, 50, 50), 2, 1, []uint8{100, 50}},
		{"area 3x", grey(6, 1, 0, 30, 60, 90, 90, 90), 2, 1, []uint8{30, 90}},
		{"area 1.5x", grey(3, 1, 0, 100, 200), 2, 1, []uint8{33, 167}},
		{"bilinear 2x", grey(2, 1, 0, 255), 4, 1, []uint8{0, 64, 191, 255}},
		{"halve 2x2 blocks", grey(4, 2, 0, 1, 2, 3, 1, 1, 1, 2), 2, 1, []uint8{1, 2}},
		{"vertical", grey(1, 2, 0, 255), 1, 4, []uint8{0, 64, 191, 255}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			out := tt.src.Resize(tt.w, tt.h)
			var got []uint8
			for i := 0; i < len(out.Pix); i += 3 {
				got = append(got, out.Pix[i])
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got)\n%s", diff)
			}
		})
	}
}

// TestResizeHalve checks the 2x2 fast path against the rounded mean of
// each block, on every channel of a noisy image.
func TestResizeHalve(t *testing.T) {
	t.Parallel()
	const w, h = 38, 22
	im := &Image{Width: w, Height: h, Pix: make([]uint8, 3*w*h)}
	seed := uint32(3)
	for i := range im.Pix {
		seed = seed*1664525 + 1013904223
		im.Pix[i] = uint8(seed >> 24)
	}
	out := im.Resize(w/2, h/2)
	for y := range h / 2 {
		for x := range w / 2 {
			for c := range 3 {
				at := func(x, y int) float64 { return float64(im.Pix[3*(y*w+x)+c]) }
				mean := (at(2*x, 2*y) + at(2*x+1, 2*y) + at(2*x, 2*y+1) + at(2*x+1, 2*y+1)) / 4
				want := uint8(math.Floor(mean + 0.5))
				if got := out.Pix[3*(y*(w/2)+x)+c]; got != want {
					t.Fatalf("(%d,%d) channel %d = %d, want %d", x, y, c, got, want)
				}
			}
		}
	}
}

func TestCrop(t *testing.T) {
	t.Parallel()
	src := fromRGBA(markerImage(128, 96)) // red block 0..31 x 0..23
	src.Format, src.SourceWidth, src.SourceHeight = "jpeg", 128, 96
	c := src.Crop(image.Rect(16, 12, 48, 36))
	if c.Width != 32 || c.Height != 24 || c.Format != "jpeg" || c.SourceWidth != 128 {
		t.Fatalf("crop is %dx%d %q source %d", c.Width, c.Height, c.Format, c.SourceWidth)
	}
	if got := c.pixel(0, 0); got != red {
		t.Errorf("(0,0) = %v, want red", got)
	}
	if got := c.pixel(31, 23); got != grey {
		t.Errorf("(31,23) = %v, want grey", got)
	}
	if c := src.Crop(image.Rect(120, 90, 200, 200)); c.Width != 8 || c.Height != 6 {
		t.Errorf("clipped crop is %dx%d, want 8x6", c.Width, c.Height)
	}
	if c := src.Crop(image.Rect(200, 200, 300, 300)); c.Width != 0 || len(c.Pix) != 0 {
		t.Errorf("crop outside is %dx%d", c.Width, c.Height)
	}
}

func TestCropRotated(t *testing.T) {
	t.Parallel()
	src := fromRGBA(markerImage(128, 96))
	t.Run("angle 0 equals Crop", func(t *testing.T) {
		t.Parallel()
		got := src.CropRotated(40, 30, 64, 48, 0, 64, 48)
		want := src.Crop(image.Rect(8, 6, 72, 54))
		if diff := cmp.Diff(want.Pix, got.Pix); diff != "" {
			t.Errorf("(-Crop +CropRotated)\n%s", diff)
		}
	})
	t.Run("angle 90", func(t *testing.T) {
		t.Parallel()
		// The width axis points down the image: output x runs along image
		// y, output y along image -x.
		out := src.CropRotated(64, 48, 96, 128, 90, 96, 128)
		for _, c := range []struct {
			x, y int
			want color.RGBA
		}{
			{5, 5, green},   // image top-right
			{5, 122, red},   // image top-left
			{90, 122, blue}, // image bottom-left
			{90, 5, grey},   // image bottom-right
			{48, 64, grey},  // centre
		} {
			if got := out.pixel(c.x, c.y); !near(got, c.want, 2) {
				t.Errorf("(%d,%d) = %v, want %v", c.x, c.y, got, c.want)
			}
		}
	})
	t.Run("shrunk 45 degrees stays in range", func(t *testing.T) {
		t.Parallel()
		out := src.CropRotated(64, 48, 300, 40, 45, 30, 4)
		if out.Width != 30 || out.Height != 4 || len(out.Pix) != 3*30*4 {
			t.Fatalf("got %dx%d", out.Width, out.Height)
		}
	})
}

func TestLetterbox(t *testing.T) {
	t.Parallel()
	src := &Image{Width: 200, Height: 100, Pix: make([]uint8, 3*200*100)}
	for i := range src.Pix {
		src.Pix[i] = 255
	}
	out, scale, padX, padY := src.Letterbox(100)
	if out.Width != 100 || out.Height != 100 || scale != 0.5 || padX != 0 || padY != 25 {
		t.Fatalf("got %dx%d scale %v pad %d,%d", out.Width, out.Height, scale, padX, padY)
	}
	for _, p := range []struct {
		x, y int
		want uint8
	}{{50, 10, 0}, {50, 24, 0}, {50, 25, 255}, {50, 74, 255}, {50, 75, 0}, {0, 50, 255}, {99, 50, 255}} {
		if got := out.pixel(p.x, p.y).R; got != p.want {
			t.Errorf("(%d,%d) = %d, want %d", p.x, p.y, got, p.want)
		}
	}
}

// TestWindows: the one filter's windows stay inside the source and their
// weights sum to one, shrinking and enlarging.
func TestWindows(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ n, m int }{{100, 10}, {10, 100}, {7, 3}, {3, 7}, {5, 5}, {1, 4}, {4000, 512}} {
		for i, c := range Windows(tc.n, tc.m) {
			var s float64
			for _, w := range c.Weights {
				s += w
			}
			if math.Abs(s-1) > 1e-9 || c.First < 0 || c.First+len(c.Weights) > tc.n {
				t.Fatalf("%d->%d: output %d: first %d weights %v", tc.n, tc.m, i, c.First, c.Weights)
			}
		}
	}
}

// TestResampleRowsAgreesWithResize: the float rows round to within one
// level of Resize's fixed-point bytes (Resize rounds after each pass).
func TestResampleRowsAgreesWithResize(t *testing.T) {
	t.Parallel()
	im := &Image{Pix: make([]uint8, 3*97*61), Width: 97, Height: 61}
	for i := range im.Pix {
		im.Pix[i] = uint8(i * 37 % 251)
	}
	for _, sz := range [][2]int{{40, 25}, {97, 61}, {150, 90}, {13, 61}} {
		want := im.Resize(sz[0], sz[1])
		im.ResampleRows(sz[0], sz[1], func(y int, row []float32) {
			for i, v := range row {
				got := int(math.Floor(float64(v) + 0.5))
				if d := got - int(want.Pix[y*sz[0]*3+i]); d < -1 || d > 1 {
					t.Fatalf("%dx%d: row %d value %d: %v, Resize %d", sz[0], sz[1], y, i, v, want.Pix[y*sz[0]*3+i])
				}
			}
		})
	}
}

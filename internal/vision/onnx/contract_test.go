package onnx

import (
	"bytes"
	"image"
	"image/color"
	"image/gif"
	"image/png"
	"strings"
	"testing"

	"github.com/imagerec/imagerec/internal/vision"
)

func grayPNG(t *testing.T, w, h int) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, image.NewGray(image.Rect(0, 0, w, h))); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestRecognizeMinimumSide checks Rekognition's 80 px minimum: a smaller
// side is an InvalidParameterException naming the minimum, 80 x 80 is
// analysed.
func TestRecognizeMinimumSide(t *testing.T) {
	e := testEngine(t)
	tests := []struct {
		w, h int
		ok   bool
	}{{1, 1, false}, {79, 80, false}, {80, 79, false}, {1000, 20, false}, {80, 80, true}}
	for _, tt := range tests {
		_, err := e.Recognize(t.Context(), vision.Input{Bytes: grayPNG(t, tt.w, tt.h)}, vision.Options{})
		switch {
		case tt.ok && err != nil:
			t.Errorf("%dx%d: %v", tt.w, tt.h, err)
		case !tt.ok && (vision.CodeOf(err) != vision.CodeInvalidParameter || !strings.Contains(err.Error(), "at least 80")):
			t.Errorf("%dx%d: err = %v, want InvalidParameterException naming the 80 px minimum", tt.w, tt.h, err)
		}
	}
}

// TestRecognizeGIFScreenSize checks that a GIF reports its logical screen
// size, not its first frame's.
func TestRecognizeGIFScreenSize(t *testing.T) {
	e := testEngine(t)
	frame := image.NewPaletted(image.Rect(0, 0, 16, 16), color.Palette{color.Black, color.White})
	var b bytes.Buffer
	if err := gif.EncodeAll(&b, &gif.GIF{Image: []*image.Paletted{frame}, Delay: []int{0},
		Config: image.Config{Width: 2000, Height: 2000, ColorModel: frame.Palette}}); err != nil {
		t.Fatal(err)
	}
	res, err := e.Recognize(t.Context(), vision.Input{Bytes: b.Bytes()}, vision.Options{Features: []vision.Feature{vision.FeatureLabels}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Image.Width != 2000 || res.Image.Height != 2000 || res.Image.Format != "gif" {
		t.Fatalf("Image = %+v, want the 2000x2000 logical screen", res.Image)
	}
}

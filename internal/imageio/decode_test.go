package imageio

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"path/filepath"
	"strings"
	"testing"
)

func TestDecodeFiles(t *testing.T) {
	t.Parallel()
	video := "testdata/video-001.png"
	tests := []struct {
		file   string
		format string
		w, h   int
		ref    string  // reference rendering, compared by mean absolute difference
		maxMAD float64 // allowed mean absolute difference per channel
	}{
		{"testdata/video-001.jpeg", "jpeg", 150, 103, video, 4},
		{"testdata/video-001.progressive.jpeg", "jpeg", 150, 103, video, 4},
		{"testdata/video-001.cmyk.jpeg", "jpeg", 150, 103, "testdata/video-001.cmyk.png", 3},
		{"testdata/video-005.gray.jpeg", "jpeg", 150, 103, "", 0},
		{"testdata/video-001.png", "png", 150, 103, video, 0},
		{"testdata/video-001.gif", "gif", 150, 103, video, 8},
		{"testdata/video-001.lossy.webp", "webp", 150, 103, video, 12}, // lossy at low quality
		{"testdata/video-001.tiff", "tiff", 150, 103, video, 0},
		{"testdata/video-001.bmp", "bmp", 150, 103, video, 0},
		{"testdata/blue-purple-pink.lzwcompressed.tiff", "tiff", 0, 0, "", 0},
		{"testdata/gopher-doc.with-alpha.lossless.webp", "webp", 0, 0, "", 0},
		{"testdata/video-001.progressive.truncated.jpeg", "jpeg", 150, 103, "", 0}, // valid: fewer scans, not a cut file
		{"testdata/chelsea.heic", "heic", 451, 300, sharedImages + "chelsea.jpg", 6},
		{"testdata/chelsea.avif", "avif", 451, 300, sharedImages + "chelsea.jpg", 6},
	}
	for _, tt := range tests {
		t.Run(filepath.Base(tt.file), func(t *testing.T) {
			t.Parallel()
			im, err := Decode(t.Context(), readFile(t, tt.file), Options{})
			if err != nil {
				if tt.format == "heic" || tt.format == "avif" {
					if code := CodeOf(err); code == CodeInvalidFormat && strings.Contains(err.Error(), "needs libheif") {
						t.Skipf("no libheif here: %v", err)
					}
				}
				t.Fatal(err)
			}
			if im.Format != tt.format {
				t.Errorf("Format = %q, want %q", im.Format, tt.format)
			}
			if tt.w != 0 && (im.Width != tt.w || im.Height != tt.h) {
				t.Errorf("size %dx%d, want %dx%d", im.Width, im.Height, tt.w, tt.h)
			}
			if len(im.Pix) != 3*im.Width*im.Height || im.SourceWidth != im.Width || im.SourceHeight != im.Height {
				t.Errorf("inconsistent image: %d bytes, %dx%d, source %dx%d", len(im.Pix), im.Width, im.Height, im.SourceWidth, im.SourceHeight)
			}
			if im.OrientationCorrection != "ROTATE_0" {
				t.Errorf("OrientationCorrection = %q", im.OrientationCorrection)
			}
			if tt.ref != "" {
				ref, _, err := image.Decode(bytes.NewReader(readFile(t, tt.ref)))
				if err != nil {
					t.Fatal(err)
				}
				if mad := meanAbsDiff(t, im, ref); mad > tt.maxMAD {
					t.Errorf("mean abs difference from %s = %.2f, want <= %.1f", tt.ref, mad, tt.maxMAD)
				}
			}
		})
	}
}

func TestDecodeGrayIsGray(t *testing.T) {
	t.Parallel()
	im, err := Decode(t.Context(), readFile(t, "testdata/video-005.gray.jpeg"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < len(im.Pix); i += 3 {
		if im.Pix[i] != im.Pix[i+1] || im.Pix[i] != im.Pix[i+2] {
			t.Fatalf("pixel %d is %v, not grey", i/3, im.Pix[i:i+3])
		}
	}
}

// TestDecodeRealPhotos decodes the shared photos and checks the JPEG path
// against Go's independent decoder.
func TestDecodeRealPhotos(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(sharedImages + "*.*")
	if err != nil || len(files) == 0 {
		t.Fatalf("no shared photos in %s: %v", sharedImages, err)
	}
	for _, f := range files {
		if strings.HasSuffix(f, ".md") {
			continue
		}
		t.Run(filepath.Base(f), func(t *testing.T) {
			t.Parallel()
			data := readFile(t, f)
			im, err := Decode(t.Context(), data, Options{})
			if err != nil {
				t.Fatal(err)
			}
			ref, _, err := image.Decode(bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			if mad := meanAbsDiff(t, im, ref); mad > 1.5 {
				t.Errorf("differs from Go's decoder by %.2f per channel", mad)
			}
		})
	}
}

func TestOrientation(t *testing.T) {
	t.Parallel()
	// Which visual side the stored row 0 and column 0 are on, per the
	// EXIF/TIFF definition of the Orientation tag.
	sides := map[int][2]string{
		1: {"top", "left"}, 2: {"top", "right"}, 3: {"bottom", "right"}, 4: {"bottom", "left"},
		5: {"left", "top"}, 6: {"right", "top"}, 7: {"right", "bottom"}, 8: {"left", "bottom"},
	}
	opposite := map[string]string{"top": "bottom", "bottom": "top", "left": "right", "right": "left"}
	correction := map[int]string{1: "ROTATE_0", 2: "ROTATE_0", 3: "ROTATE_180", 4: "ROTATE_180",
		5: "ROTATE_270", 6: "ROTATE_90", 7: "ROTATE_90", 8: "ROTATE_270"}
	const sw, sh = 128, 96
	stored := encodeJPEG(t, markerImage(sw, sh), 95)
	for o := 1; o <= 8; o++ {
		for _, be := range []bool{false, true} {
			for _, target := range []int{0, 32} {
				t.Run(fmt.Sprintf("o%d/be=%v/target=%d", o, be, target), func(t *testing.T) {
					t.Parallel()
					im, err := Decode(t.Context(), withEXIF(stored, o, be), Options{TargetMaxSide: target})
					if err != nil {
						t.Fatal(err)
					}
					uw, uh := sw, sh
					if o >= 5 {
						uw, uh = sh, sw
					}
					if im.SourceWidth != uw || im.SourceHeight != uh {
						t.Errorf("source size %dx%d, want %dx%d", im.SourceWidth, im.SourceHeight, uw, uh)
					}
					d := 1
					if target > 0 {
						d = 4
					}
					if im.Width != uw/d || im.Height != uh/d {
						t.Errorf("size %dx%d, want %dx%d", im.Width, im.Height, uw/d, uh/d)
					}
					if im.Orientation != o || im.OrientationCorrection != correction[o] {
						t.Errorf("orientation %d %s, want %d %s", im.Orientation, im.OrientationCorrection, o, correction[o])
					}
					// corner returns the centre of the marker block in the
					// upright corner where sides a and b meet.
					corner := func(a, b string) (int, int) {
						x, y := im.Width/8, im.Height/8
						for _, s := range []string{a, b} {
							switch s {
							case "right":
								x = im.Width - 1 - im.Width/8
							case "bottom":
								y = im.Height - 1 - im.Height/8
							}
						}
						return x, y
					}
					row, col := sides[o][0], sides[o][1]
					for _, c := range []struct {
						name string
						want color.RGBA
						a, b string
					}{
						{"stored top-left (red)", red, row, col},
						{"stored top-right (green)", green, row, opposite[col]},
						{"stored bottom-left (blue)", blue, opposite[row], col},
						{"stored bottom-right (grey)", grey, opposite[row], opposite[col]},
					} {
						x, y := corner(c.a, c.b)
						if got := im.pixel(x, y); !near(got, c.want, 40) {
							t.Errorf("%s: upright %s-%s corner (%d,%d) is %v, want %v", c.name, c.a, c.b, x, y, got, c.want)
						}
					}
				})
			}
		}
	}
}

func TestDCTScaling(t *testing.T) {
	t.Parallel()
	data := encodeJPEG(t, markerImage(1001, 750), 90)
	tests := []struct {
		target, w, h int
	}{
		{0, 1001, 750},
		{1001, 1001, 750},
		{1000, 1001, 750},
		{501, 501, 375},
		{500, 501, 375},
		{251, 251, 188},
		{200, 251, 188},
		{126, 126, 94},
		{1, 126, 94},
		{5000, 1001, 750},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.target), func(t *testing.T) {
			t.Parallel()
			im, err := Decode(t.Context(), data, Options{TargetMaxSide: tt.target})
			if err != nil {
				t.Fatal(err)
			}
			if im.Width != tt.w || im.Height != tt.h || im.SourceWidth != 1001 || im.SourceHeight != 750 {
				t.Errorf("got %dx%d of %dx%d, want %dx%d of 1001x750", im.Width, im.Height, im.SourceWidth, im.SourceHeight, tt.w, tt.h)
			}
			if got := im.pixel(im.Width/8, im.Height/8); !near(got, red, 40) {
				t.Errorf("top-left block is %v", got)
			}
		})
	}
}

func TestPNGAlphaOverWhite(t *testing.T) {
	t.Parallel()
	m := image.NewNRGBA(image.Rect(0, 0, 40, 20))
	for y := 0; y < 20; y++ {
		for x := 0; x < 40; x++ {
			switch {
			case x < 20:
				m.SetNRGBA(x, y, color.NRGBA{0, 0, 0, 0}) // transparent black
			default:
				m.SetNRGBA(x, y, color.NRGBA{255, 0, 0, 128}) // half red
			}
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, m); err != nil {
		t.Fatal(err)
	}
	im, err := Decode(t.Context(), b.Bytes(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := im.pixel(5, 5); got != (color.RGBA{255, 255, 255, 255}) {
		t.Errorf("transparent pixel = %v, want white", got)
	}
	if got := im.pixel(30, 5); !near(got, color.RGBA{255, 127, 127, 255}, 1) {
		t.Errorf("half-transparent red = %v, want pink", got)
	}
}

func TestDecodeErrors(t *testing.T) {
	t.Parallel()
	dog := readFile(t, sharedImages+"dog.jpg")
	progressive := readFile(t, "testdata/video-001.progressive.jpeg")
	small := encodeJPEG(t, markerImage(64, 48), 90)
	random := make([]byte, 4096)
	for i := range random {
		random[i] = byte(i*7919 + i*i*31) // deterministic, not text
	}
	tests := []struct {
		name string
		data []byte
		opt  Options
		code Code
		msg  string // substring of the error message
	}{
		{"empty", nil, Options{}, CodeInvalidFormat, "empty file"},
		{"random bytes", random, Options{}, CodeInvalidFormat, "not an image"},
		{"pdf", []byte("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n"), Options{}, CodeInvalidFormat, "PDF document"},
		{"text", []byte("Hello, this is a note.\nNot a picture.\n"), Options{}, CodeInvalidFormat, "text"},
		{"html", []byte("<!DOCTYPE html><html><body>404</body></html>"), Options{}, CodeInvalidFormat, "HTML"},
		{"svg", []byte(`<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>`), Options{}, CodeInvalidFormat, "SVG"},
		{"zip", []byte("PK\x03\x04\x14\x00\x00\x00"), Options{}, CodeInvalidFormat, "ZIP"},
		{"mp4", append([]byte("\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"), make([]byte, 64)...), Options{}, CodeInvalidFormat, "video"},
		{"jpeg signature only", []byte{0xFF, 0xD8, 0xFF}, Options{}, CodeInvalidFormat, "corrupt JPEG"},
		{"jpeg header only", dog[:600], Options{}, CodeInvalidFormat, "JPEG"},
		{"jpeg half", dog[:len(dog)/2], Options{}, CodeInvalidFormat, "truncated JPEG"},
		{"jpeg minus 100 bytes", dog[:len(dog)-100], Options{}, CodeInvalidFormat, "truncated JPEG"},
		{"progressive half", progressive[:len(progressive)/2], Options{}, CodeInvalidFormat, "truncated JPEG"},
		{"jpeg corrupt scan", corruptScan(dog), Options{}, CodeInvalidFormat, "JPEG"},
		{"png half", readFile(t, "testdata/video-001.png")[:10000], Options{}, CodeInvalidFormat, "truncated PNG"},
		{"gif header only", readFile(t, "testdata/video-001.gif")[:20], Options{}, CodeInvalidFormat, "GIF"},
		{"webp truncated", readFile(t, "testdata/video-001.lossy.webp")[:200], Options{}, CodeInvalidFormat, "WebP"},
		{"heic garbage", append([]byte("\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic"), make([]byte, 64)...), Options{}, CodeInvalidFormat, "HEIC"},
		{"too many bytes", dog, Options{Limits: Limits{MaxBytes: 1000}}, CodeTooLarge, "bytes"},
		{"too many pixels", dog, Options{Limits: Limits{MaxPixels: 1000}}, CodeTooLarge, "megapixels"},
		{"side too long", dog, Options{Limits: Limits{MaxSide: 700}}, CodeTooLarge, "largest side"},
		{"side too short", small, Options{Limits: Limits{MinSide: 80}}, CodeTooSmall, "at least 80"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			im, err := Decode(t.Context(), tt.data, tt.opt)
			if err == nil {
				t.Fatalf("decoded a %dx%d image, want error %s", im.Width, im.Height, tt.code)
			}
			var ve *Error
			if !errors.As(err, &ve) {
				t.Fatalf("error %v (%T) is not a *Error", err, err)
			}
			if ve.Code != tt.code || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %q, want code %s containing %q", err, tt.code, tt.msg)
			}
		})
	}
}

// corruptScan overwrites a stretch in the middle of the entropy-coded data.
func corruptScan(jpg []byte) []byte {
	b := append([]byte{}, jpg...)
	for i := len(b) / 2; i < len(b)/2+2000; i++ {
		b[i] = 0xFF
		if i%2 == 1 {
			b[i] = 0xC4 // FF C4 inside scan data: a marker where data should be
		}
	}
	return b
}

func TestDecodeLimitsDisabled(t *testing.T) {
	t.Parallel()
	dog := readFile(t, sharedImages+"dog.jpg")
	_, err := Decode(t.Context(), dog, Options{Limits: Limits{MaxBytes: -1, MaxPixels: -1, MaxSide: -1, MinSide: -1}})
	if err != nil {
		t.Fatal(err)
	}
}

func TestDecodeCanceled(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := Decode(ctx, readFile(t, sharedImages+"dog.jpg"), Options{}); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

func TestSniff(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file, want string
	}{
		{"testdata/video-001.jpeg", "jpeg"},
		{"testdata/video-001.png", "png"},
		{"testdata/video-001.gif", "gif"},
		{"testdata/video-001.lossy.webp", "webp"},
		{"testdata/video-001.tiff", "tiff"},
		{"testdata/video-001.bmp", "bmp"},
		{"testdata/chelsea.heic", "heic"},
		{"testdata/chelsea.avif", "avif"},
		{"testdata/README.md", ""},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			got, ok := Sniff(readFile(t, tt.file))
			if got != tt.want || ok != (tt.want != "") {
				t.Errorf("Sniff = %q, %v; want %q", got, ok, tt.want)
			}
		})
	}
}

// TestDecodeAgreesWithGo checks the JPEG decoder compiled in against
// image/jpeg on generated content at every scale.
func TestDecodeAgreesWithGo(t *testing.T) {
	t.Parallel()
	data := readFile(t, sharedImages+"person.jpg")
	ref, err := jpeg.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	refPix, w, h := toRGB(ref)
	for _, d := range []int{1, 2, 4, 8} {
		t.Run(fmt.Sprint(d), func(t *testing.T) {
			t.Parallel()
			im, err := Decode(t.Context(), data, Options{TargetMaxSide: scaled(max(w, h), d)})
			if err != nil {
				t.Fatal(err)
			}
			want := &Image{Pix: refPix, Width: w, Height: h}
			if d > 1 {
				p, sw, sh := boxShrink(refPix, w, h, d)
				want = &Image{Pix: p, Width: sw, Height: sh}
			}
			if im.Width != want.Width || im.Height != want.Height {
				t.Fatalf("size %dx%d, want %dx%d", im.Width, im.Height, want.Width, want.Height)
			}
			var sum int
			for i := range im.Pix {
				sum += max(int(im.Pix[i])-int(want.Pix[i]), int(want.Pix[i])-int(im.Pix[i]))
			}
			if mad := float64(sum) / float64(len(im.Pix)); mad > 3 {
				t.Errorf("mean abs difference %.2f from image/jpeg + box filter", mad)
			}
		})
	}
}

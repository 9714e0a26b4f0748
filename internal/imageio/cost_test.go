package imageio

import (
	"bytes"
	"image"
	"image/color"
	"image/gif"
	"image/png"
	"runtime"
	"testing"

	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"

	"github.com/imagerec/imagerec/internal/imageio/imageiotest"
)

// TestDecodeCost checks the estimate on headers whose cost is known.
func TestDecodeCost(t *testing.T) {
	t.Parallel()
	const mp100 = 10000 * 10000
	tests := []struct {
		name   string
		data   []byte
		target int
		want   int64
	}{
		// Rows go straight to RGB: 3 bytes a pixel whatever the depth.
		{"png rgba16 100MP", pngBomb(10000, 10000), 0, 3 * mp100},
		{"jpeg 4000x3000 at 1/8", jpegBomb(encodeJPEG(t, markerImage(16, 16), 90), 4000, 3000), 448, 3 * 500 * 375},
		{"jpeg 4000x3000 full", jpegBomb(encodeJPEG(t, markerImage(16, 16), 90), 4000, 3000), 0, 3 * 4000 * 3000},
		{"jpeg exif 6 doubles the output", withEXIF(jpegBomb(encodeJPEG(t, markerImage(16, 16), 90), 4000, 3000), 6, false), 0, 2 * 3 * 4000 * 3000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			info, err := Probe(t.Context(), tt.data, Limits{MaxPixels: -1, MaxSide: -1})
			if err != nil {
				t.Fatal(err)
			}
			if got := info.DecodeCost(tt.target); got != tt.want {
				t.Errorf("DecodeCost = %d, want %d", got, tt.want)
			}
		})
	}
}

// TestDecodeCostBoundsAllocations decodes one image of each format with
// the garbage collector off and checks that Decode allocated no more than
// DecodeCost said (plus 1 MiB for the decoders' small buffers): the
// memory budget admits images by this estimate.
func TestDecodeCostBoundsAllocations(t *testing.T) {
	m := image.NewNRGBA64(image.Rect(0, 0, 1200, 900))
	for i := range m.Pix {
		m.Pix[i] = uint8(i * 7)
	}
	enc := func(f func(*bytes.Buffer) error) []byte {
		var b bytes.Buffer
		if err := f(&b); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	pal := image.NewPaletted(image.Rect(0, 0, 700, 500), color.Palette{color.White, color.Black, color.RGBA{255, 0, 0, 255}})
	tests := []struct {
		name string
		data []byte
	}{
		{"png rgba16", imageiotest.LargePNG(3000, 2000, imageiotest.RGBA, 16)},
		{"png gray", imageiotest.LargePNG(3001, 1999, imageiotest.Gray, 8)},
		{"png paletted", imageiotest.LargePNG(2000, 2000, imageiotest.Paletted, 8)},
		{"png interlaced", enc(func(b *bytes.Buffer) error { return png.Encode(b, m) })},
		{"jpeg", encodeJPEG(t, m, 90)},
		{"jpeg exif 6", withEXIF(encodeJPEG(t, m, 90), 6, true)},
		{"gif", enc(func(b *bytes.Buffer) error { return gif.Encode(b, pal, nil) })},
		{"bmp", enc(func(b *bytes.Buffer) error { return bmp.Encode(b, m) })},
		{"tiff 16-bit", enc(func(b *bytes.Buffer) error { return tiff.Encode(b, m, nil) })},
		{"tiff deflate", enc(func(b *bytes.Buffer) error { return tiff.Encode(b, m, &tiff.Options{Compression: tiff.Deflate}) })},
		{"webp lossless", readFile(t, "testdata/gopher-doc.with-alpha.lossless.webp")},
		{"webp lossy", readFile(t, "testdata/video-001.lossy.webp")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, target := range []int{0, 448} {
				info, err := Probe(t.Context(), tt.data, Limits{})
				if err != nil {
					t.Fatal(err)
				}
				cost := info.DecodeCost(target)
				alloc := allocated(func() {
					if _, err := Decode(t.Context(), tt.data, Options{TargetMaxSide: target}); err != nil {
						t.Fatal(err)
					}
				})
				if alloc > cost+1<<20 {
					t.Errorf("target %d: Decode allocated %d bytes, DecodeCost said %d", target, alloc, cost)
				}
			}
		})
	}
}

// allocated returns the bytes f allocates, with the collector off.
func allocated(f func()) int64 {
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return int64(after.TotalAlloc - before.TotalAlloc)
}

// TestPNG16StraightTo8Bit checks that a 16-bit RGBA PNG decodes in about
// 3 bytes a pixel (the RGB output), where image/png plus a conversion
// allocate 11 (its NRGBA64 image, then the RGB copy).
func TestPNG16StraightTo8Bit(t *testing.T) {
	data := imageiotest.LargePNG(2000, 2000, imageiotest.RGBA, 16)
	const px = 2000 * 2000
	rows := allocated(func() {
		if _, err := Decode(t.Context(), data, Options{}); err != nil {
			t.Fatal(err)
		}
	})
	std := allocated(func() {
		img, err := png.Decode(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		toRGB(img)
	})
	t.Logf("row decoder %.1f bytes/pixel, image/png + toRGB %.1f", float64(rows)/px, float64(std)/px)
	if rows > 3*px+1<<20 {
		t.Errorf("row decoder allocated %d bytes for %d pixels, want about 3 a pixel", rows, px)
	}
	if std < 11*px {
		t.Errorf("image/png path allocated only %d bytes: the comparison is stale", std)
	}
}

// TestGIFLogicalScreen checks that a GIF's size is its logical screen,
// not its first frame's: the frame is placed at its offset on a white
// screen.
func TestGIFLogicalScreen(t *testing.T) {
	t.Parallel()
	red := color.RGBA{255, 0, 0, 255}
	frame := image.NewPaletted(image.Rect(100, 50, 116, 66), color.Palette{red, color.Transparent})
	frame.SetColorIndex(115, 65, 1) // transparent corner
	var b bytes.Buffer
	if err := gif.EncodeAll(&b, &gif.GIF{Image: []*image.Paletted{frame}, Delay: []int{0},
		Config: image.Config{Width: 2000, Height: 2000, ColorModel: frame.Palette}}); err != nil {
		t.Fatal(err)
	}
	info, err := Probe(t.Context(), b.Bytes(), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	im, err := Decode(t.Context(), b.Bytes(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if info.Width != 2000 || info.Height != 2000 || im.Width != 2000 || im.Height != 2000 || im.SourceWidth != 2000 || im.SourceHeight != 2000 {
		t.Fatalf("Probe %dx%d, Decode %dx%d (source %dx%d), want the 2000x2000 screen",
			info.Width, info.Height, im.Width, im.Height, im.SourceWidth, im.SourceHeight)
	}
	at := func(x, y int) [3]uint8 {
		i := 3 * (y*im.Width + x)
		return [3]uint8{im.Pix[i], im.Pix[i+1], im.Pix[i+2]}
	}
	for _, c := range []struct {
		x, y int
		want [3]uint8
	}{{0, 0, [3]uint8{255, 255, 255}}, {100, 50, [3]uint8{255, 0, 0}}, {114, 64, [3]uint8{255, 0, 0}}, {115, 65, [3]uint8{255, 255, 255}}, {116, 66, [3]uint8{255, 255, 255}}, {1999, 1999, [3]uint8{255, 255, 255}}} {
		if got := at(c.x, c.y); got != c.want {
			t.Errorf("pixel (%d, %d) = %v, want %v", c.x, c.y, got, c.want)
		}
	}
}

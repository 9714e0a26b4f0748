package imageio

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"image/gif"
	"image/png"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"
)

// FuzzDecode feeds arbitrary bytes through the front door: sniffing,
// header checks, limits and the decoders. Seeds: testdata/fuzz/FuzzDecode.
func FuzzDecode(f *testing.F) {
	f.Add([]byte{0xFF, 0xD8, 0xFF, 0xE1, 0x00, 0x08, 'E', 'x', 'i', 'f', 0, 0})
	f.Add(pngBomb(4, 4))
	f.Add(webpBomb(8, 8))
	lim := Limits{MaxPixels: 1 << 20, MaxSide: 4096}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, target := range []int{0, 16} {
			im, err := Decode(t.Context(), data, Options{Limits: lim, TargetMaxSide: target})
			if err != nil {
				var ve *Error
				if !errors.As(err, &ve) || ve.Code == 0 || ve.Message == "" {
					t.Fatalf("error %v (%T) is not a *Error with a code and message", err, err)
				}
				continue
			}
			format, ok := Sniff(data)
			if !ok || format != im.Format {
				t.Fatalf("decoded %q but Sniff says %q, %v", im.Format, format, ok)
			}
			if im.Width <= 0 || im.Height <= 0 || len(im.Pix) != 3*im.Width*im.Height {
				t.Fatalf("bad image: %dx%d with %d bytes", im.Width, im.Height, len(im.Pix))
			}
			if int64(im.SourceWidth)*int64(im.SourceHeight) > lim.MaxPixels {
				t.Fatalf("decoded %dx%d past the pixel limit", im.SourceWidth, im.SourceHeight)
			}
		}
	})
}

// FuzzExifOrientation checks that the EXIF parser never panics, always
// answers 1-8, and finds the tag in well-formed structures.
// Seeds: testdata/fuzz/FuzzExifOrientation.
func FuzzExifOrientation(f *testing.F) {
	for o := 1; o <= 8; o++ {
		f.Add(exifTIFF(o, o%2 == 0))
	}
	f.Fuzz(func(t *testing.T, tiff []byte) {
		o := exifOrientation(tiff)
		if o < 1 || o > 8 {
			t.Fatalf("orientation %d", o)
		}
		for _, b := range [][]byte{
			append([]byte("Exif\x00\x00"), tiff...),
		} {
			if got := exifOrientation(exifPayload(b)); got != o {
				t.Fatalf("with Exif prefix: %d, without: %d", got, o)
			}
		}
		// The JPEG, WebP and PNG wrappers must not panic either.
		jpg := withEXIF([]byte{0xFF, 0xD8, 0xFF, 0xDA, 0, 2}, 1, false)
		_, _ = scanJPEG(append(jpg[:len(jpg)-4:len(jpg)-4], tiff...))
		_ = webpOrientation(append([]byte("RIFF\x00\x00\x00\x00WEBPVP8X\x0a\x00\x00\x00\x08\x00\x00\x00"), tiff...))
		_ = pngOrientation(append([]byte("\x89PNG\r\n\x1a\n"), tiff...))
	})
}

var updateSeeds = flag.Bool("update-seeds", false, "rewrite the committed fuzz seeds in testdata/fuzz")

// TestFuzzSeeds writes the seed corpora when run with -update-seeds.
// Plain `go test` replays the committed seeds through the fuzz targets.
func TestFuzzSeeds(t *testing.T) {
	if !*updateSeeds {
		t.Skip("run with -update-seeds to rewrite testdata/fuzz")
	}
	small := markerImage(16, 12)
	jpg := encodeJPEG(t, small, 50)
	var pngBuf, gifBuf, bmpBuf, tiffBuf bytes.Buffer
	for _, err := range []error{
		png.Encode(&pngBuf, small), gif.Encode(&gifBuf, small, nil),
		bmp.Encode(&bmpBuf, small), tiff.Encode(&tiffBuf, small, nil),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	decode := map[string][]byte{
		"jpeg":             jpg,
		"jpeg-exif6":       withEXIF(jpg, 6, true),
		"jpeg-truncated":   jpg[:len(jpg)/2],
		"jpeg-progressive": readFile(t, "testdata/video-001.q50.420.progressive.jpeg"),
		"png":              pngBuf.Bytes(),
		"png-bomb":         pngBomb(100000, 100000),
		"gif":              gifBuf.Bytes(),
		"bmp":              bmpBuf.Bytes(),
		"tiff":             tiffBuf.Bytes(),
		"webp-lossless":    readFile(t, "testdata/gopher-doc.with-alpha.lossless.webp")[:2000],
		"webp-bomb":        webpBomb(16384, 16384),
		"avif":             readFile(t, "testdata/chelsea.avif"),
		"heic-garbage":     append([]byte("\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic"), make([]byte, 32)...),
		"pdf":              []byte("%PDF-1.7\n"),
	}
	exif := map[string][]byte{}
	for o := 1; o <= 8; o++ {
		exif[fmt.Sprintf("o%d-le", o)] = exifTIFF(o, false)
		exif[fmt.Sprintf("o%d-be", o)] = exifTIFF(o, true)
	}
	exif["short-ifd"] = exifTIFF(6, false)[:20]
	pngRows := map[string][]byte{}
	rng := rand.New(rand.NewPCG(5, 6))
	for _, name := range []string{"ct0-d1-i1-trnstrue", "ct0-d16-i0-trnstrue", "ct2-d16-i1-trnstrue", "ct3-d2-i0-trnstrue", "ct3-d8-i1-trnsfalse", "ct4-d16-i0-trnsfalse", "ct6-d8-i1-trnsfalse", "ct6-d16-i0-trnsfalse"} {
		for full, data := range pngCases(rng) {
			if strings.HasPrefix(full, name+"-") {
				pngRows[name] = data
			}
		}
	}
	for dir, seeds := range map[string]map[string][]byte{"FuzzDecode": decode, "FuzzExifOrientation": exif, "FuzzPNGRows": pngRows} {
		dir = filepath.Join("testdata", "fuzz", dir)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, b := range seeds {
			body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", b)
			if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

package imageio

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"fmt"
	"image/png"
	"math/rand/v2"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// rawPNG builds a PNG from random filtered rows, for any colour type, bit
// depth, interlace, palette length and tRNS chunk, so the decoders are
// compared on every combination image/png's encoder never writes.
func rawPNG(rng *rand.Rand, w, h, colorType, depth, interlace, npal int, trns []byte) []byte {
	var b []byte
	b = append(b, "\x89PNG\r\n\x1a\n"...)
	ihdr := binary.BigEndian.AppendUint32(nil, uint32(w))
	ihdr = binary.BigEndian.AppendUint32(ihdr, uint32(h))
	ihdr = append(ihdr, byte(depth), byte(colorType), 0, 0, byte(interlace))
	b = pngChunk(b, "IHDR", ihdr)
	if npal > 0 {
		pal := make([]byte, 3*npal)
		for i := range pal {
			pal[i] = byte(rng.IntN(256))
		}
		b = pngChunk(b, "PLTE", pal)
	}
	if trns != nil {
		b = pngChunk(b, "tRNS", trns)
	}
	channels := map[int]int{0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[colorType]
	bits := channels * depth
	var raw bytes.Buffer
	passes := [][4]int{{1, 1, 0, 0}}
	if interlace == 1 {
		passes = adam7[:]
	}
	for _, a := range passes {
		pw := (w - a[2] + a[0] - 1) / a[0]
		ph := (h - a[3] + a[1] - 1) / a[1]
		if pw <= 0 || ph <= 0 {
			continue
		}
		for range ph {
			raw.WriteByte(byte(rng.IntN(5)))
			for range (bits*pw + 7) / 8 {
				v := byte(rng.IntN(256))
				if rng.IntN(3) == 0 {
					v = 0 // runs of equal samples hit the tRNS colour
				}
				raw.WriteByte(v)
			}
		}
	}
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	_, _ = zw.Write(raw.Bytes())
	_ = zw.Close()
	// Split the stream over two IDAT chunks, as encoders do for large files.
	zb := z.Bytes()
	half := len(zb) / 2
	b = pngChunk(b, "IDAT", zb[:half])
	b = pngChunk(b, "IDAT", zb[half:])
	return pngChunk(b, "IEND", nil)
}

// pngCases lists every colour type and depth PNG allows, with and without
// tRNS and interlacing.
func pngCases(rng *rand.Rand) map[string][]byte {
	out := map[string][]byte{}
	for _, ct := range []struct{ colorType, depths int }{{0, 0b11111}, {2, 0b11000}, {3, 0b01111}, {4, 0b11000}, {6, 0b11000}} {
		for i, depth := range []int{1, 2, 4, 8, 16} {
			if ct.depths&(1<<i) == 0 {
				continue
			}
			for _, interlace := range []int{0, 1} {
				for _, withTRNS := range []bool{false, true} {
					npal := 0
					var trns []byte
					switch ct.colorType {
					case 3:
						npal = 1 + rng.IntN(1<<depth)
						if withTRNS {
							trns = make([]byte, 1+rng.IntN(256))
							for i := range trns {
								trns[i] = byte(rng.IntN(256))
							}
						}
					case 0:
						if withTRNS {
							trns = []byte{0, 0}
						}
					case 2:
						if withTRNS {
							trns = make([]byte, 6)
						}
					default:
						if withTRNS {
							continue
						}
					}
					w, h := 1+rng.IntN(37), 1+rng.IntN(23)
					name := fmt.Sprintf("ct%d-d%d-i%d-trns%v-%dx%d", ct.colorType, depth, interlace, withTRNS, w, h)
					out[name] = rawPNG(rng, w, h, ct.colorType, depth, interlace, npal, trns)
				}
			}
		}
	}
	return out
}

// TestPNGRowsMatchImagePNG checks that the row decoder gives exactly the
// pixels of image/png followed by toRGB, for every colour type and depth.
func TestPNGRowsMatchImagePNG(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 3 {
		for name, data := range pngCases(rng) {
			t.Run(fmt.Sprint(round, "/", name), func(t *testing.T) {
				if !comparePNG(t, data) {
					t.Fatal("both decoders refused a valid PNG")
				}
			})
		}
	}
	for _, f := range []string{"testdata/video-001.png", "testdata/video-001.cmyk.png", sharedImages + "text.png"} {
		t.Run(f, func(t *testing.T) {
			if !comparePNG(t, readFile(t, f)) {
				t.Fatal("both decoders refused a valid PNG")
			}
		})
	}
}

// comparePNG fails unless decodePNG and image/png agree on data: both
// refuse it, or both decode the same pixels. It reports whether they
// decoded it.
func comparePNG(t *testing.T, data []byte) bool {
	t.Helper()
	want, werr := png.Decode(bytes.NewReader(data))
	got, gerr := decodePNG(data, Limits{}.withDefaults())
	if (werr == nil) != (gerr == nil) {
		t.Fatalf("image/png: %v; decodePNG: %v", werr, gerr)
	}
	if werr != nil {
		return false
	}
	pix, w, h := toRGB(want)
	if got.Width != w || got.Height != h {
		t.Fatalf("size %dx%d, want %dx%d", got.Width, got.Height, w, h)
	}
	if got.Orientation == 1 {
		if diff := cmp.Diff(pix, got.Pix); diff != "" {
			t.Fatalf("pixels differ from image/png + toRGB:\n%.2000s", diff)
		}
	}
	return true
}

// FuzzPNGRows compares the row decoder with image/png on arbitrary input:
// both must refuse it, or decode the same pixels. Seeds:
// testdata/fuzz/FuzzPNGRows.
func FuzzPNGRows(f *testing.F) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, data := range pngCases(rng) {
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := png.DecodeConfig(bytes.NewReader(data))
		if err == nil && cfg.Width*cfg.Height > 1<<20 {
			return // keep each run small
		}
		comparePNG(t, data)
	})
}

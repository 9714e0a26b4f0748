package imageio

import (
	"bytes"
	"encoding/binary"
	"image/png"
	"testing"
)

// TestOrientationOtherFormats checks that EXIF orientation is applied to
// WebP (VP8X EXIF chunk), PNG (eXIf chunk) and TIFF (IFD0 tag) too.
func TestOrientationOtherFormats(t *testing.T) {
	t.Parallel()
	marker := markerImage(64, 48)
	var pngBuf bytes.Buffer
	if err := png.Encode(&pngBuf, marker); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		data []byte
		w, h int
	}{
		{"webp", webpWithEXIF(t, readFile(t, "testdata/video-001.lossy.webp"), 150, 103, exifTIFF(6, false)), 103, 150},
		{"webp Exif prefix", webpWithEXIF(t, readFile(t, "testdata/video-001.lossy.webp"), 150, 103, append([]byte("Exif\x00\x00"), exifTIFF(6, true)...)), 103, 150},
		{"png", pngWithEXIF(pngBuf.Bytes(), exifTIFF(6, true)), 48, 64},
		{"tiff", rgbTIFF(marker.Pix, 64, 48, 6), 48, 64},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			im, err := Decode(t.Context(), tt.data, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if im.Width != tt.w || im.Height != tt.h || im.Orientation != 6 || im.OrientationCorrection != "ROTATE_90" {
				t.Fatalf("got %dx%d orientation %d %s, want %dx%d 6 ROTATE_90", im.Width, im.Height, im.Orientation, im.OrientationCorrection, tt.w, tt.h)
			}
			if tt.name == "png" || tt.name == "tiff" {
				// Orientation 6: stored row 0 is the right side, column 0 the top.
				if got := im.pixel(im.Width-1-im.Width/8, im.Height/8); !near(got, red, 2) {
					t.Errorf("top-right is %v, want red", got)
				}
			}
		})
	}
}

// webpWithEXIF rewraps a simple (VP8) WebP as extended (VP8X) with an
// EXIF chunk after the image, where the WebP container spec puts it.
func webpWithEXIF(t *testing.T, simple []byte, w, h int, exif []byte) []byte {
	t.Helper()
	if string(simple[12:16]) != "VP8 " {
		t.Fatalf("not a simple lossy WebP: %q", simple[12:16])
	}
	b := []byte("RIFF\x00\x00\x00\x00WEBPVP8X")
	b = binary.LittleEndian.AppendUint32(b, 10)
	b = append(b, 0x08, 0, 0, 0) // EXIF flag
	b = append(b, byte(w-1), byte((w-1)>>8), byte((w-1)>>16), byte(h-1), byte((h-1)>>8), byte((h-1)>>16))
	b = append(b, simple[12:]...)
	b = append(b, "EXIF"...)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(exif)))
	b = append(b, exif...)
	if len(exif)%2 == 1 {
		b = append(b, 0)
	}
	binary.LittleEndian.PutUint32(b[4:], uint32(len(b)-8))
	return b
}

// pngWithEXIF inserts an eXIf chunk right after IHDR.
func pngWithEXIF(p, exif []byte) []byte {
	const ihdrEnd = 8 + 8 + 13 + 4
	out := append([]byte{}, p[:ihdrEnd]...)
	out = pngChunk(out, "eXIf", exif)
	return append(out, p[ihdrEnd:]...)
}

// rgbTIFF writes an uncompressed 8-bit RGB TIFF from RGBA pixels with the
// given Orientation tag.
func rgbTIFF(rgba []byte, w, h, orientation int) []byte {
	le := binary.LittleEndian
	type entry struct{ tag, typ, count, value uint32 }
	const nEntries = 10
	ifdOff := uint32(8)
	bpsOff := ifdOff + 2 + 12*nEntries + 4
	dataOff := bpsOff + 6
	entries := []entry{
		{256, 4, 1, uint32(w)},
		{257, 4, 1, uint32(h)},
		{258, 3, 3, bpsOff},
		{259, 3, 1, 1}, // no compression
		{262, 3, 1, 2}, // RGB
		{273, 4, 1, dataOff},
		{274, 3, 1, uint32(orientation)},
		{277, 3, 1, 3},
		{278, 4, 1, uint32(h)},
		{279, 4, 1, uint32(3 * w * h)},
	}
	b := []byte("II*\x00")
	b = le.AppendUint32(b, ifdOff)
	b = le.AppendUint16(b, nEntries)
	for _, e := range entries {
		b = le.AppendUint16(b, uint16(e.tag))
		b = le.AppendUint16(b, uint16(e.typ))
		b = le.AppendUint32(b, e.count)
		if e.typ == 3 && e.count == 1 {
			b = le.AppendUint16(b, uint16(e.value))
			b = le.AppendUint16(b, 0)
		} else {
			b = le.AppendUint32(b, e.value)
		}
	}
	b = le.AppendUint32(b, 0)
	b = append(b, 8, 0, 8, 0, 8, 0)
	for i := 0; i < len(rgba); i += 4 {
		b = append(b, rgba[i], rgba[i+1], rgba[i+2])
	}
	return b
}

package imageio

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/gif"
	"runtime"
	"testing"

	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"
)

// TestBombsRefusedBeforeAllocation feeds headers that claim gigapixel
// images and checks that Decode refuses them with ImageTooLargeException
// while allocating almost nothing. It is not parallel, so the memory
// statistics see only its own allocations.
func TestBombsRefusedBeforeAllocation(t *testing.T) {
	small := markerImage(16, 16)
	tests := []struct {
		name string
		data []byte
	}{
		{"png 100000x100000", pngBomb(100000, 100000)},
		{"jpeg 65535x65535", jpegBomb(encodeJPEG(t, small, 90), 65535, 65535)},
		{"gif 65535x65535", gifBomb(t, small)},
		{"bmp 100000x100000", bmpBomb(t, small)},
		{"tiff 100000x100000", tiffBomb(t, small)},
		{"webp 16384x16384", webpBomb(16384, 16384)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			_, err := Decode(t.Context(), tt.data, Options{})
			runtime.ReadMemStats(&after)
			if code := CodeOf(err); code != CodeTooLarge {
				t.Fatalf("err = %v, want %s", err, CodeTooLarge)
			}
			if n := after.TotalAlloc - before.TotalAlloc; n > 1<<20 {
				t.Errorf("allocated %d bytes before refusing", n)
			}
		})
	}
}

func pngChunk(b []byte, typ string, data []byte) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(data)))
	c := append([]byte(typ), data...)
	b = append(b, c...)
	return binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(c))
}

func pngBomb(w, h uint32) []byte {
	b := []byte("\x89PNG\r\n\x1a\n")
	ihdr := binary.BigEndian.AppendUint32(nil, w)
	ihdr = binary.BigEndian.AppendUint32(ihdr, h)
	ihdr = append(ihdr, 8, 2, 0, 0, 0) // 8-bit RGB
	b = pngChunk(b, "IHDR", ihdr)
	b = pngChunk(b, "IDAT", []byte{0x78, 0x9c, 0x63, 0, 0, 0, 1, 0, 1})
	return pngChunk(b, "IEND", nil)
}

// jpegBomb rewrites the frame header's size.
func jpegBomb(jpg []byte, w, h uint16) []byte {
	b := append([]byte{}, jpg...)
	for p := 2; p+9 < len(b); {
		m := b[p+1]
		n := int(binary.BigEndian.Uint16(b[p+2:]))
		if m == 0xC0 {
			binary.BigEndian.PutUint16(b[p+5:], h)
			binary.BigEndian.PutUint16(b[p+7:], w)
			return b
		}
		p += 2 + n
	}
	panic("no SOF0")
}

func gifBomb(t *testing.T, img image.Image) []byte {
	var buf bytes.Buffer
	if err := gif.Encode(&buf, img, nil); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	binary.LittleEndian.PutUint16(b[6:], 65535) // logical screen
	binary.LittleEndian.PutUint16(b[8:], 65535)
	return b
}

func bmpBomb(t *testing.T, img image.Image) []byte {
	var buf bytes.Buffer
	if err := bmp.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	binary.LittleEndian.PutUint32(b[18:], 100000)
	binary.LittleEndian.PutUint32(b[22:], 100000)
	return b
}

func tiffBomb(t *testing.T, img image.Image) []byte {
	var buf bytes.Buffer
	if err := tiff.Encode(&buf, img, nil); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	bo := binary.ByteOrder(binary.LittleEndian)
	if b[0] == 'M' {
		bo = binary.BigEndian
	}
	ifd := bo.Uint32(b[4:])
	n := int(bo.Uint16(b[ifd:]))
	for i := 0; i < n; i++ {
		e := int(ifd) + 2 + 12*i
		tag, typ := bo.Uint16(b[e:]), bo.Uint16(b[e+2:])
		if tag != 256 && tag != 257 { // ImageWidth, ImageLength
			continue
		}
		if typ == 3 { // SHORT: the largest a SHORT holds
			bo.PutUint16(b[e+8:], 65535)
		} else {
			bo.PutUint32(b[e+8:], 100000)
		}
	}
	return b
}

func webpBomb(w, h int) []byte {
	b := []byte("RIFF\x00\x00\x00\x00WEBPVP8X")
	b = binary.LittleEndian.AppendUint32(b, 10)
	b = append(b, 0, 0, 0, 0)
	b = append(b, byte(w-1), byte((w-1)>>8), byte((w-1)>>16))
	b = append(b, byte(h-1), byte((h-1)>>8), byte((h-1)>>16))
	b = append(b, "VP8 "...)
	b = binary.LittleEndian.AppendUint32(b, 0)
	binary.LittleEndian.PutUint32(b[4:], uint32(len(b)-8))
	return b
}

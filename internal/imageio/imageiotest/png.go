// Package imageiotest makes test images without holding their pixels in
// memory: LargePNG streams rows through zlib, so a test can build a
// 10000x10000 16-bit PNG (800 MB of pixels) in a few megabytes.
package imageiotest

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"hash/crc32"
	"io"
)

// PNG colour types (PNG spec, IHDR).
const (
	Gray      = 0
	RGB       = 2
	Paletted  = 3
	GrayAlpha = 4
	RGBA      = 6
)

// LargePNG returns a non-interlaced PNG of w x h pixels with the given
// colour type and bit depth (8 or 16; Paletted only 8). Pixels form smooth
// gradients (with an alpha ramp for the alpha types), so the file
// compresses to a few hundred KB however large the image: a "memory bomb"
// within every size limit.
func LargePNG(w, h, colorType, depth int) []byte {
	var out bytes.Buffer
	out.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := binary.BigEndian.AppendUint32(nil, uint32(w))
	ihdr = binary.BigEndian.AppendUint32(ihdr, uint32(h))
	ihdr = append(ihdr, byte(depth), byte(colorType), 0, 0, 0)
	writeChunk(&out, "IHDR", ihdr)
	if colorType == Paletted {
		pal := make([]byte, 0, 3*256)
		for i := range 256 {
			pal = append(pal, byte(i), byte(255-i), byte(i/2))
		}
		writeChunk(&out, "PLTE", pal)
	}
	var idat bytes.Buffer
	z, _ := zlib.NewWriterLevel(&idat, zlib.BestSpeed)
	channels := map[int]int{Gray: 1, RGB: 3, Paletted: 1, GrayAlpha: 2, RGBA: 4}[colorType]
	bpp := channels * depth / 8
	row := make([]byte, 1+w*bpp)
	prev, cur := make([]byte, w*bpp), make([]byte, w*bpp)
	for y := range h {
		fill(cur, w, y, channels, depth, colorType)
		row[0] = 2 // Up: rows differ by a constant, which compresses well
		for i := range cur {
			row[1+i] = cur[i] - prev[i] // prev is zero for row 0
		}
		prev, cur = cur, prev
		_, _ = z.Write(row)
		if idat.Len() > 1<<20 {
			writeChunk(&out, "IDAT", idat.Bytes())
			idat.Reset()
		}
	}
	_ = z.Close()
	writeChunk(&out, "IDAT", idat.Bytes())
	writeChunk(&out, "IEND", nil)
	return out.Bytes()
}

// fill writes row y's raw samples.
func fill(b []byte, w, y, channels, depth, colorType int) {
	for x := range w {
		for c := range channels {
			var v int // 0..65535
			switch {
			case colorType == Paletted:
				v = ((x + y) % 256) << 8
			case (colorType == RGBA || colorType == GrayAlpha) && c == channels-1:
				v = 0xffff - (y*0xffff/max(1, 4*w))%0x8000 // mostly opaque
			case c == 0:
				v = x * 0xffff / max(1, w-1)
			case c == 1:
				v = y * 0xffff / max(1, 1000)
			default:
				v = 0x8000
			}
			v &= 0xffff
			if depth == 16 {
				i := 2 * (x*channels + c)
				b[i], b[i+1] = byte(v>>8), byte(v)
			} else {
				b[x*channels+c] = byte(v >> 8)
			}
		}
	}
}

func writeChunk(w io.Writer, typ string, data []byte) {
	var hdr [8]byte
	binary.BigEndian.PutUint32(hdr[:4], uint32(len(data)))
	copy(hdr[4:], typ)
	crc := crc32.NewIEEE()
	_, _ = crc.Write(hdr[4:])
	_, _ = crc.Write(data)
	_, _ = w.Write(hdr[:])
	_, _ = w.Write(data)
	_ = binary.Write(w, binary.BigEndian, crc.Sum32())
}

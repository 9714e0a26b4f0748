package imageio

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"image/color"
	"io"
)

// The PNG decoder here writes each row straight into the packed RGB output,
// so a 16-bit RGBA PNG costs 3 bytes per pixel instead of image/png's 8
// (NRGBA64) plus the 3 of the conversion. It keeps image/png's rules for
// chunk order, checksums, tRNS and out-of-range palette indices, and its
// pixels equal toRGB(png.Decode(...)) byte for byte (FuzzPNGRows checks
// both). Interlaced (Adam7) files are scattered pass by pass into the same
// output.

// pngFormatError is a malformed PNG.
type pngFormatError string

func (e pngFormatError) Error() string { return "png: invalid format: " + string(e) }

// pngReader holds one PNG's header facts and the IDAT stream position.
type pngReader struct {
	r          *bytes.Reader
	crc        hash.Hash32
	tmp        [3 * 256]byte
	width      int
	height     int
	depth      int
	colorType  int
	interlace  int
	stage      int
	idatLength uint32
	// palRGBA is the palette: 256 entries, the ones the file does not
	// set opaque black, as image/png leaves them.
	palRGBA [256]color.NRGBA
	// gray and truecolor tRNS
	useTransparent bool
	transparent    [6]byte
}

// PNG decoding stages, as image/png checks chunk order.
const (
	pngStart = iota
	pngSeenIHDR
	pngSeenPLTE
	pngSeenTRNS
	pngSeenIDAT
	pngSeenIEND
)

// adam7 is (xFactor, yFactor, xOffset, yOffset) of each interlace pass.
var adam7 = [7][4]int{{8, 8, 0, 0}, {8, 8, 4, 0}, {4, 8, 0, 4}, {4, 4, 2, 0}, {2, 4, 0, 2}, {2, 2, 1, 0}, {1, 2, 0, 1}}

// decodePNG decodes a PNG into packed RGB over white, checking the
// header's size against lim before allocating the pixels.
func decodePNG(data []byte, lim Limits) (*Image, error) {
	p := &pngReader{r: bytes.NewReader(data), crc: crc32.NewIEEE()}
	pix, err := p.decode(lim)
	var le limitError
	switch {
	case errors.As(err, &le):
		return nil, le.err
	case err != nil:
		return nil, corrupt("png", err)
	}
	return finish(pix, p.width, p.height, pngOrientation(data), p.width, p.height), nil
}

// limitError carries an error from Limits.check through decode unwrapped.
type limitError struct{ err error }

func (e limitError) Error() string { return e.err.Error() }

func (p *pngReader) decode(lim Limits) ([]uint8, error) {
	if _, err := io.ReadFull(p.r, p.tmp[:8]); err != nil {
		return nil, io.ErrUnexpectedEOF
	}
	if string(p.tmp[:8]) != "\x89PNG\r\n\x1a\n" {
		return nil, pngFormatError("not a PNG file")
	}
	var pix []uint8
	for p.stage != pngSeenIEND {
		out, err := p.chunk(lim)
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		if err != nil {
			return nil, err
		}
		if out != nil {
			pix = out
		}
	}
	return pix, nil
}

func (p *pngReader) paletted() bool { return p.colorType == 3 }

func (p *pngReader) chunk(lim Limits) ([]uint8, error) {
	if _, err := io.ReadFull(p.r, p.tmp[:8]); err != nil {
		return nil, err
	}
	length := binary.BigEndian.Uint32(p.tmp[:4])
	p.crc.Reset()
	_, _ = p.crc.Write(p.tmp[4:8])
	switch string(p.tmp[4:8]) {
	case "IHDR":
		if p.stage != pngStart {
			return nil, pngFormatError("chunk out of order")
		}
		p.stage = pngSeenIHDR
		if err := p.parseIHDR(length); err != nil {
			return nil, err
		}
		if err := lim.check("png", p.width, p.height); err != nil {
			return nil, limitError{err}
		}
		return nil, nil
	case "PLTE":
		if p.stage != pngSeenIHDR {
			return nil, pngFormatError("chunk out of order")
		}
		p.stage = pngSeenPLTE
		return nil, p.parsePLTE(length)
	case "tRNS":
		switch {
		case p.paletted():
			if p.stage != pngSeenPLTE {
				return nil, pngFormatError("chunk out of order")
			}
		case p.colorType == 2:
			if p.stage != pngSeenIHDR && p.stage != pngSeenPLTE {
				return nil, pngFormatError("chunk out of order")
			}
		case p.stage != pngSeenIHDR:
			return nil, pngFormatError("chunk out of order")
		}
		p.stage = pngSeenTRNS
		return nil, p.parseTRNS(length)
	case "IDAT":
		if p.stage < pngSeenIHDR || p.stage > pngSeenIDAT || (p.stage == pngSeenIHDR && p.paletted()) {
			return nil, pngFormatError("chunk out of order")
		}
		if p.stage == pngSeenIDAT {
			break // trailing IDAT chunks are skipped, as image/png does
		}
		p.stage = pngSeenIDAT
		p.idatLength = length
		pix, err := p.pixels()
		if err != nil {
			return nil, err
		}
		return pix, p.verifyChecksum()
	case "IEND":
		if p.stage != pngSeenIDAT {
			return nil, pngFormatError("chunk out of order")
		}
		p.stage = pngSeenIEND
		if length != 0 {
			return nil, pngFormatError("bad IEND length")
		}
		return nil, p.verifyChecksum()
	}
	if length > 0x7fffffff {
		return nil, pngFormatError(fmt.Sprintf("bad chunk length: %d", length))
	}
	var skip [4096]byte
	for length > 0 {
		n, err := io.ReadFull(p.r, skip[:min(len(skip), int(length))])
		if err != nil {
			return nil, err
		}
		_, _ = p.crc.Write(skip[:n])
		length -= uint32(n)
	}
	return nil, p.verifyChecksum()
}

func (p *pngReader) parseIHDR(length uint32) error {
	if length != 13 {
		return pngFormatError("bad IHDR length")
	}
	if _, err := io.ReadFull(p.r, p.tmp[:13]); err != nil {
		return err
	}
	_, _ = p.crc.Write(p.tmp[:13])
	if p.tmp[10] != 0 || p.tmp[11] != 0 {
		return pngFormatError("unsupported compression or filter method")
	}
	if p.tmp[12] > 1 {
		return pngFormatError("invalid interlace method")
	}
	p.interlace = int(p.tmp[12])
	w := int32(binary.BigEndian.Uint32(p.tmp[0:4]))
	h := int32(binary.BigEndian.Uint32(p.tmp[4:8]))
	if w <= 0 || h <= 0 {
		return pngFormatError("non-positive dimension")
	}
	p.depth, p.colorType = int(p.tmp[8]), int(p.tmp[9])
	ok := false
	switch p.colorType {
	case 0:
		ok = p.depth == 1 || p.depth == 2 || p.depth == 4 || p.depth == 8 || p.depth == 16
	case 3:
		ok = p.depth == 1 || p.depth == 2 || p.depth == 4 || p.depth == 8
	case 2, 4, 6:
		ok = p.depth == 8 || p.depth == 16
	}
	if !ok {
		return pngFormatError(fmt.Sprintf("unsupported bit depth %d, color type %d", p.depth, p.colorType))
	}
	p.width, p.height = int(w), int(h)
	return p.verifyChecksum()
}

func (p *pngReader) parsePLTE(length uint32) error {
	np := int(length / 3)
	if length%3 != 0 || np <= 0 || np > 256 || np > 1<<uint(p.depth) {
		return pngFormatError("bad PLTE length")
	}
	n, err := io.ReadFull(p.r, p.tmp[:3*np])
	if err != nil {
		return err
	}
	_, _ = p.crc.Write(p.tmp[:n])
	switch p.colorType {
	case 3:
		for i := range p.palRGBA {
			p.palRGBA[i] = color.NRGBA{A: 0xff}
		}
		for i := range np {
			p.palRGBA[i] = color.NRGBA{p.tmp[3*i], p.tmp[3*i+1], p.tmp[3*i+2], 0xff}
		}
	case 2, 6:
		// Optional for truecolor, and ignored.
	default:
		return pngFormatError("PLTE, color type mismatch")
	}
	return p.verifyChecksum()
}

func (p *pngReader) parseTRNS(length uint32) error {
	switch p.colorType {
	case 0, 2:
		want := uint32(2)
		if p.colorType == 2 {
			want = 6
		}
		if length != want {
			return pngFormatError("bad tRNS length")
		}
		n, err := io.ReadFull(p.r, p.tmp[:length])
		if err != nil {
			return err
		}
		_, _ = p.crc.Write(p.tmp[:n])
		copy(p.transparent[:], p.tmp[:length])
		switch p.depth {
		case 1:
			p.transparent[1] *= 0xff
		case 2:
			p.transparent[1] *= 0x55
		case 4:
			p.transparent[1] *= 0x11
		}
		p.useTransparent = true
	case 3:
		if length > 256 {
			return pngFormatError("bad tRNS length")
		}
		n, err := io.ReadFull(p.r, p.tmp[:length])
		if err != nil {
			return err
		}
		_, _ = p.crc.Write(p.tmp[:n])
		for i := range n {
			p.palRGBA[i].A = p.tmp[i]
		}
	default:
		return pngFormatError("tRNS, color type mismatch")
	}
	return p.verifyChecksum()
}

func (p *pngReader) verifyChecksum() error {
	if _, err := io.ReadFull(p.r, p.tmp[:4]); err != nil {
		return err
	}
	if binary.BigEndian.Uint32(p.tmp[:4]) != p.crc.Sum32() {
		return pngFormatError("invalid checksum")
	}
	return nil
}

// Read presents the consecutive IDAT chunks as one stream, checking each
// chunk's CRC, exactly as image/png's decoder does.
func (p *pngReader) Read(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	for p.idatLength == 0 {
		if err := p.verifyChecksum(); err != nil {
			return 0, err
		}
		if _, err := io.ReadFull(p.r, p.tmp[:8]); err != nil {
			return 0, err
		}
		p.idatLength = binary.BigEndian.Uint32(p.tmp[:4])
		if string(p.tmp[4:8]) != "IDAT" {
			return 0, pngFormatError("not enough pixel data")
		}
		p.crc.Reset()
		_, _ = p.crc.Write(p.tmp[4:8])
	}
	if int(p.idatLength) < 0 {
		return 0, pngFormatError("IDAT chunk length overflow")
	}
	n, err := p.r.Read(b[:min(len(b), int(p.idatLength))])
	_, _ = p.crc.Write(b[:n])
	p.idatLength -= uint32(n)
	return n, err
}

// pixels inflates the IDAT stream into packed RGB.
func (p *pngReader) pixels() ([]uint8, error) {
	z, err := zlib.NewReader(p)
	if err != nil {
		return nil, err
	}
	defer z.Close()
	pix := make([]uint8, 3*p.width*p.height)
	conv := p.converter()
	if p.interlace == 0 {
		if err := p.pass(z, pix, conv, p.width, p.height, [4]int{1, 1, 0, 0}); err != nil {
			return nil, err
		}
	} else {
		for _, a := range adam7 {
			w := (p.width - a[2] + a[0] - 1) / a[0]
			h := (p.height - a[3] + a[1] - 1) / a[1]
			if w <= 0 || h <= 0 {
				continue
			}
			if err := p.pass(z, pix, conv, w, h, a); err != nil {
				return nil, err
			}
		}
	}
	// Read to EOF, which verifies the zlib checksum.
	n := 0
	for i := 0; n == 0 && err == nil; i++ {
		if i == 100 {
			return nil, io.ErrNoProgress
		}
		n, err = z.Read(p.tmp[:1])
	}
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, pngFormatError(err.Error())
	}
	if n != 0 || p.idatLength != 0 {
		return nil, pngFormatError("too much pixel data")
	}
	return pix, nil
}

// pass reads one pass of w x h pixels (the whole image when not
// interlaced) and places pixel (x, y) of the pass at (x*a[0]+a[2],
// y*a[1]+a[3]) of pix.
func (p *pngReader) pass(r io.Reader, pix []uint8, conv func(cdat, dst []uint8), w, h int, a [4]int) error {
	bits := p.depth * p.channels()
	bpp := (bits + 7) / 8
	rowSize := 1 + (bits*w+7)/8
	cr, pr := make([]uint8, rowSize), make([]uint8, rowSize)
	var tmp []uint8
	if a[0] != 1 {
		tmp = make([]uint8, 3*w)
	}
	for y := range h {
		if _, err := io.ReadFull(r, cr); err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return pngFormatError("not enough pixel data")
			}
			return err
		}
		cdat, pdat := cr[1:], pr[1:]
		switch cr[0] {
		case 0:
		case 1:
			for i := bpp; i < len(cdat); i++ {
				cdat[i] += cdat[i-bpp]
			}
		case 2:
			for i, v := range pdat {
				cdat[i] += v
			}
		case 3:
			for i := 0; i < bpp; i++ {
				cdat[i] += pdat[i] / 2
			}
			for i := bpp; i < len(cdat); i++ {
				cdat[i] += uint8((int(cdat[i-bpp]) + int(pdat[i])) / 2)
			}
		case 4:
			paeth(cdat, pdat, bpp)
		default:
			return pngFormatError("bad filter type")
		}
		oy := y*a[1] + a[3]
		row := pix[3*oy*p.width : 3*(oy+1)*p.width]
		if tmp == nil {
			conv(cdat, row[:3*w])
		} else {
			conv(cdat, tmp)
			for x := range w {
				o := 3 * (x*a[0] + a[2])
				row[o], row[o+1], row[o+2] = tmp[3*x], tmp[3*x+1], tmp[3*x+2]
			}
		}
		pr, cr = cr, pr
	}
	return nil
}

func (p *pngReader) channels() int {
	switch p.colorType {
	case 2:
		return 3
	case 4:
		return 2
	case 6:
		return 4
	}
	return 1
}

// over composites an 8-bit non-premultiplied sample over white, as toRGB
// does for *image.NRGBA.
func over(s, a uint32) uint8 { return uint8((s*a + 255*(255-a) + 127) / 255) }

// over16 composites a 16-bit non-premultiplied sample over white and
// keeps the high byte, as toRGB does for *image.NRGBA64 (through
// color.NRGBA64.RGBA and rgbOverWhite).
func over16(s, a uint32) uint8 { return uint8((s*a/0xffff + 0xffff - a) >> 8) }

func be16(b []uint8) uint32 { return uint32(b[0])<<8 | uint32(b[1]) }

// converter returns the function turning one unfiltered row into RGB.
func (p *pngReader) converter() func(cdat, dst []uint8) {
	switch p.colorType {
	case 3:
		var pal [256][3]uint8
		for i := range pal {
			pal[i] = rgbOverWhite(p.palRGBA[i])
		}
		if p.depth == 8 {
			return func(cdat, dst []uint8) {
				for x, v := range cdat[:len(dst)/3] {
					c := pal[v]
					dst[3*x], dst[3*x+1], dst[3*x+2] = c[0], c[1], c[2]
				}
			}
		}
		return unpack(p.depth, func(v uint8, d []uint8) { c := pal[v]; d[0], d[1], d[2] = c[0], c[1], c[2] })
	case 0:
		if p.depth == 16 {
			if p.useTransparent {
				ty := be16(p.transparent[:])
				return func(cdat, dst []uint8) {
					for x := range len(dst) / 3 {
						v := cdat[2*x]
						if be16(cdat[2*x:]) == ty {
							v = 0xff
						}
						dst[3*x], dst[3*x+1], dst[3*x+2] = v, v, v
					}
				}
			}
			return func(cdat, dst []uint8) {
				for x := range len(dst) / 3 {
					v := cdat[2*x]
					dst[3*x], dst[3*x+1], dst[3*x+2] = v, v, v
				}
			}
		}
		scale := map[int]uint8{1: 0xff, 2: 0x55, 4: 0x11, 8: 1}[p.depth]
		ty, tr := p.transparent[1], p.useTransparent
		if p.depth == 8 && !tr {
			return func(cdat, dst []uint8) {
				for x, v := range cdat[:len(dst)/3] {
					dst[3*x], dst[3*x+1], dst[3*x+2] = v, v, v
				}
			}
		}
		return unpack(p.depth, func(v uint8, d []uint8) {
			g := v * scale
			if tr && g == ty {
				g = 0xff
			}
			d[0], d[1], d[2] = g, g, g
		})
	case 4:
		if p.depth == 16 {
			return func(cdat, dst []uint8) {
				for x := range len(dst) / 3 {
					v := over16(be16(cdat[4*x:]), be16(cdat[4*x+2:]))
					dst[3*x], dst[3*x+1], dst[3*x+2] = v, v, v
				}
			}
		}
		return func(cdat, dst []uint8) {
			for x := range len(dst) / 3 {
				v := over(uint32(cdat[2*x]), uint32(cdat[2*x+1]))
				dst[3*x], dst[3*x+1], dst[3*x+2] = v, v, v
			}
		}
	case 2:
		if p.depth == 16 {
			if p.useTransparent {
				t := p.transparent
				tr, tg, tb := be16(t[0:]), be16(t[2:]), be16(t[4:])
				return func(cdat, dst []uint8) {
					for x := range len(dst) / 3 {
						s := cdat[6*x : 6*x+6]
						if be16(s[0:]) == tr && be16(s[2:]) == tg && be16(s[4:]) == tb {
							dst[3*x], dst[3*x+1], dst[3*x+2] = 0xff, 0xff, 0xff
							continue
						}
						dst[3*x], dst[3*x+1], dst[3*x+2] = s[0], s[2], s[4]
					}
				}
			}
			return func(cdat, dst []uint8) {
				for x := range len(dst) / 3 {
					dst[3*x], dst[3*x+1], dst[3*x+2] = cdat[6*x], cdat[6*x+2], cdat[6*x+4]
				}
			}
		}
		if p.useTransparent {
			tr, tg, tb := p.transparent[1], p.transparent[3], p.transparent[5]
			return func(cdat, dst []uint8) {
				for x := range len(dst) / 3 {
					s := cdat[3*x : 3*x+3]
					if s[0] == tr && s[1] == tg && s[2] == tb {
						dst[3*x], dst[3*x+1], dst[3*x+2] = 0xff, 0xff, 0xff
						continue
					}
					dst[3*x], dst[3*x+1], dst[3*x+2] = s[0], s[1], s[2]
				}
			}
		}
		return func(cdat, dst []uint8) { copy(dst, cdat[:len(dst)]) }
	default: // 6
		if p.depth == 16 {
			return func(cdat, dst []uint8) {
				for x := range len(dst) / 3 {
					s := cdat[8*x : 8*x+8]
					a := be16(s[6:])
					dst[3*x] = over16(be16(s[0:]), a)
					dst[3*x+1] = over16(be16(s[2:]), a)
					dst[3*x+2] = over16(be16(s[4:]), a)
				}
			}
		}
		return func(cdat, dst []uint8) {
			for x := range len(dst) / 3 {
				s := cdat[4*x : 4*x+4]
				a := uint32(s[3])
				if a == 255 {
					dst[3*x], dst[3*x+1], dst[3*x+2] = s[0], s[1], s[2]
					continue
				}
				dst[3*x] = over(uint32(s[0]), a)
				dst[3*x+1] = over(uint32(s[1]), a)
				dst[3*x+2] = over(uint32(s[2]), a)
			}
		}
	}
}

// unpack returns a row converter for 1, 2, 4 or 8-bit samples, one per
// pixel, calling set with each sample and its 3-byte destination.
func unpack(depth int, set func(v uint8, d []uint8)) func(cdat, dst []uint8) {
	per := 8 / depth
	mask := uint8(1<<depth - 1)
	return func(cdat, dst []uint8) {
		w := len(dst) / 3
		if depth == 8 {
			for x := range w {
				set(cdat[x], dst[3*x:3*x+3])
			}
			return
		}
		for x := range w {
			shift := uint(8 - depth*(x%per+1))
			set(cdat[x/per]>>shift&mask, dst[3*x:3*x+3])
		}
	}
}

// paeth reverses the Paeth filter on cdat given the previous row pdat.
func paeth(cdat, pdat []uint8, bpp int) {
	abs := func(x int) int {
		if x < 0 {
			return -x
		}
		return x
	}
	for i := range cdat {
		var a, c int
		if i >= bpp {
			a, c = int(cdat[i-bpp]), int(pdat[i-bpp])
		}
		b := int(pdat[i])
		pa, pb, pc := abs(b-c), abs(a-c), abs(a+b-2*c)
		switch {
		case pa <= pb && pa <= pc:
		case pb <= pc:
			a = b
		default:
			a = c
		}
		cdat[i] += uint8(a)
	}
}

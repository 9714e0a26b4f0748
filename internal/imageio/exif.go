package imageio

import "encoding/binary"

// exifOrientation returns the Orientation tag (0x0112) of IFD0 of a TIFF
// structure (the payload of a JPEG APP1 "Exif\0\0" segment after its
// 6-byte prefix, a WebP EXIF chunk, a PNG eXIf chunk, or a TIFF file). It
// returns 1 (upright) when the tag is absent, malformed or out of range.
// It never panics, allocates nothing and reads at most one IFD.
func exifOrientation(tiff []byte) int {
	if len(tiff) < 8 {
		return 1
	}
	var bo binary.ByteOrder
	switch string(tiff[0:4]) {
	case "II*\x00":
		bo = binary.LittleEndian
	case "MM\x00*":
		bo = binary.BigEndian
	default:
		return 1
	}
	off := uint64(bo.Uint32(tiff[4:8]))
	if off < 8 || off+2 > uint64(len(tiff)) {
		return 1
	}
	n := uint64(bo.Uint16(tiff[off:]))
	p := off + 2
	for i := uint64(0); i < n; i++ {
		e := p + 12*i
		if e+12 > uint64(len(tiff)) {
			return 1
		}
		if bo.Uint16(tiff[e:]) != 0x0112 {
			continue
		}
		typ, count := bo.Uint16(tiff[e+2:]), bo.Uint32(tiff[e+4:])
		var v uint32
		switch {
		case typ == 3 && count >= 1: // SHORT, stored in the first 2 bytes of the value
			v = uint32(bo.Uint16(tiff[e+8:]))
		case typ == 4 && count == 1: // LONG, seen from some writers
			v = bo.Uint32(tiff[e+8:])
		default:
			return 1
		}
		if v < 1 || v > 8 {
			return 1
		}
		return int(v)
	}
	return 1
}

// exifPayload strips the optional "Exif\0\0" prefix that some writers put
// before the TIFF header in WebP and PNG chunks.
func exifPayload(b []byte) []byte {
	if len(b) >= 6 && string(b[:6]) == "Exif\x00\x00" {
		return b[6:]
	}
	return b
}

// webpOrientation reads the EXIF chunk of an extended (VP8X) WebP file.
func webpOrientation(data []byte) int {
	if len(data) < 30 || string(data[12:16]) != "VP8X" || data[20]&0x08 == 0 {
		return 1
	}
	for p := 12; p+8 <= len(data); {
		size := int(binary.LittleEndian.Uint32(data[p+4:]))
		if size < 0 || size > len(data)-p-8 {
			return 1
		}
		if string(data[p:p+4]) == "EXIF" {
			return exifOrientation(exifPayload(data[p+8 : p+8+size]))
		}
		p += 8 + size + size&1
	}
	return 1
}

// pngOrientation reads a PNG eXIf chunk, which must come before IDAT.
func pngOrientation(data []byte) int {
	for p := 8; p+12 <= len(data); {
		size := int(binary.BigEndian.Uint32(data[p:]))
		if size < 0 || size > len(data)-p-12 {
			return 1
		}
		switch string(data[p+4 : p+8]) {
		case "eXIf":
			return exifOrientation(exifPayload(data[p+8 : p+8+size]))
		case "IDAT", "IEND":
			return 1
		}
		p += 12 + size
	}
	return 1
}

// orientationCorrection names the rotation part of an EXIF orientation the
// way Amazon Rekognition's OrientationCorrection does: how far the stored
// image is rotated counter-clockwise from upright.
func orientationCorrection(o int) string {
	switch o {
	case 3, 4:
		return "ROTATE_180"
	case 6, 7:
		return "ROTATE_90"
	case 5, 8:
		return "ROTATE_270"
	}
	return "ROTATE_0"
}

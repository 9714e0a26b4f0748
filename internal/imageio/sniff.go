package imageio

import (
	"bytes"
	"encoding/binary"
	"unicode/utf8"
)

// Sniff reports the image format of data from its leading bytes: jpeg, png,
// gif, webp, tiff, bmp, heic or avif. ok is false when data is not one of
// the formats Decode accepts. It reads only the leading bytes (32 suffice,
// except for the brand list of a HEIF ftyp box) and never decodes.
func Sniff(data []byte) (format string, ok bool) {
	switch {
	case len(data) >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF:
		return "jpeg", true
	case bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")):
		return "png", true
	case bytes.HasPrefix(data, []byte("GIF87a")), bytes.HasPrefix(data, []byte("GIF89a")):
		return "gif", true
	case len(data) >= 12 && string(data[0:4]) == "RIFF" && string(data[8:12]) == "WEBP":
		return "webp", true
	case bytes.HasPrefix(data, []byte("II*\x00")), bytes.HasPrefix(data, []byte("MM\x00*")):
		return "tiff", true
	case isBMP(data):
		return "bmp", true
	}
	if brand := heifBrand(data); brand != "" {
		return brand, true
	}
	return "", false
}

// isBMP checks the "BM" signature and a known DIB header size, since two
// letters alone match too much text.
func isBMP(data []byte) bool {
	if len(data) < 18 || data[0] != 'B' || data[1] != 'M' {
		return false
	}
	switch binary.LittleEndian.Uint32(data[14:18]) {
	case 12, 16, 40, 52, 56, 64, 108, 124:
		return true
	}
	return false
}

// ftyp returns the major brand and the compatible brands of an ISO base
// media file (HEIF, AVIF, MP4, QuickTime), or ok false.
func ftyp(data []byte) (major string, compat []string, ok bool) {
	if len(data) < 12 || string(data[4:8]) != "ftyp" {
		return "", nil, false
	}
	size := int(binary.BigEndian.Uint32(data[0:4]))
	if size < 16 || size > 4096 {
		return string(data[8:12]), nil, size >= 12 && size <= 4096
	}
	size = min(size, len(data))
	for i := 16; i+4 <= size; i += 4 {
		compat = append(compat, string(data[i:i+4]))
	}
	return string(data[8:12]), compat, true
}

// heifBrand returns "heic" or "avif" for HEIF-family files, else "".
func heifBrand(data []byte) string {
	major, compat, ok := ftyp(data)
	if !ok {
		return ""
	}
	kind := func(b string) string {
		switch b {
		case "heic", "heix", "hevc", "hevx", "heim", "heis", "hevm", "hevs":
			return "heic"
		case "avif", "avis":
			return "avif"
		}
		return ""
	}
	if k := kind(major); k != "" {
		return k
	}
	if major != "mif1" && major != "msf1" {
		return ""
	}
	for _, b := range compat {
		if k := kind(b); k != "" {
			return k
		}
	}
	return "heic" // mif1 without a codec brand: let libheif decide
}

// Describe says what data that Sniff does not accept looks like, as the
// message of an InvalidImageFormatException: "not an image: the file is a
// PDF document", "unsupported image format: SVG (vector graphics)", "not an
// image: the file is text"... It reads at most the first 512 bytes.
func Describe(data []byte) string {
	if len(data) == 0 {
		return "empty file (0 bytes)"
	}
	if format, ok := Sniff(data); ok {
		return "a " + formatName(format) + " image"
	}
	head := data[:min(len(data), 512)]
	trimmed := bytes.TrimLeft(head, " \t\r\n\xef\xbb\xbf")
	lower := bytes.ToLower(trimmed)
	has := func(p string) bool { return bytes.HasPrefix(data, []byte(p)) }
	switch {
	case has("%PDF-"):
		return "not an image: the file is a PDF document"
	case has("PK\x03\x04"):
		return "not an image: the file is a ZIP archive (or an office document)"
	case has("\x1f\x8b"):
		return "not an image: the file is gzip-compressed"
	case has("\x7fELF"):
		return "not an image: the file is an ELF executable"
	case has("8BPS"):
		return "unsupported image format: Photoshop PSD"
	case has("\x00\x00\x01\x00"):
		return "unsupported image format: Windows icon (ICO)"
	case has("\xff\x0a"), has("\x00\x00\x00\x0cJXL \r\n\x87\n"):
		return "unsupported image format: JPEG XL"
	case has("\x00\x00\x00\x0cjP  \r\n\x87\n"), has("\xff\x4f\xff\x51"):
		return "unsupported image format: JPEG 2000"
	case has("\xff\xd8"):
		return "corrupt JPEG: no marker after the start-of-image"
	case has("\x89PNG"):
		return "corrupt PNG: bad signature"
	case has("RIFF"):
		return "not an image: the file is a RIFF container without WebP data (AVI or WAV?)"
	case bytes.HasPrefix(lower, []byte("<svg")), bytes.HasPrefix(lower, []byte("<?xml")) && bytes.Contains(lower, []byte("<svg")):
		return "unsupported image format: SVG (vector graphics)"
	case bytes.HasPrefix(lower, []byte("<!doctype html")), bytes.HasPrefix(lower, []byte("<html")):
		return "not an image: the file is an HTML document"
	case bytes.HasPrefix(lower, []byte("<?xml")):
		return "not an image: the file is an XML document"
	}
	if major, _, ok := ftyp(data); ok {
		return "unsupported format: an ISO media file of brand " + printable(major) + " (video?), not a HEIF image"
	}
	if looksText(head) {
		if len(trimmed) > 0 && (trimmed[0] == '{' || trimmed[0] == '[') {
			return "not an image: the file is text (JSON?)"
		}
		return "not an image: the file is text"
	}
	return "not an image: unrecognised binary data"
}

// looksText reports whether head is mostly printable UTF-8.
func looksText(head []byte) bool {
	if len(head) == 0 {
		return false
	}
	// A multi-byte rune may be cut at the end of head.
	for k := 0; k < utf8.UTFMax && !utf8.Valid(head); k++ {
		head = head[:len(head)-1]
	}
	if !utf8.Valid(head) {
		return false
	}
	for _, r := range string(head) {
		if r < 0x20 && r != '\n' && r != '\r' && r != '\t' {
			return false
		}
	}
	return true
}

func printable(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c < 0x20 || c > 0x7e {
			b[i] = '?'
		}
	}
	return `"` + string(b) + `"`
}

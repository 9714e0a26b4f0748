package imageio

import (
	"encoding/binary"
	"errors"
	"strings"
)

// jpegInfo is what the marker segments before the first scan say.
type jpegInfo struct {
	width, height int
	components    int
	progressive   bool
	orientation   int // EXIF orientation, 1 when absent
}

// scanJPEG walks the marker segments of a JPEG up to the first SOS,
// collecting the frame size and the EXIF orientation. It allocates nothing
// and returns an InvalidImageFormatException for a malformed header.
func scanJPEG(data []byte) (jpegInfo, error) {
	info := jpegInfo{orientation: 1}
	bad := func(msg string) (jpegInfo, error) {
		return info, errorf(CodeInvalidFormat, "corrupt JPEG: %s", msg)
	}
	if len(data) < 4 || data[0] != 0xFF || data[1] != 0xD8 {
		return bad("no start-of-image marker")
	}
	exifSeen := false
	p := 2
	for {
		// Find the next marker, skipping stray bytes (libjpeg warns and
		// skips them too) and fill bytes.
		for p < len(data) && data[p] != 0xFF {
			p++
		}
		for p < len(data) && data[p] == 0xFF {
			p++
		}
		if p >= len(data) {
			return bad("file ends inside the header")
		}
		m := data[p]
		p++
		if m == 0x01 || (m >= 0xD0 && m <= 0xD7) {
			continue // standalone markers
		}
		if m == 0xD9 {
			return bad("end-of-image before any scan")
		}
		if p+2 > len(data) {
			return bad("file ends inside the header")
		}
		n := int(binary.BigEndian.Uint16(data[p:]))
		if n < 2 || p+n > len(data) {
			return bad("file ends inside the header")
		}
		seg := data[p+2 : p+n]
		p += n
		switch {
		case m == 0xE1 && !exifSeen && len(seg) >= 6 && string(seg[:6]) == "Exif\x00\x00":
			exifSeen = true
			info.orientation = exifOrientation(seg[6:])
		case m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC:
			if len(seg) < 6 {
				return bad("short frame header")
			}
			info.height = int(binary.BigEndian.Uint16(seg[1:]))
			info.width = int(binary.BigEndian.Uint16(seg[3:]))
			info.components = int(seg[5])
			info.progressive = m == 0xC2 || m == 0xC6 || m == 0xCA || m == 0xCE
		case m == 0xDA:
			if info.width == 0 {
				return bad("scan before the frame header")
			}
			return info, nil
		}
	}
}

// harmlessJPEGWarnings are libjpeg warnings after which the decoded image
// is complete and right.
var harmlessJPEGWarnings = []string{
	"extraneous bytes before marker", // stray bytes between segments
	"unknown JFIF revision",
	"Unknown Adobe color transform",
	"Inconsistent progression sequence",
	"Invalid SOS parameters for sequential JPEG",
}

// jpegWarning turns the first warning libjpeg reported into an error,
// or nil when the warning is harmless. Only the first warning is known:
// a harmless one hides any later damage.
func jpegWarning(msg string) error {
	for _, h := range harmlessJPEGWarnings {
		if strings.Contains(msg, h) {
			return nil
		}
	}
	if strings.Contains(msg, "Premature end of JPEG file") {
		return &Error{Code: CodeInvalidFormat,
			Message: "truncated JPEG: the data ends before the image is complete", Err: errors.New(msg)}
	}
	return &Error{Code: CodeInvalidFormat, Message: "corrupt JPEG data", Err: errors.New(msg)}
}

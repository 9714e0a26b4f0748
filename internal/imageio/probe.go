package imageio

import (
	"bytes"
	"context"

	"github.com/imagerec/imagerec/internal/vision"
)

// Info is what an image's header says, read without decoding pixels.
type Info struct {
	// Format as in Image.Format.
	Format string
	// Width and Height are the upright full-resolution size (Image's
	// SourceWidth and SourceHeight).
	Width, Height int
	// Orientation and OrientationCorrection as in Image.
	Orientation           int
	OrientationCorrection string
}

// Probe reads the format, upright size and orientation from the header and
// checks them against the limits, without decoding any pixels. It returns
// the errors Decode would for empty input, non-images, malformed headers
// and limits; damage after the header is only found by Decode.
func Probe(ctx context.Context, data []byte, lim Limits) (*Info, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	lim = lim.withDefaults()
	format, err := sniffChecked(data, lim)
	if err != nil {
		return nil, err
	}
	w, h, o := 0, 0, 1
	switch format {
	case "jpeg":
		info, err := scanJPEG(data)
		if err != nil {
			return nil, err
		}
		w, h, o = info.width, info.height, info.orientation
	case "heic", "avif":
		if w, h, err = heifSize(data, format); err != nil {
			return nil, err
		}
	default:
		cfg, err := codecFor(format).config(bytes.NewReader(data))
		if err != nil {
			return nil, corrupt(format, err)
		}
		w, h, o = cfg.Width, cfg.Height, stdOrientation(data, format)
	}
	if err := lim.check(format, w, h); err != nil {
		return nil, err
	}
	if o >= 5 {
		w, h = h, w
	}
	return &Info{Format: format, Width: w, Height: h, Orientation: o, OrientationCorrection: orientationCorrection(o)}, nil
}

// sniffChecked applies the checks that need only the bytes: empty, too
// large, not a supported image.
func sniffChecked(data []byte, lim Limits) (string, error) {
	if len(data) == 0 {
		return "", vision.Errorf(vision.CodeInvalidImageFormat, "empty file (0 bytes)")
	}
	if lim.MaxBytes > 0 && int64(len(data)) > lim.MaxBytes {
		return "", vision.Errorf(vision.CodeImageTooLarge, "image is %d bytes; at most %d are allowed", len(data), lim.MaxBytes)
	}
	format, ok := Sniff(data)
	if !ok {
		return "", vision.Errorf(vision.CodeInvalidImageFormat, "%s", Describe(data))
	}
	return format, nil
}

// stdOrientation reads the EXIF orientation of the formats decoded by Go
// packages.
func stdOrientation(data []byte, format string) int {
	switch format {
	case "tiff":
		return exifOrientation(data)
	case "webp":
		return webpOrientation(data)
	case "png":
		return pngOrientation(data)
	}
	return 1
}

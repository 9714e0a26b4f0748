package imageio

import (
	"bytes"
	"context"
	"image/color"
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

	// What DecodeCost needs: the stored (not upright) size, the JPEG
	// header and the Go decoder's colour model.
	storedW, storedH int
	jpeg             jpegInfo
	colorModel       color.Model
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
	info := &Info{Format: format}
	switch format {
	case "jpeg":
		ji, err := scanJPEG(data)
		if err != nil {
			return nil, err
		}
		w, h, o = ji.width, ji.height, ji.orientation
		info.jpeg = ji
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
		info.colorModel = cfg.ColorModel
	}
	if err := lim.check(format, w, h); err != nil {
		return nil, err
	}
	info.storedW, info.storedH = w, h
	if o >= 5 {
		w, h = h, w
	}
	info.Width, info.Height, info.Orientation, info.OrientationCorrection = w, h, o, orientationCorrection(o)
	return info, nil
}

// sniffChecked applies the checks that need only the bytes: empty, too
// large, not a supported image.
func sniffChecked(data []byte, lim Limits) (string, error) {
	if len(data) == 0 {
		return "", errorf(CodeInvalidFormat, "empty file (0 bytes)")
	}
	if lim.MaxBytes > 0 && int64(len(data)) > lim.MaxBytes {
		return "", errorf(CodeTooLarge, "image is %d bytes; at most %d are allowed", len(data), lim.MaxBytes)
	}
	format, ok := Sniff(data)
	if !ok {
		return "", errorf(CodeInvalidFormat, "%s", Describe(data))
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

package imageio

import (
	"context"
	"fmt"
	"strings"
)

// Default limits, used where a Limits field is zero.
const (
	// DefaultMaxBytes is Amazon Rekognition's limit for an image in S3.
	DefaultMaxBytes = 15 << 20
	// DefaultMaxPixels bounds the decoded size (100 MP is 300 MB of RGB).
	DefaultMaxPixels = 100_000_000
	// DefaultMaxSide admits phone panoramas (about 17000 px wide) while
	// refusing absurd strips; the pixel limit is the real memory guard.
	DefaultMaxSide = 20000
	// DefaultMinSide admits any decodable image. Amazon Rekognition requires
	// 80 px (vision.MinImageSide), which the recognition engine sets.
	DefaultMinSide = 1
)

// Limits bound what Decode accepts. A zero field means its default; a
// negative field means no limit.
type Limits struct {
	// MaxBytes is the largest encoded size (default 15 MiB).
	// Larger input gives ImageTooLargeException.
	MaxBytes int64
	// MaxPixels is the largest width*height of the stored image, checked
	// from the header before any pixel is allocated (default 100 MP).
	// Larger input gives ImageTooLargeException.
	MaxPixels int64
	// MaxSide is the largest width or height (default 20000).
	// Larger input gives ImageTooLargeException.
	MaxSide int
	// MinSide is the smallest width or height (default 1; Rekognition: 80).
	// Smaller input gives InvalidParameterException.
	MinSide int
}

func (l Limits) withDefaults() Limits {
	if l.MaxBytes == 0 {
		l.MaxBytes = DefaultMaxBytes
	}
	if l.MaxPixels == 0 {
		l.MaxPixels = DefaultMaxPixels
	}
	if l.MaxSide == 0 {
		l.MaxSide = DefaultMaxSide
	}
	if l.MinSide == 0 {
		l.MinSide = DefaultMinSide
	}
	return l
}

// check reports whether a stored image of w x h pixels is within the limits.
// It is called with the header's dimensions, before decoding.
func (l Limits) check(format string, w, h int) error {
	if w <= 0 || h <= 0 {
		return errorf(CodeInvalidFormat, "corrupt %s: header gives a size of %dx%d", formatName(format), w, h)
	}
	if l.MaxSide > 0 && (w > l.MaxSide || h > l.MaxSide) {
		return errorf(CodeTooLarge, "image is %dx%d pixels; the largest side allowed is %d", w, h, l.MaxSide)
	}
	if l.MaxPixels > 0 && int64(w)*int64(h) > l.MaxPixels {
		return errorf(CodeTooLarge, "image is %dx%d = %.1f megapixels; at most %.1f are allowed", w, h, float64(w)*float64(h)/1e6, float64(l.MaxPixels)/1e6)
	}
	if l.MinSide > 0 && (w < l.MinSide || h < l.MinSide) {
		return errorf(CodeTooSmall, "image is %dx%d pixels; both sides must be at least %d", w, h, l.MinSide)
	}
	return nil
}

// Options control Decode. The zero value decodes at full size with the
// default limits.
type Options struct {
	Limits Limits
	// TargetMaxSide lets the JPEG decoder use DCT scaling: it decodes at the
	// smallest of 1/8, 1/4, 1/2 and 1 whose longer side is still at least
	// TargetMaxSide. 0 means full size. Other formats are always decoded at
	// full size (Image.Width == Image.SourceWidth).
	TargetMaxSide int
}

// Image is a decoded, upright RGB image.
type Image struct {
	// Pix holds RGB, 3 bytes per pixel, row-major, Width*3 bytes per row,
	// upright (EXIF orientation applied).
	Pix []uint8
	// Width and Height are the size of Pix, after any DCT scaling.
	Width, Height int
	// Format is what the bytes were: jpeg, png, gif, webp, tiff, bmp, heic
	// or avif. Images made by Resize, Crop and the like keep the Format,
	// orientation and source size of the image they were made from.
	Format string
	// OrientationCorrection is Rekognition's name for the rotation that the
	// EXIF orientation applied: ROTATE_0, ROTATE_90, ROTATE_180 or
	// ROTATE_270 (the stored image was rotated that many degrees
	// counter-clockwise from upright). Mirroring orientations (2, 4, 5, 7)
	// report their rotation part.
	OrientationCorrection string
	// Orientation is the EXIF orientation tag that was applied (1-8; 1 when
	// there was none).
	Orientation int
	// SourceWidth and SourceHeight are the upright full-resolution size,
	// before DCT scaling.
	SourceWidth, SourceHeight int
}

// Decode decodes data, checking opt.Limits before allocating pixels, and
// returns the upright RGB image. Errors about the image are *Error with
// code CodeInvalidFormat, CodeTooLarge or CodeTooSmall; the only other
// error is ctx's.
func Decode(ctx context.Context, data []byte, opt Options) (*Image, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	lim := opt.Limits.withDefaults()
	format, err := sniffChecked(data, lim)
	if err != nil {
		return nil, err
	}
	var im *Image
	switch format {
	case "jpeg":
		im, err = decodeJPEG(data, lim, opt.TargetMaxSide)
	case "heic", "avif":
		im, err = decodeHEIF(data, format, lim)
	case "png":
		im, err = decodePNG(data, lim)
	default:
		im, err = decodeStd(data, format, lim)
	}
	if err != nil {
		return nil, err
	}
	im.Format = format
	return im, nil
}

// dctScale returns the denominator (1, 2, 4 or 8) of the smallest DCT
// scale whose longer side is still at least target.
func dctScale(w, h, target int) int {
	if target <= 0 {
		return 1
	}
	long := max(w, h)
	for _, d := range []int{8, 4, 2} {
		if (long+d-1)/d >= target {
			return d
		}
	}
	return 1
}

// scaled is libjpeg's TJSCALED: ceil(n / d).
func scaled(n, d int) int { return (n + d - 1) / d }

// finish applies the orientation to a stored-orientation RGB buffer and
// fills in the upright sizes.
func finish(pix []uint8, w, h, orientation, srcW, srcH int) *Image {
	if orientation < 1 || orientation > 8 {
		orientation = 1
	}
	pix, w, h = orient(pix, w, h, orientation)
	if orientation >= 5 {
		srcW, srcH = srcH, srcW
	}
	return &Image{
		Pix: pix, Width: w, Height: h,
		Orientation:           orientation,
		OrientationCorrection: orientationCorrection(orientation),
		SourceWidth:           srcW, SourceHeight: srcH,
	}
}

func formatName(format string) string {
	switch format {
	case "webp":
		return "WebP"
	case "jpeg", "png", "gif", "bmp", "tiff", "heic", "avif":
		return strings.ToUpper(format)
	}
	return format
}

func corrupt(format string, err error) error {
	return &Error{Code: CodeInvalidFormat, Message: fmt.Sprintf("corrupt or truncated %s", formatName(format)), Err: err}
}

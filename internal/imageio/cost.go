package imageio

import (
	"image/color"
)

// The estimate below is what the memory budget admits images by (see
// internal/membudget). It is computed from the header alone and errs
// high: the decoders' own buffers are counted at their largest.

// DecodedSize is the size Decode gives this image with the given
// Options.TargetMaxSide, in stored orientation: the DCT-scaled size for
// JPEG, the full size for the other formats.
func (i *Info) DecodedSize(targetMaxSide int) (w, h int) {
	w, h = i.storedW, i.storedH
	if i.Format == "jpeg" {
		d := dctScale(w, h, targetMaxSide)
		w, h = scaled(w, d), scaled(h, d)
	}
	return w, h
}

// DecodeCost estimates the most memory, in bytes, that Decode holds at
// once for this image with the given Options.TargetMaxSide: the decoder's
// own full-size buffers (image/png-style NRGBA64 planes, libjpeg's
// coefficient arrays for progressive files, libheif's planes), the packed
// RGB output and the copy that applying an EXIF orientation makes.
func (i *Info) DecodeCost(targetMaxSide int) int64 {
	w, h := i.DecodedSize(targetMaxSide)
	out := 3 * int64(w) * int64(h)
	if i.Orientation > 1 {
		out *= 2 // orient writes a new buffer
	}
	full := int64(i.storedW) * int64(i.storedH)
	var native int64
	switch i.Format {
	case "jpeg":
		native = jpegNative(i.jpeg, full, int64(w)*int64(h))
	case "png":
		// Rows go straight into the RGB output (pngrgb.go).
	case "heic", "avif":
		// libheif's decoded planes (up to 3 bytes a pixel, 4:4:4) and its
		// interleaved RGB image (3), copied into the output.
		native = 6 * full
	case "tiff":
		// The decoded image, plus the strip buffer: as large as the image
		// when the file has a single strip, and grown by appending for a
		// compressed one, so that its allocations reach about 5 times its
		// final size before the collector can return any of it.
		native = 6 * bytesPerPixel(i.colorModel, full)
	case "gif":
		// The first frame (at most the logical screen) and its RGB
		// conversion before it is placed on the screen-sized output.
		native = 4 * full
	default: // bmp, webp: the image the Go decoder returns
		native = bytesPerPixel(i.colorModel, full)
	}
	return native + out
}

// bytesPerPixel is the size of n pixels in the image type a Go decoder
// returns for colour model m (rounded up, at least 1 byte a pixel).
func bytesPerPixel(m color.Model, n int64) int64 {
	switch m {
	case color.GrayModel, color.AlphaModel:
		return n
	case color.Gray16Model, color.Alpha16Model:
		return 2 * n
	case color.RGBAModel, color.NRGBAModel, color.CMYKModel:
		return 4 * n
	case color.RGBA64Model, color.NRGBA64Model:
		return 8 * n
	case color.YCbCrModel:
		return 3 * n // 4:4:4 at most
	case color.NYCbCrAModel:
		return 4 * n
	}
	if _, ok := m.(color.Palette); ok {
		return n
	}
	return 8 * n // unknown: the largest Go image type
}

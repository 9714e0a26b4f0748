//go:build !cgo || noturbo

package imageio

import (
	"bytes"
	"image/jpeg"
)

// JPEGDecoder names the JPEG implementation compiled in.
const JPEGDecoder = "image/jpeg"

// decodeJPEG is the pure-Go fallback: image/jpeg at full size, then a box
// filter to the size DCT scaling would have given, so both builds agree on
// Image.Width and Height.
func decodeJPEG(data []byte, lim Limits, target int) (*Image, error) {
	info, err := scanJPEG(data)
	if err != nil {
		return nil, err
	}
	if err := lim.check("jpeg", info.width, info.height); err != nil {
		return nil, err
	}
	img, err := jpeg.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, corrupt("jpeg", err)
	}
	pix, w, h := toRGB(img)
	if d := dctScale(w, h, target); d > 1 {
		pix, w, h = boxShrink(pix, w, h, d)
	}
	return finish(pix, w, h, info.orientation, info.width, info.height), nil
}

// jpegNative is what image/jpeg holds besides the RGB output: its
// full-size YCbCr (or grey, CMYK) image, the full-size RGB conversion
// before the box filter, and for a progressive file the coefficients (4
// bytes a sample).
func jpegNative(info jpegInfo, full, out int64) int64 {
	c := int64(max(info.components, 1))
	n := c * full
	if out < full {
		n += 3 * full // the full-size RGB before the box filter
	}
	if info.progressive {
		n += 4 * c * full
	}
	return n
}

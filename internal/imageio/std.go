package imageio

import (
	"bytes"
	"image"
	"image/color"
	"image/gif"
	"image/png"
	"io"

	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"
	"golang.org/x/image/webp"
)

type codec struct {
	config func(io.Reader) (image.Config, error)
	decode func(io.Reader) (image.Image, error)
}

func codecFor(format string) codec {
	switch format {
	case "png":
		return codec{png.DecodeConfig, png.Decode}
	case "gif": // first frame
		return codec{gif.DecodeConfig, gif.Decode}
	case "bmp":
		return codec{bmp.DecodeConfig, bmp.Decode}
	case "tiff":
		return codec{tiff.DecodeConfig, tiff.Decode}
	case "webp":
		return codec{webp.DecodeConfig, webp.Decode}
	}
	return codec{}
}

// decodeStd decodes the formats handled by Go packages, checking the
// header's size against the limits first.
func decodeStd(data []byte, format string, lim Limits) (*Image, error) {
	c := codecFor(format)
	if c.decode == nil {
		return nil, corrupt(format, nil)
	}
	cfg, err := c.config(bytes.NewReader(data))
	if err != nil {
		return nil, corrupt(format, err)
	}
	if err := lim.check(format, cfg.Width, cfg.Height); err != nil {
		return nil, err
	}
	img, err := c.decode(bytes.NewReader(data))
	if err != nil {
		return nil, corrupt(format, err)
	}
	pix, w, h := toRGB(img)
	if format == "gif" && (w != cfg.Width || h != cfg.Height) {
		pix = onScreen(pix, img.Bounds(), cfg.Width, cfg.Height)
		w, h = cfg.Width, cfg.Height
	}
	return finish(pix, w, h, stdOrientation(data, format), w, h), nil
}

// onScreen places a GIF's first frame (RGB, at bounds r) on its logical
// screen of sw x sh pixels, white where the frame does not cover it (as a
// browser shows the transparent screen on a white page). The image is the
// screen, so Image.Width and Height are the GIF's own size.
func onScreen(frame []uint8, r image.Rectangle, sw, sh int) []uint8 {
	out := make([]uint8, 3*sw*sh)
	for i := range out {
		out[i] = 0xff
	}
	fw := r.Dx()
	for y := range r.Dy() {
		d := 3 * ((r.Min.Y+y)*sw + r.Min.X)
		copy(out[d:d+3*fw], frame[3*y*fw:3*(y+1)*fw])
	}
	return out
}

// toRGB converts any image to packed RGB. Transparent pixels are composited
// over white, as a viewer on a white page shows them.
func toRGB(img image.Image) ([]uint8, int, int) {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	out := make([]uint8, 3*w*h)
	switch m := img.(type) {
	case *image.YCbCr:
		ycbcrToRGB(m, out)
	case *image.Gray:
		for y := 0; y < h; y++ {
			s := m.Pix[y*m.Stride : y*m.Stride+w]
			d := out[3*y*w : 3*(y+1)*w]
			for x, v := range s {
				d[3*x], d[3*x+1], d[3*x+2] = v, v, v
			}
		}
	case *image.NRGBA:
		for y := 0; y < h; y++ {
			s := m.Pix[y*m.Stride : y*m.Stride+4*w]
			d := out[3*y*w : 3*(y+1)*w]
			for x := 0; x < w; x++ {
				a := uint32(s[4*x+3])
				if a == 255 {
					d[3*x], d[3*x+1], d[3*x+2] = s[4*x], s[4*x+1], s[4*x+2]
					continue
				}
				for k := 0; k < 3; k++ {
					d[3*x+k] = uint8((uint32(s[4*x+k])*a + 255*(255-a) + 127) / 255)
				}
			}
		}
	case *image.RGBA:
		for y := 0; y < h; y++ {
			s := m.Pix[y*m.Stride : y*m.Stride+4*w]
			d := out[3*y*w : 3*(y+1)*w]
			for x := 0; x < w; x++ {
				bg := 255 - s[4*x+3] // premultiplied: add the white that shows through
				d[3*x], d[3*x+1], d[3*x+2] = s[4*x]+bg, s[4*x+1]+bg, s[4*x+2]+bg
			}
		}
	case *image.Paletted:
		var pal [256][3]uint8
		for i, c := range m.Palette {
			pal[i] = rgbOverWhite(c)
		}
		for y := 0; y < h; y++ {
			s := m.Pix[y*m.Stride : y*m.Stride+w]
			d := out[3*y*w : 3*(y+1)*w]
			for x, v := range s {
				p := pal[v]
				d[3*x], d[3*x+1], d[3*x+2] = p[0], p[1], p[2]
			}
		}
	default:
		i := 0
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				p := rgbOverWhite(img.At(x, y))
				out[i], out[i+1], out[i+2] = p[0], p[1], p[2]
				i += 3
			}
		}
	}
	return out, w, h
}

func rgbOverWhite(c color.Color) [3]uint8 {
	r, g, b, a := c.RGBA() // premultiplied, 16 bit
	bg := 0xffff - a
	return [3]uint8{uint8((r + bg) >> 8), uint8((g + bg) >> 8), uint8((b + bg) >> 8)}
}

// boxShrink averages d x d blocks (the last row and column of blocks may be
// partial), giving ceil(w/d) x ceil(h/d) like DCT scaling.
func boxShrink(pix []uint8, w, h, d int) ([]uint8, int, int) {
	ow, oh := scaled(w, d), scaled(h, d)
	out := make([]uint8, 3*ow*oh)
	acc := make([]uint32, 4*ow) // r, g, b, count per output column
	for oy := 0; oy < oh; oy++ {
		clear(acc)
		for y := oy * d; y < min(h, (oy+1)*d); y++ {
			row := pix[3*y*w : 3*(y+1)*w]
			for x := 0; x < w; x++ {
				a := acc[4*(x/d):]
				a[0] += uint32(row[3*x])
				a[1] += uint32(row[3*x+1])
				a[2] += uint32(row[3*x+2])
				a[3]++
			}
		}
		o := out[3*oy*ow:]
		for ox := 0; ox < ow; ox++ {
			a := acc[4*ox:]
			n := a[3]
			o[3*ox] = uint8((a[0] + n/2) / n)
			o[3*ox+1] = uint8((a[1] + n/2) / n)
			o[3*ox+2] = uint8((a[2] + n/2) / n)
		}
	}
	return out, ow, oh
}

// ycbcrToRGB converts with Go's own integer arithmetic (the results equal
// color.YCbCrToRGB) but walks rows instead of calling YOffset/COffset per
// pixel, which made the pure-Go JPEG path several times slower.
func ycbcrToRGB(m *image.YCbCr, out []uint8) {
	b := m.Rect
	w, h := b.Dx(), b.Dy()
	hs := 0 // horizontal chroma subsampling shift; COffset handles rows
	switch m.SubsampleRatio {
	case image.YCbCrSubsampleRatio422, image.YCbCrSubsampleRatio420:
		hs = 1
	case image.YCbCrSubsampleRatio411, image.YCbCrSubsampleRatio410:
		hs = 2
	case image.YCbCrSubsampleRatio444, image.YCbCrSubsampleRatio440:
		// No horizontal subsampling.
	}
	for y := 0; y < h; y++ {
		yi := m.YOffset(b.Min.X, b.Min.Y+y)
		ci := m.COffset(b.Min.X, b.Min.Y+y)
		x0 := b.Min.X >> hs // chroma column of the row's first pixel
		yrow := m.Y[yi : yi+w]
		d := out[3*y*w : 3*(y+1)*w]
		for x, yv := range yrow {
			c := ci + (b.Min.X+x)>>hs - x0
			yy1 := int32(yv) * 0x10101
			cb1 := int32(m.Cb[c]) - 128
			cr1 := int32(m.Cr[c]) - 128
			r := yy1 + 91881*cr1
			g := yy1 - 22554*cb1 - 46802*cr1
			bl := yy1 + 116130*cb1
			d[3*x] = clamp16(r)
			d[3*x+1] = clamp16(g)
			d[3*x+2] = clamp16(bl)
		}
	}
}

// clamp16 is the clamping step of color.YCbCrToRGB.
func clamp16(v int32) uint8 {
	if uint32(v)&0xff000000 == 0 {
		return uint8(v >> 16)
	}
	return uint8(^(v >> 31))
}

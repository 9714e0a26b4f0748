package rekognition

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/jpeg"
	_ "image/png" // image.DecodeConfig for PNG headers

	"golang.org/x/image/draw"

	"github.com/imagerec/imagerec/internal/imageio"
	"github.com/imagerec/imagerec/internal/vision"
)

// Limits are what Rekognition accepts as image bytes, and how images outside
// them are re-encoded.
type Limits struct {
	// MaxBytes is the largest image sent as bytes (default 5 MiB, the
	// documented limit for Image.Bytes).
	MaxBytes int
	// MaxSide is the largest width or height sent (default 10000).
	MaxSide int
	// NormalizeSide is the longest side of a re-encoded image (default
	// 4096): large enough for small text, small enough to stay far under
	// MaxBytes.
	NormalizeSide int
	// JPEGQuality of re-encoded images (default 90).
	JPEGQuality int
}

func (l Limits) withDefaults() Limits {
	if l.MaxBytes <= 0 {
		l.MaxBytes = 5 << 20
	}
	if l.MaxSide <= 0 {
		l.MaxSide = 10000
	}
	if l.NormalizeSide <= 0 {
		l.NormalizeSide = 4096
	}
	l.NormalizeSide = min(l.NormalizeSide, l.MaxSide)
	if l.JPEGQuality <= 0 || l.JPEGQuality > 100 {
		l.JPEGQuality = 90
	}
	return l
}

// prepared is an image ready to send.
type prepared struct {
	bytes      []byte
	info       vision.ImageInfo // of the upright original
	normalized bool             // bytes were re-encoded
}

// prepare returns the image as Rekognition will take it. JPEG and PNG within
// the limits and without an EXIF rotation go as they are; anything else is
// decoded upright by imageio and re-encoded as JPEG. Undecodable images fail
// here with imageio's error as a *vision.Error (vision.ImageError), before any API call is paid for.
func (e *Engine) prepare(ctx context.Context, in vision.Input) (prepared, error) {
	format, _ := imageio.Sniff(in.Bytes)
	switch format {
	case "jpeg":
		// A 1/8-scale DCT decode is cheap and reads the real size and EXIF
		// orientation (and rejects corrupt or truncated files).
		probe, err := imageio.Decode(ctx, in.Bytes, imageio.Options{TargetMaxSide: 1})
		if err != nil {
			return prepared{}, vision.ImageError(err)
		}
		info := vision.ImageInfo{Width: probe.SourceWidth, Height: probe.SourceHeight, Format: format, OrientationCorrection: probe.OrientationCorrection}
		if probe.Orientation == 1 && e.fits(len(in.Bytes), info.Width, info.Height) {
			return prepared{bytes: in.Bytes, info: info}, nil
		}
	case "png":
		cfg, _, err := image.DecodeConfig(bytes.NewReader(in.Bytes))
		if err == nil && e.fits(len(in.Bytes), cfg.Width, cfg.Height) {
			return prepared{bytes: in.Bytes, info: vision.ImageInfo{Width: cfg.Width, Height: cfg.Height, Format: format, OrientationCorrection: "ROTATE_0"}}, nil
		}
	}
	return e.normalize(ctx, in.Bytes)
}

func (e *Engine) fits(n, w, h int) bool {
	return n <= e.limits.MaxBytes && w <= e.limits.MaxSide && h <= e.limits.MaxSide
}

// normalize decodes data upright and encodes it as a JPEG under the limits.
func (e *Engine) normalize(ctx context.Context, data []byte) (prepared, error) {
	im, err := imageio.Decode(ctx, data, imageio.Options{TargetMaxSide: e.limits.NormalizeSide})
	if err != nil {
		return prepared{}, vision.ImageError(err)
	}
	info := vision.ImageInfo{Width: im.SourceWidth, Height: im.SourceHeight, Format: im.Format, OrientationCorrection: im.OrientationCorrection}
	src := rgba(im)
	side, quality := e.limits.NormalizeSide, e.limits.JPEGQuality
	for {
		img := fit(src, side)
		var buf bytes.Buffer
		if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: quality}); err != nil {
			return prepared{}, fmt.Errorf("encode jpeg: %w", err)
		}
		if buf.Len() <= e.limits.MaxBytes {
			return prepared{bytes: buf.Bytes(), info: info, normalized: true}, nil
		}
		// Noise-like images can still be too large: trade quality first,
		// then size.
		if quality > 75 {
			quality = 75
		} else {
			side = side * 3 / 4
		}
		if err := ctx.Err(); err != nil {
			return prepared{}, err
		}
	}
}

// rgba copies imageio's packed RGB into an *image.RGBA, the jpeg encoder's
// fast path.
func rgba(im *imageio.Image) *image.RGBA {
	out := image.NewRGBA(image.Rect(0, 0, im.Width, im.Height))
	for i, j := 0, 0; i+2 < len(im.Pix); i, j = i+3, j+4 {
		out.Pix[j], out.Pix[j+1], out.Pix[j+2], out.Pix[j+3] = im.Pix[i], im.Pix[i+1], im.Pix[i+2], 0xff
	}
	return out
}

// fit scales img down so that its longer side is at most side.
func fit(img *image.RGBA, side int) *image.RGBA {
	w, h := img.Bounds().Dx(), img.Bounds().Dy()
	if w <= side && h <= side {
		return img
	}
	nw, nh := side, max(1, h*side/w)
	if h > w {
		nw, nh = max(1, w*side/h), side
	}
	out := image.NewRGBA(image.Rect(0, 0, nw, nh))
	draw.ApproxBiLinear.Scale(out, out.Bounds(), img, img.Bounds(), draw.Src, nil)
	return out
}

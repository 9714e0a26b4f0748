package imageio

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/color"
	"image/jpeg"
	"os"
	"path/filepath"
	"testing"
)

// readFile reads a file relative to the package directory.
func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := readFileErr(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func readFileErr(path string) ([]byte, error) { return os.ReadFile(filepath.FromSlash(path)) }

// sharedImages is the repository's shared photo directory.
const sharedImages = "../../testdata/images/"

func encodeJPEG(t testing.TB, img image.Image, q int) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: q}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// exifTIFF builds a TIFF structure whose IFD0 holds a Make tag (pointing
// outside the IFD, as cameras write it) and then the Orientation tag.
func exifTIFF(orientation int, bigEndian bool) []byte {
	type appender interface {
		AppendUint16([]byte, uint16) []byte
		AppendUint32([]byte, uint32) []byte
	}
	var bo appender = binary.LittleEndian
	hdr := []byte("II*\x00")
	if bigEndian {
		bo, hdr = binary.BigEndian, []byte("MM\x00*")
	}
	b := append([]byte{}, hdr...)
	b = bo.AppendUint32(b, 8)      // IFD0 offset
	b = bo.AppendUint16(b, 2)      // entries
	b = bo.AppendUint16(b, 0x010F) // Make, ASCII
	b = bo.AppendUint16(b, 2)
	b = bo.AppendUint32(b, 6)
	b = bo.AppendUint32(b, 8+2+2*12+4) // value offset: after the IFD
	b = bo.AppendUint16(b, 0x0112)     // Orientation, SHORT
	b = bo.AppendUint16(b, 3)
	b = bo.AppendUint32(b, 1)
	b = bo.AppendUint16(b, uint16(orientation))
	b = bo.AppendUint16(b, 0)
	b = bo.AppendUint32(b, 0) // no next IFD
	return append(b, "Canon\x00"...)
}

// withEXIF inserts an APP1 Exif segment right after the SOI marker.
func withEXIF(jpg []byte, orientation int, bigEndian bool) []byte {
	payload := append([]byte("Exif\x00\x00"), exifTIFF(orientation, bigEndian)...)
	seg := []byte{0xFF, 0xE1}
	seg = binary.BigEndian.AppendUint16(seg, uint16(len(payload)+2))
	seg = append(seg, payload...)
	out := append([]byte{}, jpg[:2]...)
	out = append(out, seg...)
	return append(out, jpg[2:]...)
}

var (
	red   = color.RGBA{220, 30, 30, 255}
	green = color.RGBA{30, 200, 30, 255}
	blue  = color.RGBA{30, 30, 220, 255}
	grey  = color.RGBA{128, 128, 128, 255}
)

// markerImage is w x h grey with a red block at the stored top-left, green
// at the top-right and blue at the bottom-left; blocks are w/4 x h/4.
func markerImage(w, h int) *image.RGBA {
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	bw, bh := w/4, h/4
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			c := grey
			switch {
			case x < bw && y < bh:
				c = red
			case x >= w-bw && y < bh:
				c = green
			case x < bw && y >= h-bh:
				c = blue
			}
			m.SetRGBA(x, y, c)
		}
	}
	return m
}

// pixel returns the RGB at (x, y).
func (im *Image) pixel(x, y int) color.RGBA {
	p := im.Pix[3*(y*im.Width+x):]
	return color.RGBA{p[0], p[1], p[2], 255}
}

func near(a, b color.RGBA, tol int) bool {
	d := func(x, y uint8) int { return max(int(x)-int(y), int(y)-int(x)) }
	return d(a.R, b.R) <= tol && d(a.G, b.G) <= tol && d(a.B, b.B) <= tol
}

// meanAbsDiff compares im with a reference image of the same size.
func meanAbsDiff(t testing.TB, im *Image, ref image.Image) float64 {
	t.Helper()
	pix, w, h := toRGB(ref)
	if w != im.Width || h != im.Height {
		t.Fatalf("size %dx%d, reference %dx%d", im.Width, im.Height, w, h)
	}
	var sum int
	for i := range pix {
		sum += max(int(pix[i])-int(im.Pix[i]), int(im.Pix[i])-int(pix[i]))
	}
	return float64(sum) / float64(len(pix))
}

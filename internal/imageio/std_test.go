package imageio

import (
	"fmt"
	"image"
	"image/color"
	"testing"
)

// TestYCbCrToRGB checks the row-walking conversion against the standard
// library for every subsampling ratio and an offset rectangle.
func TestYCbCrToRGB(t *testing.T) {
	t.Parallel()
	ratios := []image.YCbCrSubsampleRatio{
		image.YCbCrSubsampleRatio444, image.YCbCrSubsampleRatio422, image.YCbCrSubsampleRatio420,
		image.YCbCrSubsampleRatio440, image.YCbCrSubsampleRatio411, image.YCbCrSubsampleRatio410,
	}
	for _, ratio := range ratios {
		for _, r := range []image.Rectangle{image.Rect(0, 0, 37, 21), image.Rect(3, 5, 40, 26)} {
			t.Run(fmt.Sprint(ratio, r), func(t *testing.T) {
				t.Parallel()
				m := image.NewYCbCr(r, ratio)
				for i := range m.Y {
					m.Y[i] = uint8(i * 7)
				}
				for i := range m.Cb {
					m.Cb[i], m.Cr[i] = uint8(i*13), uint8(255-i*5)
				}
				sub := m.SubImage(image.Rect(r.Min.X+1, r.Min.Y+2, r.Max.X, r.Max.Y)).(*image.YCbCr)
				for _, img := range []*image.YCbCr{m, sub} {
					pix, w, _ := toRGB(img)
					b := img.Bounds()
					for y := b.Min.Y; y < b.Max.Y; y++ {
						for x := b.Min.X; x < b.Max.X; x++ {
							c := img.YCbCrAt(x, y)
							r, g, bl := color.YCbCrToRGB(c.Y, c.Cb, c.Cr)
							i := 3 * ((y-b.Min.Y)*w + x - b.Min.X)
							if got := [3]uint8{pix[i], pix[i+1], pix[i+2]}; got != [3]uint8{r, g, bl} {
								t.Fatalf("(%d,%d) = %v, want %v", x, y, got, [3]uint8{r, g, bl})
							}
						}
					}
				}
			})
		}
	}
}

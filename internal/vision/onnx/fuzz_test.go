package onnx

import (
	"testing"

	"github.com/imagerec/imagerec/internal/imageio"
	"github.com/imagerec/imagerec/internal/vision"
)

// FuzzImageSizes feeds the pixel code paths every feature shares with
// images of arbitrary (untrusted) dimensions, including 1-pixel strips,
// and boxes of arbitrary placement. Nothing may panic and every output
// must stay in range.
func FuzzImageSizes(f *testing.F) {
	f.Add(uint16(1), uint16(1), uint8(0), float32(0), float32(0), float32(1), float32(1))
	f.Add(uint16(300), uint16(1), uint8(77), float32(0.5), float32(0.5), float32(2), float32(-1))
	f.Add(uint16(1), uint16(300), uint8(255), float32(-1), float32(0.9), float32(0.05), float32(0.2))
	f.Add(uint16(257), uint16(129), uint8(3), float32(0.1), float32(0.2), float32(0.3), float32(0.4))
	f.Fuzz(func(t *testing.T, w16, h16 uint16, seed uint8, l, top, bw, bh float32) {
		w, h := int(w16%600)+1, int(h16%600)+1
		pix := make([]uint8, w*h*3)
		v := uint32(seed)
		for i := range pix {
			v = v*1103515245 + 12345
			pix[i] = uint8(v >> 24)
		}
		for _, spec := range []tensorSpec{centerNetSpec, nsfwSpec} {
			dst := make([]float32, spec.Width*spec.Height*3)
			pl := fillTensor(pix, w, h, spec, dst)
			if pl.sx <= 0 || pl.sy <= 0 {
				t.Fatalf("placement %+v", pl)
			}
		}
		small := shrink(&imageio.Image{Pix: pix, Width: w, Height: h}, labelsSide)
		sp, sw, sh := small.Pix, small.Width, small.Height
		if len(sp) != sw*sh*3 || sw > labelsSide || sh > labelsSide {
			t.Fatalf("shrink gave %dx%d with %d bytes", sw, sh, len(sp))
		}
		props := imageProperties(sp, sw, sh, 10)
		var total float64
		for _, c := range props.DominantColors {
			total += c.PixelPercent
			if c.Red < 0 || c.Red > 255 || c.CSSColor == "" || c.SimplifiedColor == "" {
				t.Fatalf("colour %+v", c)
			}
		}
		if len(props.DominantColors) == 0 || total < 99.9 || total > 100.1 {
			t.Fatalf("colours %+v", props.DominantColors)
		}
		q := props.Quality
		for _, x := range []float64{q.Brightness, q.Sharpness, q.Contrast} {
			if x < 0 || x > 100 || x != x {
				t.Fatalf("quality %+v", q)
			}
		}
		box := vision.BoundingBox{Left: float64(l), Top: float64(top), Width: float64(bw), Height: float64(bh)}
		labels := []vision.Label{{Name: "X", Instances: []vision.Instance{{BoundingBox: box}}}}
		instanceColors(labels, sp, sw, sh, 3)
		imageRegions(sp, sw, sh, []vision.BoundingBox{box}, 3)
	})
}

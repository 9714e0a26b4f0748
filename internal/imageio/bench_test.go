package imageio

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/imagerec/imagerec/internal/imageio/imageiotest"
)

// benchPhotos are the benchmark inputs, made like those of
// research/perf-anchors.md: a real photo upscaled, with grain added so the
// bit rate is that of a camera file, encoded by image/jpeg at q90 4:2:0.
var benchPhotos = sync.OnceValues(func() (map[string][]byte, error) {
	out := map[string][]byte{}
	src, err := jpeg.Decode(bytes.NewReader(mustRead(sharedImages + "dog.jpg")))
	if err != nil {
		return nil, err
	}
	pix, w, h := toRGB(src)
	base := &Image{Pix: pix, Width: w, Height: h}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, s := range []struct {
		name string
		w, h int
	}{{"12MP", 4000, 3000}, {"2MP", 1632, 1224}} {
		up := base.Resize(s.w, s.h)
		m := image.NewRGBA(image.Rect(0, 0, s.w, s.h))
		for i, j := 0, 0; i < len(up.Pix); i, j = i+3, j+4 {
			g := rng.IntN(29) - 14 // film grain, same on all channels
			for k := 0; k < 3; k++ {
				m.Pix[j+k] = uint8(min(max(int(up.Pix[i+k])+g, 0), 255))
			}
			m.Pix[j+3] = 255
		}
		var b bytes.Buffer
		if err := jpeg.Encode(&b, m, &jpeg.Options{Quality: 90}); err != nil {
			return nil, err
		}
		out[s.name] = b.Bytes()
	}
	return out, nil
})

func mustRead(path string) []byte {
	b, err := readFileErr(path)
	if err != nil {
		panic(err)
	}
	return b
}

func photo(b *testing.B, name string) []byte {
	b.Helper()
	photos, err := benchPhotos()
	if err != nil {
		b.Fatal(err)
	}
	return photos[name]
}

// BenchmarkDecodeJPEG measures Decode at full size and the DCT scales.
func BenchmarkDecodeJPEG(b *testing.B) {
	for _, name := range []string{"12MP", "2MP"} {
		for _, d := range []int{1, 2, 4, 8} {
			b.Run(fmt.Sprintf("%s/1:%d", name, d), func(b *testing.B) {
				data := photo(b, name)
				cfg, _ := jpeg.DecodeConfig(bytes.NewReader(data))
				opt := Options{TargetMaxSide: scaled(max(cfg.Width, cfg.Height), d)}
				b.SetBytes(int64(len(data)))
				cpu := processCPU()
				for b.Loop() {
					if _, err := Decode(b.Context(), data, opt); err != nil {
						b.Fatal(err)
					}
				}
				reportCPU(b, cpu)
				b.ReportMetric(float64(len(data))*8/float64(cfg.Width*cfg.Height), "bpp")
			})
		}
	}
}

// BenchmarkTo224 is bytes -> 224x224 RGB, the classifier input.
func BenchmarkTo224(b *testing.B) {
	for _, name := range []string{"12MP", "2MP"} {
		b.Run(name, func(b *testing.B) {
			data := photo(b, name)
			cpu := processCPU()
			for b.Loop() {
				im, err := Decode(b.Context(), data, Options{TargetMaxSide: 224})
				if err != nil {
					b.Fatal(err)
				}
				_ = im.Resize(224, 224)
			}
			reportCPU(b, cpu)
		})
	}
}

// BenchmarkTo640 is bytes -> a 640x640 letterbox, the detector input.
func BenchmarkTo640(b *testing.B) {
	for _, name := range []string{"12MP", "2MP"} {
		b.Run(name, func(b *testing.B) {
			data := photo(b, name)
			cpu := processCPU()
			for b.Loop() {
				im, err := Decode(b.Context(), data, Options{TargetMaxSide: 640})
				if err != nil {
					b.Fatal(err)
				}
				_, _, _, _ = im.Letterbox(640)
			}
			reportCPU(b, cpu)
		})
	}
}

// BenchmarkResize measures Resize alone from a full 2 MP image.
func BenchmarkResize(b *testing.B) {
	im, err := Decode(b.Context(), photo(b, "2MP"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	for _, size := range []int{224, 640} {
		b.Run(fmt.Sprint(size), func(b *testing.B) {
			cpu := processCPU()
			for b.Loop() {
				_ = im.Resize(size, size)
			}
			reportCPU(b, cpu)
		})
	}
}

// BenchmarkDecodePNG decodes the 2 MP photo as PNG (Go's image/png).
func BenchmarkDecodePNG(b *testing.B) {
	src, err := Decode(b.Context(), photo(b, "2MP"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	m := image.NewNRGBA(image.Rect(0, 0, src.Width, src.Height))
	for i, j := 0, 0; i < len(src.Pix); i, j = i+3, j+4 {
		copy(m.Pix[j:j+3], src.Pix[i:i+3])
		m.Pix[j+3] = 255
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, m); err != nil {
		b.Fatal(err)
	}
	data := buf.Bytes()
	b.SetBytes(int64(len(data)))
	cpu := processCPU()
	for b.Loop() {
		if _, err := Decode(b.Context(), data, Options{}); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, cpu)
}

// BenchmarkTo224Parallel runs bytes -> 224x224 on GOMAXPROCS goroutines;
// compare -cpu 1,2 for the scaling from one worker to two.
func BenchmarkTo224Parallel(b *testing.B) {
	data := photo(b, "12MP")
	cpu := processCPU()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			im, err := Decode(context.Background(), data, Options{TargetMaxSide: 224})
			if err != nil {
				b.Error(err)
				return
			}
			_ = im.Resize(224, 224)
		}
	})
	reportCPU(b, cpu)
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "img/s")
}

// BenchmarkPNG compares the row decoder with image/png followed by toRGB
// on 16-bit RGBA and 8-bit RGB PNGs of 2000x2000, in one run: B/op is the
// memory story (3 bytes a pixel against 11 for 16-bit), ns/op the time.
//
//	go test -run '^$' -bench PNG -benchmem ./internal/imageio
func BenchmarkPNG(b *testing.B) {
	for _, c := range []struct {
		name             string
		colorType, depth int
	}{{"rgba16", imageiotest.RGBA, 16}, {"rgb8", imageiotest.RGB, 8}} {
		data := imageiotest.LargePNG(2000, 2000, c.colorType, c.depth)
		b.Run(c.name+"/rows", func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				if _, err := Decode(b.Context(), data, Options{}); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(c.name+"/image-png", func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				img, err := png.Decode(bytes.NewReader(data))
				if err != nil {
					b.Fatal(err)
				}
				toRGB(img)
			}
		})
	}
}

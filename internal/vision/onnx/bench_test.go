package onnx

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/jpeg"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/image/draw"

	"github.com/imagerec/imagerec/internal/imageio"
	"github.com/imagerec/imagerec/internal/onnxrt"
	"github.com/imagerec/imagerec/internal/vision"
)

// Benchmarks on a 12 MP (4000x3000) and a 2 MP (1632x1224) JPEG q90 made
// from a real photo (person.jpg) upscaled with grain, as in the project's
// performance anchors. Run:
//
//	go test -run '^$' -bench . -benchtime 20x ./internal/vision/onnx/
//
// ms/img is wall time per image; cpu-ms/img the process CPU time per image
// (less sensitive to other load on the machine); img/s is throughput with
// the given number of workers (goroutines calling Recognize on one shared
// Engine).

var (
	benchOnce   sync.Once
	benchPhotos map[string][]byte
)

func benchImages(b testing.TB) map[string][]byte {
	benchOnce.Do(func() {
		src, err := jpeg.Decode(bytes.NewReader(photo(b, "person.jpg")))
		if err != nil {
			b.Fatal(err)
		}
		benchPhotos = map[string][]byte{}
		for name, sz := range map[string][2]int{"12MP": {4000, 3000}, "2MP": {1632, 1224}} {
			dst := image.NewRGBA(image.Rect(0, 0, sz[0], sz[1]))
			draw.CatmullRom.Scale(dst, dst.Bounds(), src, src.Bounds(), draw.Src, nil)
			// Deterministic grain so the file has a photo's entropy.
			seed := uint32(1)
			for i := range dst.Pix {
				if i%4 == 3 {
					continue
				}
				seed = seed*1664525 + 1013904223
				v := int(dst.Pix[i]) + int(seed>>28) - 8
				dst.Pix[i] = uint8(min(255, max(0, v)))
			}
			var buf bytes.Buffer
			if err := jpeg.Encode(&buf, dst, &jpeg.Options{Quality: 90}); err != nil {
				b.Fatal(err)
			}
			benchPhotos[name] = buf.Bytes()
		}
	})
	return benchPhotos
}

func BenchmarkDecode(b *testing.B) {
	for _, size := range []string{"2MP", "12MP"} {
		for _, side := range []int{labelsDecodeSide, labelsSide, facesSide} {
			b.Run(fmt.Sprintf("%s/side=%d", size, side), func(b *testing.B) {
				data := benchImages(b)[size]
				cpu0 := cpuTime()
				for b.Loop() {
					if _, err := imageio.Decode(context.Background(), data, imageio.Options{TargetMaxSide: side}); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/1000/float64(b.N), "cpu-ms/img")
			})
		}
	}
}

// BenchmarkModelRun is the bare session Run of each model on a prepared
// input: the floor for the per-feature numbers below.
func BenchmarkModelRun(b *testing.B) {
	e := testEngine(b)
	models := []struct {
		name string
		s    *onnxrt.Session
		spec tensorSpec
	}{{"centernet", e.objects, centerNetSpec}, {"nsfw", e.nsfw, nsfwSpec}}
	for _, c := range []*convertedModel{e.labels.imagenet, e.labels.cityscapes, e.labels.pascal, e.labels.bird, e.labels.insect} {
		if c != nil {
			models = append(models, struct {
				name string
				s    *onnxrt.Session
				spec tensorSpec
			}{strings.TrimSuffix(c.file, ".onnx"), c.s, rawPixels(c.side)})
		}
	}
	if f := e.faces; f != nil {
		// Per face: FaceRes (age, gender) and the identity descriptor.
		if f.attrs != nil && f.attrs.res != nil {
			models = append(models, struct {
				name string
				s    *onnxrt.Session
				spec tensorSpec
			}{"faceres", f.attrs.res, rawPixels(faceResSize)})
		}
		if f.ident != nil {
			models = append(models, struct {
				name string
				s    *onnxrt.Session
				spec tensorSpec
			}{"face-id", f.ident.sess, rawPixels(faceIDSize)})
		}
	}
	for _, m := range models {
		if m.s == nil {
			continue
		}
		b.Run(m.name, func(b *testing.B) {
			in := []onnxrt.Tensor{{Shape: []int64{1, int64(m.spec.Height), int64(m.spec.Width), 3}, Data: make([]float32, m.spec.Width*m.spec.Height*3)}}
			cpu0 := cpuTime()
			for b.Loop() {
				if _, err := m.s.Run(in); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/1000/float64(b.N), "cpu-ms/run")
		})
	}
}

// BenchmarkFeature runs Recognize with one feature at a time (decode
// included) on one worker.
func BenchmarkFeature(b *testing.B) {
	e := testEngine(b)
	for _, size := range []string{"2MP", "12MP"} {
		for _, f := range vision.AllFeatures {
			b.Run(fmt.Sprintf("%s/%s", size, f), func(b *testing.B) {
				data := benchImages(b)[size]
				opts := vision.Options{Features: []vision.Feature{f}}
				cpu0 := cpuTime()
				for b.Loop() {
					if _, err := e.Recognize(context.Background(), vision.Input{Bytes: data}, opts); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/img")
				b.ReportMetric(float64((cpuTime()-cpu0).Milliseconds())/float64(b.N), "cpu-ms/img")
			})
		}
	}
}

// BenchmarkEngine runs every feature on each image with 1 and 2 workers
// sharing one Engine, and reports throughput.
func BenchmarkEngine(b *testing.B) {
	e := testEngine(b)
	for _, size := range []string{"2MP", "12MP"} {
		for _, workers := range []int{1, 2} {
			b.Run(fmt.Sprintf("%s/workers=%d", size, workers), func(b *testing.B) {
				data := benchImages(b)[size]
				jobs := make(chan struct{})
				var wg sync.WaitGroup
				start, cpu0 := time.Now(), cpuTime()
				for range workers {
					wg.Go(func() {
						for range jobs {
							if _, err := e.Recognize(context.Background(), vision.Input{Bytes: data}, vision.Options{}); err != nil {
								b.Error(err)
							}
						}
					})
				}
				for b.Loop() {
					jobs <- struct{}{}
				}
				close(jobs)
				wg.Wait()
				el := time.Since(start)
				b.ReportMetric(float64(b.N)/el.Seconds(), "img/s")
				b.ReportMetric(float64(el.Milliseconds())/float64(b.N), "ms/img")
				b.ReportMetric(float64((cpuTime()-cpu0).Milliseconds())/float64(b.N), "cpu-ms/img")
				if mb := peakRSSMiB(); mb > 0 {
					b.ReportMetric(mb, "peakRSS-MiB")
				}
			})
		}
	}
}

// peakRSSMiB is the process's peak resident set (Linux VmHWM), or 0.
func peakRSSMiB() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")))
			if err == nil {
				return float64(kb) / 1024
			}
		}
	}
	return 0
}

// BenchmarkStage times each of this file's stages on the shrunken copy of
// the 2 MP photo, to compare with BenchmarkModelRun's bare Run.
func BenchmarkStage(b *testing.B) {
	e := testEngine(b)
	img, err := imageio.Decode(context.Background(), benchImages(b)["2MP"], imageio.Options{TargetMaxSide: labelsSide})
	if err != nil {
		b.Fatal(err)
	}
	b.Run("shrink", func(b *testing.B) {
		for b.Loop() {
			shrink(img, labelsSide)
		}
	})
	small := shrink(img, labelsSide)
	b.Run("objects", func(b *testing.B) {
		for b.Loop() {
			if _, err := e.detectObjects(small); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("properties", func(b *testing.B) {
		for b.Loop() {
			imageProperties(small.Pix, small.Width, small.Height, 10)
		}
	})
	// The result document of the 12 MP photo with every feature, as the
	// pipeline's Store task writes it.
	b.Run("json", func(b *testing.B) {
		res, err := e.Recognize(context.Background(), vision.Input{Bytes: benchImages(b)["12MP"]}, vision.Options{})
		if err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if _, err := json.Marshal(res); err != nil {
				b.Fatal(err)
			}
		}
	})
	if e.nsfw != nil {
		b.Run("nsfw", func(b *testing.B) {
			for b.Loop() {
				if _, err := e.classifyNSFW(small); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// cpuTime is the CPU time (user + system) this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

package onnx

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/imagerec/imagerec/internal/onnxrt"
	"github.com/imagerec/imagerec/internal/vision"
)

// quantBenchShapes are the input shapes the engine gives each model on a
// 12 MP photo (the text detector's at its 800 px limit, a 320 px line
// for the recogniser).
var quantBenchShapes = map[string][]int64{
	centerNetFile:  {1, 512, 512, 3},
	blazeFaceFile:  {1, 256, 256, 3},
	blazeFrontFile: {1, 128, 128, 3},
	faceResFile:    {1, 224, 224, 3},
	emotionFile:    {1, 64, 64, 1},
	ocrDetFile:     {1, 3, 608, 800},
	ocrRecFile:     {1, 3, 48, 320},
	ocrClsFile:     {1, 3, 48, 192},
	nsfwFile:       {1, 224, 224, 3},
}

// BenchmarkQuantModels runs each model's float and int8 forms
// alternately on the same input (one intra-op thread) and reports the CPU
// time of each and their ratio:
//
//	go test -run '^$' -bench QuantModels -benchtime 20x ./internal/vision/onnx/
func BenchmarkQuantModels(b *testing.B) {
	root := cacheRoot(b)
	dir := filepath.Join(root, "models")
	rt, err := onnxrt.Open(onnxrt.LibPath(root))
	if err != nil {
		b.Skip(err)
	}
	defer rt.Close()
	for _, f := range quantModels {
		q := strings.TrimSuffix(f, ".onnx") + int8Suffix
		if !fileExists(filepath.Join(dir, f)) || !fileExists(filepath.Join(dir, q)) {
			b.Logf("%s: int8 form not installed", f)
			continue
		}
		b.Run(strings.TrimSuffix(f, ".onnx"), func(b *testing.B) {
			var ss [2]*onnxrt.Session
			for i, file := range []string{f, q} {
				in, out, err := modelIO(rt, filepath.Join(dir, file))
				if err != nil {
					b.Fatal(err)
				}
				if ss[i], err = rt.NewSession(filepath.Join(dir, file), in, out, onnxrt.SessionOptions{}); err != nil {
					b.Fatal(err)
				}
				defer ss[i].Close()
			}
			shape := quantBenchShapes[f]
			t := onnxrt.Tensor{Shape: shape}
			t.Data = make([]float32, t.Len())
			for i := range t.Data {
				t.Data[i] = float32((i*7919)%255)/127.5 - 1
			}
			in := []onnxrt.Tensor{t}
			for _, s := range ss { // warm up
				if _, err := s.Run(in); err != nil {
					b.Fatal(err)
				}
			}
			var cpu [2]time.Duration
			for b.Loop() {
				for i, s := range ss {
					c0 := cpuTime()
					if _, err := s.Run(in); err != nil {
						b.Fatal(err)
					}
					cpu[i] += cpuTime() - c0
				}
			}
			n := float64(b.N)
			b.ReportMetric(float64(cpu[0].Microseconds())/1000/n, "float-cpu-ms")
			b.ReportMetric(float64(cpu[1].Microseconds())/1000/n, "int8-cpu-ms")
			b.ReportMetric(float64(cpu[1])/float64(cpu[0]), "int8/float")
		})
	}
}

// BenchmarkQuantEngine runs the float engine (Config.Float) and the int8
// one (the int8 models where installed) side by side on the same photos:
// each iteration recognises a batch of one image per worker with each
// engine in turn, so both see the same load. It reports CPU time per
// image and throughput for both, and their ratio; the feature=
// sub-benchmarks run one feature at a time (one worker), as README's
// performance table does:
//
//	go test -run '^$' -bench QuantEngine -benchtime 10x ./internal/vision/onnx/
func BenchmarkQuantEngine(b *testing.B) {
	root := cacheRoot(b)
	var engines [2]*Engine
	for i, float := range []bool{true, false} {
		e, err := New(b.Context(), Config{CacheRoot: root, Float: float})
		if err != nil {
			b.Skip(err)
		}
		defer e.Close()
		engines[i] = e
	}
	b.Logf("int8 engine models: %v", engines[1].Models())
	run := func(b *testing.B, data []byte, workers int, opts vision.Options) {
		var cpu, wall [2]time.Duration
		for b.Loop() {
			for i, e := range engines {
				c0, t0 := cpuTime(), time.Now()
				var wg sync.WaitGroup
				for range workers {
					wg.Go(func() {
						if _, err := e.Recognize(context.Background(), vision.Input{Bytes: data}, opts); err != nil {
							b.Error(err)
						}
					})
				}
				wg.Wait()
				cpu[i] += cpuTime() - c0
				wall[i] += time.Since(t0)
			}
		}
		n := float64(b.N * workers)
		b.ReportMetric(float64(cpu[0].Microseconds())/1000/n, "float-cpu-ms/img")
		b.ReportMetric(float64(cpu[1].Microseconds())/1000/n, "int8-cpu-ms/img")
		b.ReportMetric(float64(cpu[1])/float64(cpu[0]), "cpu-int8/float")
		b.ReportMetric(n/wall[0].Seconds(), "float-img/s")
		b.ReportMetric(n/wall[1].Seconds(), "int8-img/s")
	}
	for _, size := range []string{"2MP", "12MP"} {
		for _, workers := range []int{1, 2} {
			b.Run(fmt.Sprintf("%s/workers=%d", size, workers), func(b *testing.B) {
				run(b, benchImages(b)[size], workers, vision.Options{})
			})
		}
		for _, f := range vision.AllFeatures {
			b.Run(fmt.Sprintf("%s/feature=%s", size, f), func(b *testing.B) {
				run(b, benchImages(b)[size], 1, vision.Options{Features: []vision.Feature{f}})
			})
		}
	}
}

// BenchmarkSessionOptions measures ONNX Runtime's session options on the
// engine's three costliest models (the files the engine loads: int8
// where installed), each with 1 and 2 workers running the one session
// concurrently, as engine workers do. cpu-ms/run is the process CPU per
// run (spinning threads show up there), runs/s the throughput.
//
//	go test -run '^$' -bench SessionOptions -benchtime 20x ./internal/vision/onnx/
func BenchmarkSessionOptions(b *testing.B) {
	root := cacheRoot(b)
	dir := filepath.Join(root, "models")
	rt, err := onnxrt.Open(onnxrt.LibPath(root))
	if err != nil {
		b.Skip(err)
	}
	defer rt.Close()
	variants := []struct {
		name string
		so   onnxrt.SessionOptions
	}{
		{"default", onnxrt.SessionOptions{}},
		{"threads=2", onnxrt.SessionOptions{IntraOpThreads: 2}},
		{"threads=2+spin", onnxrt.SessionOptions{IntraOpThreads: 2, AllowSpinning: true}},
		{"noarena", onnxrt.SessionOptions{NoArena: true}},
		{"opt=extended", onnxrt.SessionOptions{Optimization: onnxrt.OptimizeExtended}},
		{"opt=basic", onnxrt.SessionOptions{Optimization: onnxrt.OptimizeBasic}},
		{"parallel", onnxrt.SessionOptions{Parallel: true, IntraOpThreads: 2}},
	}
	for _, f := range []string{centerNetFile, ocrDetFile, blazeFaceFile} {
		file := pickModel(dir, f, false)
		p := filepath.Join(dir, file)
		if !fileExists(p) {
			continue
		}
		in, out, err := modelIO(rt, p)
		if err != nil {
			b.Fatal(err)
		}
		t := onnxrt.Tensor{Shape: quantBenchShapes[f]}
		t.Data = make([]float32, t.Len())
		for i := range t.Data {
			t.Data[i] = float32((i*7919)%255)/127.5 - 1
		}
		for _, v := range variants {
			s, err := rt.NewSession(p, in, out, v.so)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := s.Run([]onnxrt.Tensor{t}); err != nil {
				b.Fatal(err)
			}
			for _, workers := range []int{1, 2} {
				b.Run(fmt.Sprintf("%s/%s/workers=%d", strings.TrimSuffix(file, ".onnx"), v.name, workers), func(b *testing.B) {
					c0, t0 := cpuTime(), time.Now()
					for b.Loop() {
						var wg sync.WaitGroup
						for range workers {
							wg.Go(func() {
								if _, err := s.Run([]onnxrt.Tensor{t}); err != nil {
									b.Error(err)
								}
							})
						}
						wg.Wait()
					}
					n := float64(b.N * workers)
					b.ReportMetric(float64((cpuTime()-c0).Microseconds())/1000/n, "cpu-ms/run")
					b.ReportMetric(n/time.Since(t0).Seconds(), "runs/s")
				})
			}
			s.Close()
		}
	}
}

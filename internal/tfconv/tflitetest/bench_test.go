package tflitetest_test

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/imagerec/imagerec/internal/tfconv/tflitetest"
)

// BenchmarkRunAll measures one job (one browser launch, one model load,
// N inferences on a real photo) per op, so a test author can budget it:
//
//	go test -run '^$' -bench RunAll -benchtime 3x ./internal/tfconv/tflitetest
//
// Besides ns/op it reports the job's own split: launch-ms (Chromium and
// the scripts), load-ms (loadTFLiteModel), run-ms (per inference: input
// in, Invoke, output out) and invoke-ms (Invoke alone, mean).
func BenchmarkRunAll(b *testing.B) {
	h := tflitetest.Require(b)
	coral := tflitetest.CoralDir(b)
	for _, m := range []struct {
		file string
		size int
		runs []int
	}{
		{"mobilenet_v2_1.0_224_quant.tflite", 224, []int{1, 10, 40}},
		{"deeplabv3_mnv2_pascal_quant.tflite", 513, []int{1, 10}},
	} {
		in := photoInput(b, "person.jpg", m.size)
		for _, n := range m.runs {
			b.Run(fmt.Sprintf("%s/runs=%d", strings.TrimSuffix(m.file, ".tflite"), n), func(b *testing.B) {
				runs := make([][]tflitetest.Tensor, n)
				for i := range runs {
					runs[i] = []tflitetest.Tensor{in}
				}
				var launch, load, run, invoke float64
				for b.Loop() {
					res, err := h.RunAll(ctxFor(b), filepath.Join(coral, m.file), runs)
					if err != nil {
						b.Fatal(err)
					}
					launch += float64(res.Timings.Launch.Milliseconds())
					load += float64(res.Timings.Load.Milliseconds())
					run += float64(res.Timings.Runs.Milliseconds()) / float64(n)
					for _, d := range res.Infer {
						invoke += float64(d.Microseconds()) / 1000 / float64(n)
					}
				}
				k := float64(b.N)
				b.ReportMetric(launch/k, "launch-ms")
				b.ReportMetric(load/k, "load-ms")
				b.ReportMetric(run/k, "run-ms")
				b.ReportMetric(invoke/k, "invoke-ms")
			})
		}
	}
}

package onnx

import (
	"context"
	"errors"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/imagerec/imagerec/internal/imageio"
	"github.com/imagerec/imagerec/internal/imageio/imageiotest"
	"github.com/imagerec/imagerec/internal/membudget"
	"github.com/imagerec/imagerec/internal/vision"
)

// TestCostBoundsAllocations decodes and analyses images with the garbage
// collector off and checks that everything Recognize allocated on the Go
// heap stays within Engine.Cost: the estimate the memory budget admits
// images by errs high.
func TestCostBoundsAllocations(t *testing.T) {
	e := testEngine(t)
	cases := []struct {
		name string
		data []byte
		opts vision.Options
	}{
		{"12MP jpeg all", benchImages(t)["12MP"], vision.Options{}},
		{"text.png all", photo(t, "text.png"), vision.Options{}},
		{"10000x10000 RGBA16 png all", imageiotest.LargePNG(10000, 10000, imageiotest.RGBA, 16), vision.Options{}},
		{"10000x10000 RGB8 png labels", imageiotest.LargePNG(10000, 10000, imageiotest.RGB, 8), vision.Options{Features: []vision.Feature{vision.FeatureLabels}}},
		{"9999x7001 gray png faces", imageiotest.LargePNG(9999, 7001, imageiotest.Gray, 8), vision.Options{Features: []vision.Feature{vision.FeatureFaces}}},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			info, err := imageio.Probe(t.Context(), tt.data, imageio.Limits{})
			if err != nil {
				t.Fatal(err)
			}
			cost := e.Cost(info, tt.opts.WithDefaults())
			runtime.GC()
			old := debug.SetGCPercent(-1)
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			_, err = e.Recognize(t.Context(), vision.Input{Bytes: tt.data}, tt.opts)
			runtime.ReadMemStats(&after)
			debug.SetGCPercent(old)
			runtime.GC()
			if err != nil {
				t.Fatal(err)
			}
			alloc := int64(after.TotalAlloc - before.TotalAlloc)
			t.Logf("cost %d MiB, allocated %d MiB", cost>>20, alloc>>20)
			if alloc > cost {
				t.Errorf("Recognize allocated %d MiB, more than its cost estimate of %d MiB", alloc>>20, cost>>20)
			}
		})
	}
}

// labelsEngine returns a new Engine with only the labels models and the
// given budget (tests that need their own budget cannot share testEngine).
func labelsEngine(t *testing.T, b *membudget.Budget) *Engine {
	t.Helper()
	testEngine(t) // skips or fails when the models are missing
	e, err := New(t.Context(), Config{Features: []vision.Feature{vision.FeatureLabels}, Budget: b})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	return e
}

// TestBudgetRefusesImagesLargerThanItself checks that an image whose cost
// exceeds the whole budget gets ImageTooLargeException at once (not a
// wait), naming the sizes, and that the budget is left empty.
func TestBudgetRefusesImagesLargerThanItself(t *testing.T) {
	b := membudget.New(64 << 20)
	e := labelsEngine(t, b)
	big := imageiotest.LargePNG(6000, 6000, imageiotest.RGB, 8) // 108 MB of RGB
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	_, err := e.Recognize(ctx, vision.Input{Bytes: big, Name: "big.png"}, vision.Options{})
	var ve *vision.Error
	if !errors.As(err, &ve) || ve.Code != vision.CodeImageTooLarge || !strings.Contains(ve.Message, "memory budget is 64 MiB") || !strings.Contains(ve.Message, "6000x6000 PNG") {
		t.Fatalf("err = %v, want ImageTooLargeException naming the image and the budget", err)
	}
	if s := b.Stats(); s.InUse != 0 || s.Peak != 0 {
		t.Fatalf("budget after refusal: %+v", s)
	}
	// A photo within the budget still goes through.
	if _, err := e.Recognize(ctx, vision.Input{Bytes: photo(t, "dog.jpg")}, vision.Options{}); err != nil {
		t.Fatal(err)
	}
}

// TestBudgetAdmitsOneAtATime gives the engine a budget that holds exactly
// one image's cost and recognises several at once: they all succeed, one
// after the other, and the admitted total never exceeds the budget.
func TestBudgetAdmitsOneAtATime(t *testing.T) {
	data := photo(t, "dog.jpg")
	probe := labelsEngine(t, nil)
	info, err := imageio.Probe(t.Context(), data, imageio.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	cost := probe.Cost(info, vision.Options{}.WithDefaults())
	b := membudget.New(cost + cost/2) // one fits, two do not
	e := labelsEngine(t, b)
	var wg sync.WaitGroup
	var waited atomic.Bool
	for range 4 {
		wg.Go(func() {
			res, err := e.Recognize(t.Context(), vision.Input{Bytes: data}, vision.Options{})
			if err != nil {
				t.Error(err)
				return
			}
			if _, ok := res.Timings["admission_ms"]; ok {
				waited.Store(true)
			}
		})
	}
	wg.Wait()
	s := b.Stats()
	if s.Peak != cost || s.InUse != 0 || s.Waiting != 0 {
		t.Fatalf("budget %+v, want peak %d (one image at a time) and nothing left", s, cost)
	}
	if !waited.Load() {
		t.Error("no image reported waiting for the budget (Timings.admission_ms)")
	}
}

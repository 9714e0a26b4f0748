package onnx

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/imagerec/imagerec/internal/citest"
	"github.com/imagerec/imagerec/internal/vision"
	"github.com/imagerec/imagerec/internal/vision/devset"
)

var devsetReport = flag.String("devset.report", "", "write TestDevSetLabels' full report (JSON) to this `file`")

const (
	devsetManifest = "../../../testdata/devset/manifest.json"
	devsetFloor    = "../../../testdata/devset/floor.json"
	// devsetK is the number of top labels scored, as in recall@10.
	devsetK = 10
)

// TestDevSetLabels runs DetectLabels (labels only, default MinConfidence,
// the first devsetK labels) over the labelled development set fetched by
// scripts/devset.sh, logs recall@10 and precision overall, per split and
// per scene tag (per photo with -v), and fails when the overall figures
// fall below testdata/devset/floor.json. Without the photos it skips,
// except under CI=true.
func TestDevSetLabels(t *testing.T) {
	m, err := devset.Load(devsetManifest)
	if err != nil {
		t.Fatal(err)
	}
	floor, err := devset.LoadFloor(devsetFloor)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(cacheRoot(t), "devset")
	if problems := m.Check(dir); len(problems) > 0 {
		msg := problems[0].Err.Error()
		if len(problems) > 1 {
			msg += fmt.Sprintf(" (and %d more)", len(problems)-1)
		}
		if errors.Is(problems[0].Err, os.ErrNotExist) {
			citest.Skipf(t, "%d of %d development-set photos missing in %s (run scripts/devset.sh): %s", len(problems), len(m.Photos), dir, msg)
		}
		t.Fatalf("%d of %d development-set photos missing or wrong in %s (run scripts/devset.sh): %s", len(problems), len(m.Photos), dir, msg)
	}
	e := testEngine(t)
	start := time.Now()
	returned, err := devsetLabels(t, e, m.Photos, dir)
	if err != nil {
		t.Fatal(err)
	}
	elapsed := time.Since(start)
	rep, err := devset.Evaluate(m.Photos, returned, devsetK)
	if err != nil {
		t.Fatal(err)
	}
	var sum strings.Builder
	rep.WriteSummary(&sum)
	t.Logf("%d photos in %s\n%s", len(m.Photos), elapsed.Round(time.Millisecond), sum.String())
	if testing.Verbose() {
		var lines strings.Builder
		rep.WritePhotos(&lines)
		t.Logf("per photo:\n%s", lines.String())
	}
	if *devsetReport != "" {
		data, err := json.MarshalIndent(rep, "", " ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(*devsetReport, append(data, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := rep.CheckFloor(floor); err != nil {
		t.Errorf("%v (%s)", err, devsetFloor)
	}
}

// devsetLabels runs the engine's labels feature on every photo, two at a
// time (the engine is safe for concurrent use), and returns the label
// names in rank order per photo id.
func devsetLabels(t *testing.T, e *Engine, photos []devset.Photo, dir string) (map[string][]string, error) {
	t.Helper()
	var (
		mu   sync.Mutex
		out  = map[string][]string{}
		errs []error
		wg   sync.WaitGroup
		next = make(chan devset.Photo)
	)
	opts := vision.Options{Features: []vision.Feature{vision.FeatureLabels}, MaxLabels: devsetK}
	for range 2 {
		wg.Go(func() {
			for ph := range next {
				data, err := os.ReadFile(ph.Path(dir))
				var res *vision.Result
				if err == nil {
					res, err = e.Recognize(t.Context(), vision.Input{Bytes: data, Name: ph.FileName()}, opts)
				}
				mu.Lock()
				if err != nil {
					errs = append(errs, err)
				} else {
					names := make([]string, 0, len(res.Labels))
					for _, l := range res.Labels {
						names = append(names, l.Name)
					}
					out[ph.ID] = names
				}
				mu.Unlock()
			}
		})
	}
	for _, ph := range photos {
		next <- ph
	}
	close(next)
	wg.Wait()
	return out, errors.Join(errs...)
}

// devsetPhoto reads development-set photo id from the cache, checked
// against the manifest.
func devsetPhoto(tb testing.TB, id string) []byte {
	tb.Helper()
	m, err := devset.Load(devsetManifest)
	if err != nil {
		tb.Fatal(err)
	}
	dir := filepath.Join(cacheRoot(tb), "devset")
	for _, ph := range m.Photos {
		if ph.ID != id {
			continue
		}
		data, err := os.ReadFile(ph.Path(dir))
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				citest.Skipf(tb, "development-set photo %s missing (run scripts/devset.sh)", id)
			}
			tb.Fatalf("development-set photo %s: %v (run scripts/devset.sh)", id, err)
		}
		return data
	}
	tb.Fatalf("no development-set photo %q", id)
	return nil
}

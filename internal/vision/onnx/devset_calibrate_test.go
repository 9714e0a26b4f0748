package onnx

import (
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/imagerec/imagerec/internal/imageio"
	"github.com/imagerec/imagerec/internal/vision"
	"github.com/imagerec/imagerec/internal/vision/devset"
)

var devsetCalibrate = flag.Bool("devset.calibrate", false, "TestDevSetCalibrate: search the fusion's calibration on the development set's dev split and print it")

// TestDevSetCalibrate repeats the fusion's calibration (ADR 0010): it runs
// the label models once over the development set, then searches, by
// coordinate descent on the dev split's F1, the few global numbers: the
// classifier calibration, the scene labels' probability at threshold, the
// Cityscapes thresholds and rules, and the context weights. It prints the
// numbers found and the dev and check figures; it changes nothing. Only
// with -devset.calibrate:
//
//	go test -run TestDevSetCalibrate -devset.calibrate -v ./internal/vision/onnx/
func TestDevSetCalibrate(t *testing.T) {
	if !*devsetCalibrate {
		t.Skip("a calibration tool: run with -devset.calibrate")
	}
	m, err := devset.Load(devsetManifest)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(cacheRoot(t), "devset")
	e := testEngine(t)
	found := devsetFindings(t, e, m.Photos, dir)
	split := func(name string) []devset.Photo {
		var out []devset.Photo
		for _, p := range m.Photos {
			if p.Split == name {
				out = append(out, p)
			}
		}
		return out
	}
	dev, check := split("dev"), split("check")
	c := defaultFusion
	score := func(photos []devset.Photo) devset.Score {
		returned := map[string][]string{}
		for _, p := range photos {
			returned[p.ID] = []string{}
			for _, l := range e.tax.expand(e.tax.fuseFindings(found[p.ID], c), 55, devsetK) {
				returned[p.ID] = append(returned[p.ID], l.Name)
			}
		}
		rep, err := devset.Evaluate(photos, returned, devsetK)
		if err != nil {
			t.Fatal(err)
		}
		return rep.Overall
	}
	f1 := func(s devset.Score) float64 {
		r, p := float64(s.Found)/float64(s.Expected), float64(s.Correct)/float64(s.Returned)
		return 2 * r * p / (r + p)
	}
	// The parameters: each a value to set, tried at a few multiples of
	// where it starts. The taxonomy's numbers are restored at the end.
	type param struct {
		name string
		v    *float64
	}
	var ps []param
	var restore []func()
	add := func(name string, v *float64) {
		old := *v
		restore = append(restore, func() { *v = old })
		ps = append(ps, param{name, v})
	}
	defer func() {
		for _, r := range restore {
			r()
		}
	}()
	top := float64(c.Classifier.Top)
	add("classifier gamma", &c.Classifier.Gamma)
	add("classifier floor", &c.Classifier.Floor)
	add("classifier top", &top)
	add("scene probability at threshold", &c.SceneAtThreshold)
	city := e.tax.scene("cityscapes")
	for i, cl := range city.Classes {
		if cl.Labels != nil && len(*cl.Labels) > 0 {
			add("cityscapes "+cl.Class+" minShare", &city.Classes[i].MinShare)
		}
	}
	for i, r := range city.Rules {
		add(fmt.Sprintf("cityscapes rule %v minShare", r.Labels), &city.Rules[i].All[0].MinShare)
	}
	for i, r := range e.tax.context {
		add(fmt.Sprintf("context %s weight (from %s…)", r.Label, r.From[0]), &e.tax.context[i].Weight)
	}
	report := func(stage string) {
		d, k := score(dev), score(check)
		t.Logf("%-8s dev recall %.3f precision %.3f F1 %.3f | check recall %.3f precision %.3f F1 %.3f", stage,
			float64(d.Found)/float64(d.Expected), float64(d.Correct)/float64(d.Returned), f1(d),
			float64(k.Found)/float64(k.Expected), float64(k.Correct)/float64(k.Returned), f1(k))
	}
	report("start")
	for round := range 3 {
		changed := false
		for _, p := range ps {
			start := *p.v
			best, bestV := f1(score(dev)), start
			for _, f := range []float64{0.5, 0.75, 1.5, 2, 3} {
				v := start * f
				switch p.name {
				case "classifier top":
					v = math.Round(v)
				case "classifier gamma":
				default: // shares, probabilities and weights are at most 1
					v = math.Min(v, 1)
				}
				*p.v = v
				c.Classifier.Top = int(top)
				if s := f1(score(dev)); s > best+0.001 {
					best, bestV = s, v
				}
			}
			*p.v = bestV
			c.Classifier.Top = int(top)
			changed = changed || bestV != start
		}
		report(fmt.Sprintf("round %d", round+1))
		if !changed {
			break
		}
	}
	var b strings.Builder
	for _, p := range ps {
		fmt.Fprintf(&b, "  %s = %.4g\n", p.name, *p.v)
	}
	t.Logf("calibration found (set them in labels.go's defaultFusion and taxonomy.json):\n%s", b.String())
}

// devsetFindings runs the labels feature's models on every photo, two at a
// time, and keeps each photo's findings (without its pixels).
func devsetFindings(t *testing.T, e *Engine, photos []devset.Photo, dir string) map[string]*findings {
	t.Helper()
	opts := vision.Options{Features: []vision.Feature{vision.FeatureLabels}}.WithDefaults()
	var (
		mu   sync.Mutex
		out  = map[string]*findings{}
		wg   sync.WaitGroup
		next = make(chan devset.Photo)
	)
	for range 2 {
		wg.Go(func() {
			for ph := range next {
				data, err := os.ReadFile(ph.Path(dir))
				if err != nil {
					t.Error(err)
					continue
				}
				img, err := imageio.Decode(t.Context(), data, imageio.Options{TargetMaxSide: e.decodeSide(opts)})
				if err != nil {
					t.Errorf("%s: %v", ph.ID, err)
					continue
				}
				f, err := e.analyse(t.Context(), img, opts, map[string]float64{})
				if err != nil {
					t.Errorf("%s: %v", ph.ID, err)
					continue
				}
				f.small = nil
				mu.Lock()
				out[ph.ID] = f
				mu.Unlock()
			}
		})
	}
	for _, ph := range photos {
		next <- ph
	}
	close(next)
	wg.Wait()
	return out
}

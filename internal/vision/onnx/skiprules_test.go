package onnx

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/imagerec/imagerec/internal/citest"
	"github.com/imagerec/imagerec/internal/onnxrt"
	"github.com/imagerec/imagerec/internal/vision"
)

// The skip rules of doc.go leave out work whose result cannot change the
// answer. Each has a table test here on its decision, and
// TestSkipRulesKeepResults checks on real photos that results with the
// rules are the same as without them while the skipped models do not run.

// runCounter counts model runs by file name (Config.onRun).
type runCounter struct {
	mu   sync.Mutex
	runs map[string]int
}

func (c *runCounter) onRun(path string, _ []onnxrt.Tensor) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.runs[filepath.Base(path)]++
}

// take returns the counts so far and starts again from zero.
func (c *runCounter) take() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.runs
	c.runs = map[string]int{}
	return out
}

// countingEngine is an Engine of its own with every installed model,
// counting model runs; noSkip turns the skip rules off.
func countingEngine(tb testing.TB, noSkip bool) (*Engine, *runCounter) {
	tb.Helper()
	c := &runCounter{runs: map[string]int{}}
	e, err := New(context.Background(), Config{onRun: c.onRun, noSkip: noSkip})
	if err != nil {
		if errors.Is(err, ErrModelsMissing) {
			citest.Skipf(tb, "needs the installed models: %v", err)
		}
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = e.Close() })
	return e, c
}

// TestPeopleFaceWork: rule 1 gives a face attributes exactly when its
// attributes can imply a label, and never runs the face mesh.
func TestPeopleFaceWork(t *testing.T) {
	t.Parallel()
	person := vision.Label{Name: "Person", Instances: []vision.Instance{{BoundingBox: vision.BoundingBox{Left: 0.1, Top: 0.1, Width: 0.3, Height: 0.8}}}}
	dog := vision.Label{Name: "Dog", Instances: []vision.Instance{{BoundingBox: vision.BoundingBox{Left: 0.6, Top: 0.1, Width: 0.3, Height: 0.8}}}}
	at := func(conf, left float64) vision.FaceDetail {
		return vision.FaceDetail{Confidence: conf, BoundingBox: vision.BoundingBox{Left: left, Top: 0.15, Width: 0.1, Height: 0.1}}
	}
	tests := []struct {
		name    string
		objects []vision.Label
		face    vision.FaceDetail
		want    bool
	}{
		{"confident face, no person", nil, at(90, 0.7), true},
		{"confident face at the limit", []vision.Label{dog}, at(faceLabelConfidence, 0.7), true},
		{"weak face inside a person", []vision.Label{person, dog}, at(70, 0.2), true},
		{"weak face outside every person", []vision.Label{person, dog}, at(70, 0.7), false},
		{"weak face, no person", []vision.Label{dog}, at(84.9, 0.2), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := peopleFaceWork(tt.objects)
			if w.geometry || w.descriptors {
				t.Errorf("work %+v: the people labels read no geometry or descriptor", w)
			}
			if got := w.attributes(tt.face); got != tt.want {
				t.Errorf("attributes = %v, want %v", got, tt.want)
			}
			// The rule must agree with what the labels read: a face given
			// an age, a gender and a smile implies people labels exactly
			// when the rule gives it attributes.
			f := tt.face
			f.AgeRange, f.Gender = &vision.AgeRange{Low: 30, High: 40}, &vision.GenderAttr{Value: "Male", Confidence: 99}
			f.Smile = &vision.BoolAttr{Value: true, Confidence: 99}
			if got := len(peopleLabels([]vision.FaceDetail{f}, personBoxes(tt.objects))) > 0; got != tt.want {
				t.Errorf("people labels from this face: %v, rule gives attributes: %v", got, tt.want)
			}
		})
	}
}

// TestSkipRulesKeepResults runs photos with and without the skip rules and
// checks that the results are the same (Timings aside) and that the
// models a rule skips did not run.
func TestSkipRulesKeepResults(t *testing.T) {
	on, onRuns := countingEngine(t, false)
	off, offRuns := countingEngine(t, true)
	if on.faces == nil || on.faces.mesh == nil {
		citest.Skipf(t, "needs the face and face mesh models")
	}
	labelsOnly := vision.Options{Features: []vision.Feature{vision.FeatureLabels}}
	facesDefault := vision.Options{Features: []vision.Feature{vision.FeatureFaces}, OmitFaceAttributes: omitAll}
	facesSmile := vision.Options{Features: []vision.Feature{vision.FeatureFaces}, OmitFaceAttributes: []string{vision.FaceAttrAgeRange, vision.FaceAttrGender}}
	tests := []struct {
		name  string
		photo string
		opts  vision.Options
		// skipped are models that run without the rules and not with them.
		skipped []string
		// skippedSteps are Timings keys without the rules, not with them.
		skippedSteps []string
	}{
		{"people labels of a portrait", "astronaut.jpg", labelsOnly, []string{faceMeshFile, irisFile}, nil},
		{"people labels of a group", "devset:three-men-tattoos", labelsOnly, []string{faceMeshFile, irisFile}, nil},
		{"all features of a group", "devset:three-men-tattoos", vision.Options{}, nil, nil},
		{"DetectFaces DEFAULT", "devset:three-men-tattoos", facesDefault, []string{faceResFile, emotionFile}, nil},
		{"DetectFaces SMILE", "devset:three-men-tattoos", facesSmile, []string{faceResFile}, nil},
		{"labels and faces keep the attributes the labels read", "devset:three-men-tattoos",
			vision.Options{Features: []vision.Feature{vision.FeatureLabels, vision.FeatureFaces}, OmitFaceAttributes: omitAll}, nil, nil},
		{"DetectLabels without IMAGE_PROPERTIES", "dog.jpg",
			vision.Options{Features: []vision.Feature{vision.FeatureLabels}, OmitImageProperties: true}, nil, []string{"properties_ms"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := photo(t, tt.photo)
			onRuns.take()
			offRuns.take()
			got, err := on.Recognize(t.Context(), vision.Input{Bytes: data}, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			want, err := off.Recognize(t.Context(), vision.Input{Bytes: data}, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			for _, k := range tt.skippedSteps {
				if _, ok := want.Timings[k]; !ok {
					t.Errorf("%s missing without the rules: %v", k, want.Timings)
				}
				if _, ok := got.Timings[k]; ok {
					t.Errorf("%s with the rules: the step ran", k)
				}
			}
			got.Timings, want.Timings = nil, nil
			omitFaceAttributes(got, tt.opts)
			omitFaceAttributes(want, tt.opts)
			omitImageProperties(got, tt.opts)
			omitImageProperties(want, tt.opts)
			if d := cmp.Diff(resultJSON(t, want), resultJSON(t, got)); d != "" {
				t.Errorf("results differ with the skip rules (-without +with):\n%s", d)
			}
			withRules, without := onRuns.take(), offRuns.take()
			for _, m := range tt.skipped {
				if withRules[m] != 0 || without[m] == 0 {
					t.Errorf("%s ran %d times with the rules, %d without: want 0 and more", m, withRules[m], without[m])
				}
			}
			t.Logf("model runs with the rules %v, without %v", withRules, without)
		})
	}
}

// omitAll omits every attribute the engine's models give beyond DEFAULT.
var omitAll = []string{vision.FaceAttrAgeRange, vision.FaceAttrGender, vision.FaceAttrEmotions, vision.FaceAttrSmile}

// omitFaceAttributes clears the attributes opts omits, as a caller that
// omits them does not read them.
func omitFaceAttributes(res *vision.Result, opts vision.Options) {
	for i := range res.FaceDetails {
		f := &res.FaceDetails[i]
		if opts.OmitsFaceAttributes(vision.FaceAttrAgeRange) {
			f.AgeRange = nil
		}
		if opts.OmitsFaceAttributes(vision.FaceAttrGender) {
			f.Gender = nil
		}
		if opts.OmitsFaceAttributes(vision.FaceAttrEmotions) {
			f.Emotions = nil
		}
		if opts.OmitsFaceAttributes(vision.FaceAttrSmile) {
			f.Smile = nil
		}
	}
}

// omitImageProperties clears what OmitImageProperties omits.
func omitImageProperties(res *vision.Result, opts vision.Options) {
	if !opts.OmitImageProperties {
		return
	}
	res.ImageProperties = nil
	for i := range res.Labels {
		for j := range res.Labels[i].Instances {
			res.Labels[i].Instances[j].DominantColors = nil
		}
	}
}

// TestWantsProperties: rule 3 computes the colour statistics unless the
// caller omits them.
func TestWantsProperties(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		noSkip bool
		opts   vision.Options
		want   bool
	}{
		{"read", false, vision.Options{}, true},
		{"omitted", false, vision.Options{OmitImageProperties: true}, false},
		{"rules off", true, vision.Options{OmitImageProperties: true}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := &Engine{cfg: Config{noSkip: tt.noSkip}}
			if got := e.wantsProperties(tt.opts); got != tt.want {
				t.Errorf("wantsProperties = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestFacesWork: rule 2 runs FaceRes and the emotion model unless every
// attribute each gives is omitted, and whenever labels run too.
func TestFacesWork(t *testing.T) {
	t.Parallel()
	faces := []vision.Feature{vision.FeatureFaces}
	tests := []struct {
		name               string
		noSkip             bool
		opts               vision.Options
		ageGender, emotion bool
	}{
		{"every attribute", false, vision.Options{Features: faces}, true, true},
		{"DEFAULT", false, vision.Options{Features: faces, OmitFaceAttributes: omitAll}, false, false},
		{"gender is read", false, vision.Options{Features: faces, OmitFaceAttributes: []string{vision.FaceAttrAgeRange, vision.FaceAttrEmotions, vision.FaceAttrSmile}}, true, false},
		{"smile is read", false, vision.Options{Features: faces, OmitFaceAttributes: []string{vision.FaceAttrAgeRange, vision.FaceAttrGender, vision.FaceAttrEmotions}}, false, true},
		{"labels read them", false, vision.Options{OmitFaceAttributes: omitAll}, true, true},
		{"rules off", true, vision.Options{Features: faces, OmitFaceAttributes: omitAll}, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := &Engine{cfg: Config{noSkip: tt.noSkip}, objects: &onnxrt.Session{}}
			w := e.facesWork(tt.opts)
			if w.ageGender != tt.ageGender || w.emotions != tt.emotion || !w.geometry || w.attributes != nil {
				t.Errorf("work %+v, want ageGender %v, emotions %v, geometry, every face", w, tt.ageGender, tt.emotion)
			}
		})
	}
}

// resultJSON is res as a generic JSON value, for a readable diff.
func resultJSON(t *testing.T, res *vision.Result) any {
	t.Helper()
	b, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// skipBenchPeople are development-set photos with a person at least
// peopleHeight tall (the people labels look for their faces), 0 to 7
// faces each.
var skipBenchPeople = []string{
	"devset:astronaut-portrait", "devset:couple-bar-wine", "devset:friends-on-sofa",
	"devset:man-grand-canyon", "devset:meal-in-hut", "devset:solvay-1927-group",
	"devset:three-men-tattoos", "devset:young-man-smiling", "devset:kite-beach",
}

// BenchmarkSkipRules runs the same photos through an engine with the skip
// rules and one without, alternately, one image at a time, and reports
// each one's CPU per image and their ratio:
//
//	go test -run '^$' -bench SkipRules -benchtime 10x ./internal/vision/onnx/
func BenchmarkSkipRules(b *testing.B) {
	on, _ := countingEngine(b, false)
	off, _ := countingEngine(b, true)
	bench := benchImages(b)
	cases := []struct {
		name   string
		photos [][]byte
		opts   vision.Options
	}{
		{"labels/people", nil, vision.Options{Features: []vision.Feature{vision.FeatureLabels}}},
		{"faces-DEFAULT/people", nil, vision.Options{Features: []vision.Feature{vision.FeatureFaces}, OmitFaceAttributes: omitAll}},
		{"labels-noproperties/people", nil, vision.Options{Features: []vision.Feature{vision.FeatureLabels}, OmitImageProperties: true}},
		{"labels-noproperties/12MP", [][]byte{bench["12MP"]}, vision.Options{Features: []vision.Feature{vision.FeatureLabels}, OmitImageProperties: true}},
		{"all/people", nil, vision.Options{}},
		{"all/12MP", [][]byte{bench["12MP"]}, vision.Options{}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			photos := c.photos
			if photos == nil {
				for _, p := range skipBenchPeople {
					photos = append(photos, photo(b, p))
				}
			}
			var cpu [2]time.Duration
			engines := []*Engine{on, off}
			order := []int{0, 1}
			for b.Loop() {
				order[0], order[1] = order[1], order[0] // neither always goes first
				for _, i := range order {
					e := engines[i]
					t0 := cpuTime()
					for _, data := range photos {
						if _, err := e.Recognize(context.Background(), vision.Input{Bytes: data}, c.opts); err != nil {
							b.Fatal(err)
						}
					}
					cpu[i] += cpuTime() - t0
				}
			}
			n := float64(b.N * len(photos))
			b.ReportMetric(float64(cpu[0].Microseconds())/1000/n, "cpu-ms/img-rules")
			b.ReportMetric(float64(cpu[1].Microseconds())/1000/n, "cpu-ms/img-norules")
			b.ReportMetric(float64(cpu[0])/float64(cpu[1]), "rules/norules")
		})
	}
}

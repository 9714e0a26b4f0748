package onnx

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/imagerec/imagerec/internal/citest"
	"github.com/imagerec/imagerec/internal/onnxrt"
	"github.com/imagerec/imagerec/internal/tfconv"
	"github.com/imagerec/imagerec/internal/vision"
	"github.com/imagerec/imagerec/internal/vision/devset"
)

// This file calibrates the int8 (QDQ) forms of the float models and
// checks that they agree with the float ones.
//
// Calibration (go test -run TestQuantCalibrate -quant.calibrate ./internal/vision/onnx/)
// runs the float engine, every feature, over the calibration photos: every
// other photo of the development set's dev split, by id (quantCalibPhotos).
// Each input a quantised model gets is also run through the float model
// with the activations tfconv.Quantize needs exposed as outputs
// (tfconv.CalibrationModel), and each activation's least and greatest
// value is written to internal/modelpack/quant/<model>.json, from which
// `imagerec models install` makes the int8 files.
//
// TestQuantAgreement runs the float engine over photos not used for
// calibration (the development set's check split, and with -quant.all
// the other half of its dev split) and feeds every model input to both
// the float and the int8 model (installed, or made by -quant.make),
// scoring them as the gates say (quantGates):
//
//	go test -count=1 -run TestQuantAgreement -v ./internal/vision/onnx/ -quant.make

var (
	quantCalibrate = flag.Bool("quant.calibrate", false, "TestQuantCalibrate: write the int8 models' activation ranges to internal/modelpack/quant/")
	quantAll       = flag.Bool("quant.all", false, "TestQuantAgreement: also score the held-apart half of the dev split (slower)")
	quantMake      = flag.Bool("quant.make", false, "TestQuantAgreement: quantise every float model from internal/modelpack/quant/ (7-bit weights) and score those instead of the installed int8 files")
)

const quantRangeDir = "../../modelpack/quant"

// quantModels are the float models that have an int8 form, by file.
var quantModels = []string{centerNetFile, blazeFaceFile, blazeFrontFile, faceResFile, emotionFile, ocrDetFile, ocrRecFile, ocrClsFile, nsfwFile}

// quantPhotos splits the development set: calibration photos (even
// positions of the dev split sorted by id) and held-apart ones (the
// others of the dev split when all is set, and the check split).
func quantPhotos(tb testing.TB, all bool) (calib, held []devset.Photo, dir string) {
	tb.Helper()
	m, err := devset.Load(devsetManifest)
	if err != nil {
		tb.Fatal(err)
	}
	dir = filepath.Join(cacheRoot(tb), "devset")
	if problems := m.Check(dir); len(problems) > 0 {
		citest.Skipf(tb, "development-set photos missing in %s (run scripts/devset.sh): %v", dir, problems[0].Err)
	}
	var dev []devset.Photo
	for _, p := range m.Photos {
		switch p.Split {
		case devset.SplitDev:
			dev = append(dev, p)
		case devset.SplitCheck:
			held = append(held, p)
		}
	}
	sort.Slice(dev, func(i, j int) bool { return dev[i].ID < dev[j].ID })
	for i, p := range dev {
		switch {
		case i%2 == 0:
			calib = append(calib, p)
		case all:
			held = append(held, p)
		}
	}
	return calib, held, dir
}

// rangeFile is the JSON form of one model's calibrated ranges.
type rangeFile struct {
	Model  string                  `json:"model"`
	Note   string                  `json:"note"`
	Runs   int                     `json:"runs"`
	Ranges map[string]tfconv.Range `json:"ranges"`
}

// calibrator collects one model's activation ranges.
type calibrator struct {
	mu      sync.Mutex
	s       *onnxrt.Session
	names   []string
	ranges  map[string]tfconv.Range
	samples map[string][]float32 // every quantSampleStep-th value of each run
	runs    int
	err     error
}

// Calibration keeps the values between the quantCalibTail and
// 1-quantCalibTail quantiles of each activation (on a sample of every
// quantSampleStep-th value of every run, at most quantSamplesPerRun): the least and greatest values
// alone stretch the ranges of BlazeFace's depthwise outputs 3-4x and
// cost the int8 models most of their agreement.
const (
	quantCalibTail  = 1e-4
	quantSampleStep = 7
	// quantSamplesPerRun bounds the sample of one activation in one run.
	quantSamplesPerRun = 4096
)

func quantile(v []float32, q float64) float32 {
	i := int(math.Round(q * float64(len(v)-1)))
	return v[max(0, min(len(v)-1, i))]
}

func TestQuantCalibrate(t *testing.T) {
	if !*quantCalibrate {
		t.Skip("run with -quant.calibrate to recalibrate the int8 models")
	}
	calib, _, dir := quantPhotos(t, false)
	root := cacheRoot(t)
	rt, err := onnxrt.Open(onnxrt.LibPath(root))
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	tmp := t.TempDir()
	cals := map[string]*calibrator{}
	for _, f := range quantModels {
		p := filepath.Join(root, "models", f)
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		cm, names, err := tfconv.CalibrationModel(data)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		cp := filepath.Join(tmp, f)
		if err := os.WriteFile(cp, cm, 0o644); err != nil {
			t.Fatal(err)
		}
		in, _, err := modelIO(rt, p)
		if err != nil {
			t.Fatal(err)
		}
		s, err := rt.NewSession(cp, in, names, onnxrt.SessionOptions{})
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		defer s.Close()
		cals[p] = &calibrator{s: s, names: names, ranges: map[string]tfconv.Range{}, samples: map[string][]float32{}}
	}
	onRun := func(path string, inputs []onnxrt.Tensor) {
		c := cals[path]
		if c == nil {
			return
		}
		outs, err := c.s.Run(inputs)
		c.mu.Lock()
		defer c.mu.Unlock()
		if err != nil {
			c.err = err
			return
		}
		c.runs++
		for i, o := range outs {
			r, ok := c.ranges[c.names[i]]
			if !ok {
				r = tfconv.Range{float32(math.Inf(1)), float32(math.Inf(-1))}
			}
			for _, v := range o.Data {
				r[0], r[1] = min(r[0], v), max(r[1], v)
			}
			c.ranges[c.names[i]] = r
			smp := c.samples[c.names[i]]
			step := max(quantSampleStep, len(o.Data)/quantSamplesPerRun)
			for j := (i % step) % max(1, len(o.Data)); j < len(o.Data); j += step {
				smp = append(smp, o.Data[j])
			}
			c.samples[c.names[i]] = smp
		}
	}
	e, err := New(t.Context(), Config{CacheRoot: root, Float: true, onRun: onRun})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	runPhotos(t, e, calib, dir)
	for _, f := range quantModels {
		c := cals[filepath.Join(root, "models", f)]
		if c.err != nil {
			t.Fatalf("%s: %v", f, c.err)
		}
		if c.runs == 0 {
			t.Fatalf("%s: no calibration runs", f)
		}
		for name, smp := range c.samples {
			if len(smp) == 0 {
				continue
			}
			slices.Sort(smp)
			r := c.ranges[name]
			c.ranges[name] = tfconv.Range{max(r[0], quantile(smp, quantCalibTail)), min(r[1], quantile(smp, 1-quantCalibTail))}
		}
		rf := rangeFile{
			Model: f, Runs: c.runs, Ranges: c.ranges,
			Note: fmt.Sprintf("the 0.01%% and 99.99%% quantiles of each activation over the %d runs of the float model on the calibration photos (%d photos of the development set's dev split: TestQuantCalibrate in internal/vision/onnx)", c.runs, len(calib)),
		}
		data, err := json.MarshalIndent(rf, "", " ")
		if err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(quantRangeDir, strings.TrimSuffix(f, ".onnx")+".json")
		if err := os.WriteFile(out, append(data, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %d runs, %d ranges -> %s", f, c.runs, len(c.ranges), out)
	}
}

// runPhotos runs every feature on each photo, two at a time.
func runPhotos(tb testing.TB, e *Engine, photos []devset.Photo, dir string) {
	tb.Helper()
	var wg sync.WaitGroup
	next := make(chan devset.Photo)
	for range 2 {
		wg.Go(func() {
			for ph := range next {
				data, err := os.ReadFile(ph.Path(dir))
				if err == nil {
					_, err = e.Recognize(tb.Context(), vision.Input{Bytes: data, Name: ph.FileName()}, vision.Options{})
				}
				if err != nil {
					tb.Errorf("%s: %v", ph.ID, err)
				}
			}
		})
	}
	for _, ph := range photos {
		next <- ph
	}
	close(next)
	wg.Wait()
}

// agreement counts agreeing items of one gate.
type agreement struct {
	what      string
	n, agree  int
	worst     float64 // least similarity seen (cosine, IoU), when scored
	threshold float64 // the gate: agree/n must be at least this
}

func (a *agreement) add(ok bool) {
	a.n++
	if ok {
		a.agree++
	}
}

func (a *agreement) rate() float64 {
	if a.n == 0 {
		return 1
	}
	return float64(a.agree) / float64(a.n)
}

func (a *agreement) String() string {
	s := fmt.Sprintf("%s %d/%d = %.1f%% (gate %.0f%%)", a.what, a.agree, a.n, 100*a.rate(), 100*a.threshold)
	if a.worst < 1 {
		s += fmt.Sprintf(", worst %.3f", a.worst)
	}
	return s
}

// box is an axis-aligned box with a class and score, for matching.
type box struct {
	class          int
	score          float32
	x1, y1, x2, y2 float64
}

func boxOverlap(a, b box) float64 {
	ix := math.Min(a.x2, b.x2) - math.Max(a.x1, b.x1)
	iy := math.Min(a.y2, b.y2) - math.Max(a.y1, b.y1)
	if ix <= 0 || iy <= 0 {
		return 0
	}
	in := ix * iy
	return in / ((a.x2-a.x1)*(a.y2-a.y1) + (b.x2-b.x1)*(b.y2-b.y1) - in)
}

// matchBoxes scores the detector gate both ways: every box of one model
// at or above thresh must have a box of the same class in the other's
// (found down to a lower floor, so that a score moving just across the
// threshold is no disagreement) with IoU >= 0.9.
func matchBoxes(a *agreement, fl, q []box, thresh float32) {
	for _, pair := range [2][2][]box{{fl, q}, {q, fl}} {
		for _, x := range pair[0] {
			if x.score < thresh {
				continue
			}
			best := 0.0
			for _, y := range pair[1] {
				if y.class == x.class {
					best = math.Max(best, boxOverlap(x, y))
				}
			}
			a.add(best >= 0.9)
			a.worst = math.Min(a.worst, best)
		}
	}
}

func argmax(p []float32) int {
	best := 0
	for i, v := range p {
		if v > p[best] {
			best = i
		}
	}
	return best
}

func cosine(a, b []float32) float64 {
	var ab, aa, bb float64
	for i := range a {
		ab += float64(a[i]) * float64(b[i])
		aa += float64(a[i]) * float64(a[i])
		bb += float64(b[i]) * float64(b[i])
	}
	if aa == 0 || bb == 0 {
		return 1
	}
	return ab / math.Sqrt(aa*bb)
}

// quantScorer compares a model's float and int8 outputs for one input
// and adds to its gates.
type quantScorer func(in []onnxrt.Tensor, fl, q []onnxrt.Tensor, outs []string, g map[string]*agreement)

func gate(g map[string]*agreement, what string, threshold float64) *agreement {
	if g[what] == nil {
		g[what] = &agreement{what: what, threshold: threshold, worst: 1}
	}
	return g[what]
}

// quantGates scores each model as the gates say: detectors keep
// their boxes, the recogniser its text, classifiers their top class,
// embeddings their direction.
func quantGates(e *Engine) map[string]quantScorer {
	anchors := blazeAnchorGrid()
	blaze := func(minScore float32) quantScorer {
		return func(in, fl, q []onnxrt.Tensor, _ []string, g map[string]*agreement) {
			size := float32(in[0].Shape[1])
			dec := func(o []onnxrt.Tensor) []box {
				fs, err := decodeBlazeFace(anchors, [2][]float32{o[0].Data, o[1].Data}, [2][]float32{o[2].Data, o[3].Data}, minScore/2, size)
				if err != nil {
					return nil
				}
				var out []box
				for _, f := range weightedNMS(fs, blazeNMSIoU) {
					out = append(out, box{score: f.Score, x1: float64(f.x1()), y1: float64(f.y1()), x2: float64(f.x2()), y2: float64(f.y2())})
				}
				return out
			}
			matchBoxes(gate(g, "boxes IoU>=0.9", 0.98), dec(fl), dec(q), minScore)
		}
	}
	cls := func(what string) quantScorer {
		return func(_, fl, q []onnxrt.Tensor, _ []string, g map[string]*agreement) {
			for i := range fl {
				gate(g, what+" top-1", 0.99).add(argmax(fl[i].Data) == argmax(q[i].Data))
			}
		}
	}
	return map[string]quantScorer{
		centerNetFile: func(_, fl, q []onnxrt.Tensor, outs []string, g map[string]*agreement) {
			dec := func(o []onnxrt.Tensor) []box {
				kpi, whi := slices.Index(outs, pickName(outs, "keypoints")), slices.Index(outs, pickName(outs, "wh"))
				kp, err1 := newHeatmap(o[kpi].Data, o[kpi].Shape, len(cocoNames))
				wh, err2 := newHeatmap(o[whi].Data, o[whi].Shape, 4)
				if err1 != nil || err2 != nil {
					return nil
				}
				var out []box
				for _, d := range decodeCenterNet(kp, wh, float32(centerNetSpec.Width)/float32(kp.w), centerNetTopK, detectionFloor) {
					out = append(out, box{class: d.Class, score: d.Score, x1: float64(d.X1), y1: float64(d.Y1), x2: float64(d.X2), y2: float64(d.Y2)})
				}
				return out
			}
			// 0.3 is confidence 55, the default MinConfidence.
			matchBoxes(gate(g, "boxes IoU>=0.9", 0.98), dec(fl), dec(q), 0.3)
		},
		blazeFaceFile:  blaze(float32(e.faces.opts.MinConfidence / 100)),
		blazeFrontFile: blaze(0.5),
		ocrDetFile: func(in, fl, q []onnxrt.Tensor, _ []string, g map[string]*agreement) {
			h, w := int(in[0].Shape[2]), int(in[0].Shape[3])
			dec := func(o []onnxrt.Tensor) []box {
				var out []box
				for _, r := range findTextRegions(o[0].Data, w, h) {
					c := r.Rect.corners()
					b := box{score: 1, x1: math.Inf(1), y1: math.Inf(1), x2: math.Inf(-1), y2: math.Inf(-1)}
					for _, p := range c {
						b.x1, b.y1 = math.Min(b.x1, p[0]), math.Min(b.y1, p[1])
						b.x2, b.y2 = math.Max(b.x2, p[0]), math.Max(b.y2, p[1])
					}
					out = append(out, b)
				}
				return out
			}
			matchBoxes(gate(g, "boxes IoU>=0.9", 0.98), dec(fl), dec(q), 0)
		},
		ocrRecFile: func(_, fl, q []onnxrt.Tensor, _ []string, g map[string]*agreement) {
			read := func(o onnxrt.Tensor) ([]ctcChar, string) {
				cs := trimSpaces(ctcGreedy(o.Data, int(o.Shape[1]), int(o.Shape[2]), e.text.dict, e.text.opts.SpaceFloor, e.text.skip))
				return cs, charsText(cs)
			}
			fc, ft := read(fl[0])
			qc, qt := read(q[0])
			if lineConfidence(fc) < e.text.opts.MinConfidence && lineConfidence(qc) < e.text.opts.MinConfidence {
				return // a line neither keeps
			}
			gate(g, "same text", 0.98).add(ft == qt)
		},
		ocrClsFile: cls("direction"),
		faceResFile: func(_, fl, q []onnxrt.Tensor, outs []string, g map[string]*agreement) {
			for i, o := range outs {
				switch {
				case strings.Contains(o, "gender"):
					gate(g, "gender top-1", 0.99).add(fl[i].Data[0] > 0.5 == (q[i].Data[0] > 0.5))
				case strings.Contains(o, "age"):
					c := cosine(fl[i].Data, q[i].Data)
					a := gate(g, "age distribution cosine>=0.99", 0.99)
					a.add(c >= 0.99)
					a.worst = math.Min(a.worst, c)
				default:
					c := cosine(fl[i].Data, q[i].Data)
					a := gate(g, "descriptor cosine>=0.99", 0.99)
					a.add(c >= 0.99)
					a.worst = math.Min(a.worst, c)
				}
			}
		},
		emotionFile: cls("emotion"),
		nsfwFile:    cls("class"),
	}
}

// TestQuantAgreement scores every installed int8 model against its float
// model on inputs the engine makes from photos not used for calibration,
// and fails when a model misses a gate. It logs every figure.
func TestQuantAgreement(t *testing.T) {
	_, held, dir := quantPhotos(t, *quantAll)
	root := cacheRoot(t)
	mdir := filepath.Join(root, "models")
	qdir := mdir // where the int8 files are
	if *quantMake {
		qdir = t.TempDir()
		for _, f := range quantModels {
			data, err := os.ReadFile(filepath.Join(mdir, f))
			if err != nil {
				t.Fatal(err)
			}
			var rf rangeFile
			js, err := os.ReadFile(filepath.Join(quantRangeDir, strings.TrimSuffix(f, ".onnx")+".json"))
			if err == nil {
				err = json.Unmarshal(js, &rf)
			}
			if err != nil {
				t.Fatal(err)
			}
			q, err := tfconv.Quantize(data, tfconv.QuantizeOptions{Ranges: rf.Ranges, ReduceRange: true})
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			if err := os.WriteFile(filepath.Join(qdir, strings.TrimSuffix(f, ".onnx")+int8Suffix), q, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	var have []string
	for _, f := range quantModels {
		if fileExists(filepath.Join(qdir, strings.TrimSuffix(f, ".onnx")+int8Suffix)) {
			have = append(have, f)
		}
	}
	if len(have) == 0 {
		// None is declared in internal/modelpack (every model stays float,
		// see its quant.go), so none is installed, CI included.
		t.Skip("no int8 models installed; -quant.make quantises them for this test")
	}
	rt, err := onnxrt.Open(onnxrt.LibPath(root))
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	type pair struct {
		mu     sync.Mutex
		fl, q  *onnxrt.Session
		outs   []string
		gates  map[string]*agreement
		inputs int
		err    error
	}
	pairs := map[string]*pair{}
	for _, f := range have {
		in, outs, err := modelIO(rt, filepath.Join(mdir, f))
		if err != nil {
			t.Fatal(err)
		}
		p := &pair{outs: outs, gates: map[string]*agreement{}}
		for i, path := range []string{filepath.Join(mdir, f), filepath.Join(qdir, strings.TrimSuffix(f, ".onnx")+int8Suffix)} {
			s, err := rt.NewSession(path, in, outs, onnxrt.SessionOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if i == 0 {
				p.fl = s
			} else {
				p.q = s
			}
		}
		pairs[filepath.Join(mdir, f)] = p
	}
	var scorers map[string]quantScorer
	onRun := func(path string, inputs []onnxrt.Tensor) {
		p := pairs[path]
		if p == nil {
			return
		}
		fl, err1 := p.fl.Run(inputs)
		q, err2 := p.q.Run(inputs)
		p.mu.Lock()
		defer p.mu.Unlock()
		if err := errors.Join(err1, err2); err != nil {
			p.err = err
			return
		}
		p.inputs++
		scorers[filepath.Base(path)](inputs, fl, q, p.outs, p.gates)
	}
	e, err := New(t.Context(), Config{CacheRoot: root, Float: true, onRun: onRun})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	scorers = quantGates(e)
	runPhotos(t, e, held, dir)
	for _, f := range have {
		p := pairs[filepath.Join(mdir, f)]
		if p.err != nil {
			t.Errorf("%s: %v", f, p.err)
			continue
		}
		var names []string
		for k := range p.gates {
			names = append(names, k)
		}
		sort.Strings(names)
		var parts []string
		for _, k := range names {
			a := p.gates[k]
			parts = append(parts, a.String())
			if a.rate() < a.threshold {
				t.Errorf("%s: int8 misses its gate: %v", f, a)
			}
		}
		t.Logf("%-22s %4d inputs from %d photos: %s", f, p.inputs, len(held), strings.Join(parts, "; "))
	}
}

package onnx

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/imagerec/imagerec/internal/imageio"
	"github.com/imagerec/imagerec/internal/onnxrt"
	"github.com/imagerec/imagerec/internal/vision"
)

// This file runs the label models beside the COCO detector: the ImageNet
// classifier and the Cityscapes segmenter on every image, and, when the
// first results call for them, the PASCAL segmenter on doubtful objects
// (labels_verify.go) and the iNaturalist classifiers on birds and insects. The
// models are TFLite files converted by internal/tfconv (modelpack
// declares them); each one is optional: a missing file turns its part of
// the labels off with a warning.

// Model and label files under <CacheRoot>/models.
const (
	imagenetFile     = "mnv2-imagenet.onnx"
	cityscapesFile   = "deeplab-cityscapes.onnx"
	pascalFile       = "deeplab-pascal.onnx"
	birdFile         = "mnv2-inat-bird.onnx"
	insectFile       = "mnv2-inat-insect.onnx"
	imagenetLabels   = "imagenet_labels.txt"
	cityscapesLabels = "cityscapes_segmentation_labels.txt"
	pascalLabels     = "pascal_voc_segmentation_labels.txt"
	birdLabels       = "inat_bird_labels.txt"
	insectLabels     = "inat_insect_labels.txt"
)

// fusionCalib holds the fusion's calibrated numbers; the others (scene
// thresholds and rules, context weights) are taxonomy data.
type fusionCalib struct {
	// Classifier turns ImageNet probabilities into label probabilities.
	Classifier classifierCalib
	// SceneAtThreshold is a scene label's probability when its evidence
	// just reaches its threshold.
	SceneAtThreshold float64
}

// defaultFusion was calibrated on the development set's dev split
// (testdata/devset; go test -run TestDevSetCalibrate -devset.calibrate
// repeats it).
var defaultFusion = fusionCalib{
	Classifier:       classifierCalib{Top: 10, Floor: 0.01, Gamma: 0.5},
	SceneAtThreshold: 0.55,
}

const (
	// speciesFloor is the least species probability for a species label.
	speciesFloor = 0.3
	// speciesTrigger is the least Bird or Insect probability for which the
	// species classifiers run.
	speciesTrigger = 0.55
)

// labelModels are the optional label models. A nil model is not installed.
type labelModels struct {
	imagenet, cityscapes, pascal *convertedModel
	bird, insect                 *convertedModel
	birdNames, insectNames       []string // species label per output
	pascal20                     pascalIndex
}

// loadLabelModels opens the label models that are installed, checks their
// label files against the taxonomy and declares the species labels in
// tax (before it is shared).
func loadLabelModels(rt *onnxrt.Runtime, dir string, tax *taxonomy, so onnxrt.SessionOptions, log *slog.Logger) (*labelModels, error) {
	m := &labelModels{pascal20: tax.pascalIndex()}
	type spec struct {
		file, labels, set string
		classes           int
		dst               **convertedModel
		names             *[]string
	}
	for _, s := range []spec{
		{imagenetFile, imagenetLabels, "imagenet", imagenetClasses, &m.imagenet, nil},
		{cityscapesFile, cityscapesLabels, "cityscapes", 0, &m.cityscapes, nil},
		{pascalFile, pascalLabels, "pascal", 0, &m.pascal, nil},
		{birdFile, birdLabels, "bird", 0, &m.bird, &m.birdNames},
		{insectFile, insectLabels, "insect", 0, &m.insect, &m.insectNames},
	} {
		p, lp := filepath.Join(dir, s.file), filepath.Join(dir, s.labels)
		if !fileExists(p) || !fileExists(lp) {
			log.Warn("label model not installed: its labels are off (run: imagerec models install)", "path", p)
			continue
		}
		data, err := os.ReadFile(lp)
		if err != nil {
			return nil, errors.Join(fmt.Errorf("load %s: %w", s.labels, err), m.Close())
		}
		lines := labelLines(data)
		switch s.set {
		case "bird", "insect":
			names, err := tax.addSpecies(s.set, lines)
			if err != nil {
				return nil, errors.Join(fmt.Errorf("load %s: %w", s.labels, err), m.Close())
			}
			*s.names = names
			s.classes = len(lines)
		default:
			if err := tax.verifyClasses(s.set, lines); err != nil {
				return nil, errors.Join(fmt.Errorf("load %s: %w", s.labels, err), m.Close())
			}
		}
		out := 0
		if s.set == "imagenet" || s.names != nil {
			out = s.classes
		}
		cm, err := newConvertedModel(rt, p, s.file, out, so)
		if err != nil {
			return nil, errors.Join(err, m.Close())
		}
		*s.dst = cm
	}
	return m, nil
}

// Models lists the loaded model files.
func (m *labelModels) Models() []string {
	var out []string
	for _, c := range []*convertedModel{m.imagenet, m.cityscapes, m.pascal, m.bird, m.insect} {
		if c != nil {
			out = append(out, c.file)
		}
	}
	return out
}

func (m *labelModels) Close() error {
	var errs []error
	for _, c := range []*convertedModel{m.imagenet, m.cityscapes, m.pascal, m.bird, m.insect} {
		errs = append(errs, c.Close())
	}
	return errors.Join(errs...)
}

// labelFindings are the label models' outputs for one image.
type labelFindings struct {
	classes []float32     // ImageNet probabilities; nil when not run
	scene   *segmentation // Cityscapes; nil when not run
	species []vision.Label
	// faces are found for the people labels when the faces feature did
	// not run: only faces large enough to see in the shared small copy.
	faces []vision.FaceDetail
}

// peopleHeight is the least height (a fraction of the image) of a detected
// person for the people labels to look for faces.
const peopleHeight = 0.15

// refine runs the second wave of label models on img: the PASCAL
// segmenter on the detector's doubtful objects (adjusting objects) and the
// species classifiers where there is a bird or an insect. small is the
// shared copy the first wave ran on.
func (e *Engine) refine(ctx context.Context, img, small *imageio.Image, objects []vision.Label, lf *labelFindings, facesRan bool, timings map[string]float64) ([]vision.Label, error) {
	m := e.labels
	var cls labelEvidence
	clsTop := 0.0
	if lf.classes != nil {
		cls = e.tax.classifierEvidence(lf.classes, defaultFusion.Classifier)
		if top := topClasses(lf.classes, 1, 0); len(top) > 0 {
			clsTop = top[0].Prob
		}
	}
	if m.pascal != nil {
		ds := doubts(objects, m.pascal20, cls, clsTop)
		if len(ds) > 0 {
			t0 := time.Now()
			shares := make([][]float64, len(ds))
			var wg sync.WaitGroup
			errs := make([]error, len(ds))
			for i, d := range ds {
				crop := cropAround(img, d.box.Left, d.box.Top, d.box.Width, d.box.Height, verifyCropMargin)
				if min(crop.Width, crop.Height) < verifyMinSide {
					shares[i] = make([]float64, len(m.pascal20.label)) // unseen
					continue
				}
				wg.Go(func() {
					g, err := m.pascal.segment(crop, len(m.pascal20.label))
					shares[i], errs[i] = g.shares(), err
				})
			}
			wg.Wait()
			if err := errors.Join(errs...); err != nil {
				return nil, err
			}
			objects = e.applyVerdicts(objects, ds, shares)
			timings[vision.TimingKey("verify")] = ms(time.Since(t0))
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if !facesRan && e.faces != nil && tallPerson(objects) {
		t0 := time.Now()
		work := peopleFaceWork(objects)
		if e.cfg.noSkip {
			work = allFaceWork
		}
		faces, err := e.faces.detectScaled(ctx, small, small, work)
		if err != nil {
			return nil, fmt.Errorf("faces for people labels: %w", err)
		}
		lf.faces = faces
		timings[vision.TimingKey("people")] = ms(time.Since(t0))
	}
	// Species: a bird is looked at in the crop of its best instance, an
	// insect (which the detector does not know) in the whole image.
	bird, insect := 0.0, 0.0
	var birdBox *vision.BoundingBox
	for _, l := range objects {
		if l.Name == "Bird" && l.Confidence/100 > bird {
			bird = l.Confidence / 100
			birdBox = &l.Instances[0].BoundingBox
		}
	}
	bird = math.Max(bird, cls["Bird"])
	insect = cls["Insect"]
	t0 := time.Now()
	var jobs []func() (vision.Label, error)
	if m.bird != nil && bird >= speciesTrigger {
		src := small
		if birdBox != nil {
			src = cropAround(img, birdBox.Left, birdBox.Top, birdBox.Width, birdBox.Height, verifyCropMargin)
		}
		jobs = append(jobs, func() (vision.Label, error) { return speciesLabel(m.bird, m.birdNames, src, bird) })
	}
	if m.insect != nil && insect >= speciesTrigger {
		jobs = append(jobs, func() (vision.Label, error) { return speciesLabel(m.insect, m.insectNames, small, insect) })
	}
	if len(jobs) > 0 {
		res := make([]vision.Label, len(jobs))
		errs := make([]error, len(jobs))
		var wg sync.WaitGroup
		for i, j := range jobs {
			wg.Go(func() { res[i], errs[i] = j() })
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			return nil, err
		}
		for _, l := range res {
			if l.Name != "" {
				lf.species = append(lf.species, l)
			}
		}
		timings[vision.TimingKey("species")] = ms(time.Since(t0))
	}
	return objects, nil
}

// tallPerson reports whether a detected person is at least peopleHeight
// tall.
func tallPerson(objects []vision.Label) bool {
	for _, l := range objects {
		if l.Name != "Person" {
			continue
		}
		for _, in := range l.Instances {
			if in.BoundingBox.Height >= peopleHeight {
				return true
			}
		}
	}
	return false
}

// applyVerdicts settles each doubt with its crop's PASCAL class shares.
func (e *Engine) applyVerdicts(objects []vision.Label, ds []doubt, shares [][]float64) []vision.Label {
	factor := map[int]float64{}
	ceiling := map[int]float64{}
	verified := map[instRef]bool{}
	var added []vision.Label
	for i, d := range ds {
		for _, r := range d.refs {
			verified[r] = true
			ceiling[r.label] = math.Max(ceiling[r.label], objects[r.label].Instances[r.inst].Confidence)
		}
		f, add := settle(objects, d, shares[i], e.labels.pascal20, e.tax)
		for li, v := range f {
			if old, ok := factor[li]; !ok || v < old {
				factor[li] = v
			}
		}
		added = append(added, add...)
	}
	objects = demote(objects, factor, verified, ceiling)
	return mergeLabels(objects, added)
}

// mergeLabels adds the instances of extra to the labels of objects with
// the same name, or appends them as new labels.
func mergeLabels(objects, extra []vision.Label) []vision.Label {
	for _, x := range extra {
		found := false
		for i := range objects {
			if objects[i].Name == x.Name {
				objects[i].Instances = append(objects[i].Instances, x.Instances...)
				objects[i].Confidence = math.Max(objects[i].Confidence, x.Confidence)
				found = true
			}
		}
		if !found {
			objects = append(objects, x)
		}
	}
	return objects
}

// speciesLabel classifies img with a species model and returns the most
// likely species as a label, its confidence the parent's probability
// times the square root of the species' ("" when below speciesFloor).
func speciesLabel(m *convertedModel, names []string, img *imageio.Image, parent float64) (vision.Label, error) {
	probs, err := m.classify(img)
	if err != nil {
		return vision.Label{}, err
	}
	top := topClasses(probs, 1, speciesFloor)
	if len(top) == 0 || top[0].ID >= len(names) || names[top[0].ID] == "" {
		return vision.Label{}, nil
	}
	return vision.Label{Name: names[top[0].ID], Confidence: round3(100 * parent * math.Sqrt(top[0].Prob))}, nil
}

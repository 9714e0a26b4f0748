package onnx

import (
	"math"
	"slices"
	"strings"

	"github.com/imagerec/imagerec/internal/vision"
)

// This file fuses DetectLabels evidence from every source into one label
// per name:
//
//   - the COCO detector's labels, with instances (labels_detector.go);
//   - the ImageNet classifier: a label's classifier probability is the sum
//     of the probabilities of the classes that imply it or one of its
//     descendants (every dog breed counts for Dog), so a label is as
//     likely as all the ways of being it;
//   - the Cityscapes segmenter's scene labels, from pixel shares
//     (taxonomy.json "scenes");
//   - labels other features vouch for (faces, text, the drawing classes);
//   - species, named by the iNaturalist classifiers under Bird or Insect.
//
// Each source gives a probability per label (ancestors included); sources
// are combined as independent witnesses (noisy-OR: 1 - prod(1 - p)), so
// two sources agreeing raise a label and a single weak one stays weak.
// Where the detector's classes compete for one object, or the classifier
// contradicts a detection, a PASCAL VOC segmenter looks at the object's
// crop and decides (labels_verify.go). Indoors and Outdoors exclude each other:
// the better supported one is kept.

// labelEvidence is one source's probability (0-1) per label name.
type labelEvidence map[string]float64

// raise records p for name, keeping the larger value.
func (e labelEvidence) raise(name string, p float64) {
	if p > e[name] {
		e[name] = p
	}
}

// withAncestors returns e with every label's ancestors raised to at least
// the label's probability (an ancestor is present whenever a descendant
// is).
func (t *taxonomy) withAncestors(e labelEvidence) labelEvidence {
	out := labelEvidence{}
	for name, p := range e {
		out.raise(name, p)
		for _, a := range t.ancestors[name] {
			out.raise(a, p)
		}
	}
	return out
}

// classifierCalib tunes how classifier probabilities become label
// probabilities.
type classifierCalib struct {
	// Top and Floor bound the classes that count: at most Top of them,
	// each at least Floor.
	Top   int
	Floor float64
	// Gamma < 1 lifts probabilities: a classifier spreads its mass over
	// near-identical classes, so 0.3 on the best class already means the
	// label is likely right.
	Gamma float64
}

// classifierEvidence turns ImageNet probabilities into label
// probabilities: each label collects the probability of every counted
// class whose direct labels or their ancestors include it, once per class.
func (t *taxonomy) classifierEvidence(probs []float32, c classifierCalib) labelEvidence {
	mass := map[string]float64{}
	for _, cp := range topClasses(probs, c.Top, c.Floor) {
		seen := map[string]bool{}
		for _, name := range t.imagenetLabels(cp.ID) {
			for _, n := range append([]string{name}, t.ancestors[name]...) {
				if !seen[n] {
					seen[n] = true
					mass[n] += cp.Prob
				}
			}
		}
	}
	out := labelEvidence{}
	for n, m := range mass {
		out[n] = math.Pow(math.Min(1, m), c.Gamma)
	}
	return out
}

// sceneEvidence turns the scene labels a segmentation supports into
// probabilities: at its threshold (Ratio 1) a label is at atThreshold, and
// it approaches 1 as the evidence grows.
func (t *taxonomy) sceneEvidence(labels []sceneLabel, atThreshold float64) labelEvidence {
	e := labelEvidence{}
	for _, l := range labels {
		e.raise(l.Name, 1-(1-atThreshold)/l.Ratio)
	}
	return t.withAncestors(e)
}

// labelsEvidence turns labels with 0-100 confidences into evidence, with
// ancestors.
func (t *taxonomy) labelsEvidence(ls []vision.Label) labelEvidence {
	e := labelEvidence{}
	for _, l := range ls {
		e.raise(l.Name, l.Confidence/100)
	}
	return t.withAncestors(e)
}

// fuse combines the sources' evidence into labels (noisy-OR), attaching
// the detector's instances to their labels. The result still goes through
// taxonomy.expand (Parents, filtering, order).
func (t *taxonomy) fuse(objects []vision.Label, sources ...labelEvidence) []vision.Label {
	miss := map[string]float64{} // P(label absent), product over sources
	for _, src := range sources {
		for name, p := range src {
			if _, ok := miss[name]; !ok {
				miss[name] = 1
			}
			miss[name] *= 1 - math.Min(1, math.Max(0, p))
		}
	}
	p := make(map[string]float64, len(miss))
	for name, m := range miss {
		p[name] = 1 - m
	}
	t.applyContext(p)
	instances := map[string][]vision.Instance{}
	for _, l := range objects {
		instances[l.Name] = append(instances[l.Name], l.Instances...)
	}
	drop := excluded(p, "Indoors", "Outdoors")
	out := make([]vision.Label, 0, len(p))
	for name, v := range p {
		if drop != "" && (name == drop || slices.Contains(t.ancestors[name], drop)) {
			continue
		}
		out = append(out, vision.Label{Name: name, Confidence: round3(100 * v), Instances: instances[name]})
	}
	slices.SortFunc(out, func(a, b vision.Label) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// excluded returns which of labels a and b, when both are present, is the
// less likely (the other wins: a photo is not both), or "". p holds each
// label's probability. Its descendants go with it.
func excluded(p map[string]float64, a, b string) string {
	pa, okA := p[a]
	pb, okB := p[b]
	switch {
	case !okA || !okB || pa == 0 || pb == 0:
		return ""
	case pa >= pb:
		return b
	default:
		return a
	}
}

// Ages (years, the middle of a face's AgeRange) that separate Rekognition's
// people labels.
const (
	babyAge  = 2
	childAge = 13
	adultAge = 18
	// portraitWidth is the least face width (a fraction of the image's)
	// that makes a photo a Portrait.
	portraitWidth = 0.2
)

// peopleLabels are the labels the faces' attributes imply, as Rekognition
// names people: Adult, Child, Teen or Baby from the age, Male or Female
// from the gender, and their combinations (Man, Woman, Boy, Girl); a
// Portrait when one face is large; Smile. A face counts as it does for
// the Face label (confident, or inside a detected person). Each label's
// confidence is the face's times the attribute's (0-100).
func peopleLabels(faces []vision.FaceDetail, persons []vision.BoundingBox) []vision.Label {
	best := map[string]float64{}
	raise := func(name string, c float64) { best[name] = math.Max(best[name], c) }
	counted := 0
	for _, f := range faces {
		if !faceCounts(f, persons) {
			continue
		}
		counted++
		fc := f.Confidence / 100
		age := ""
		if a := f.AgeRange; a != nil {
			switch mid := float64(a.Low+a.High) / 2; {
			case mid < babyAge:
				age = "Baby"
			case mid < childAge:
				age = "Child"
			case mid < adultAge:
				age = "Teen"
			default:
				age = "Adult"
			}
			raise(age, 100*fc*0.85)
		}
		if g := f.Gender; g != nil {
			sex := map[string]string{"Male": "Male", "Female": "Female"}[g.Value]
			if sex != "" {
				c := fc * g.Confidence
				raise(sex, c)
				switch {
				case age == "Adult" && sex == "Male":
					raise("Man", c*0.85)
				case age == "Adult" && sex == "Female":
					raise("Woman", c*0.85)
				case age == "Child" && sex == "Male":
					raise("Boy", c*0.85)
				case age == "Child" && sex == "Female":
					raise("Girl", c*0.85)
				}
			}
		}
		if s := f.Smile; s != nil && s.Value {
			raise("Smile", fc*s.Confidence)
		}
		if f.BoundingBox.Width >= portraitWidth {
			raise("Portrait", 100*fc)
		}
	}
	if counted > 1 {
		delete(best, "Portrait")
	}
	out := make([]vision.Label, 0, len(best))
	for n, c := range best {
		out = append(out, vision.Label{Name: n, Confidence: round3(c)})
	}
	slices.SortFunc(out, func(a, b vision.Label) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// fuseLabels combines every label source's findings (see fuse).
func (e *Engine) fuseLabels(f *findings) []vision.Label {
	return e.tax.fuseFindings(f, defaultFusion)
}

// fuseFindings combines one image's findings with calibration c.
func (t *taxonomy) fuseFindings(f *findings, c fusionCalib) []vision.Label {
	faces := f.faces
	if faces == nil {
		faces = f.labels.faces
	}
	sources := []labelEvidence{
		t.labelsEvidence(f.objects),
		t.labelsEvidence(impliedLabels(f.objects, faces, f.texts, f.scores)),
		t.labelsEvidence(f.labels.species),
	}
	if f.labels.classes != nil {
		sources = append(sources, t.classifierEvidence(f.labels.classes, c.Classifier))
	}
	if g := f.labels.scene; g != nil {
		// segment checked the class count against the taxonomy's, so
		// supported cannot fail.
		if sl, err := t.scene("cityscapes").supported(g.shares()); err == nil {
			sources = append(sources, t.sceneEvidence(sl, c.SceneAtThreshold))
		}
	}
	return t.fuse(f.objects, sources...)
}

// faceLabelConfidence is the face confidence from which a face alone
// implies the Face, Head and Person labels. Below it, a face counts only
// when it lies inside a detected person: BlazeFace also fires, at lower
// confidence, on animal faces and patterns.
const faceLabelConfidence = 85

// impliedLabels are the DetectLabels labels other features vouch for:
// a face is a Face (and so a Head and a Person), text is Text, and the
// moderation classifier's drawing classes are a Drawing (an Art). objects
// are the detector's labels, used to corroborate weak faces.
func impliedLabels(objects []vision.Label, faces []vision.FaceDetail, texts []vision.TextDetection, scores *nsfwScores) []vision.Label {
	var out []vision.Label
	persons := personBoxes(objects)
	best := 0.0
	for _, f := range faces {
		if faceCounts(f, persons) {
			best = max(best, f.Confidence)
		}
	}
	if best > 0 {
		out = append(out, vision.Label{Name: "Face", Confidence: round3(best)})
		out = append(out, peopleLabels(faces, persons)...)
	}
	best = 0
	for _, t := range texts {
		if t.Type == vision.TextLine {
			best = max(best, t.Confidence)
		}
	}
	if best > 0 {
		out = append(out, vision.Label{Name: "Text", Confidence: round3(best)})
	}
	if scores != nil {
		out = append(out, impliedArtLabels(*scores)...)
	}
	return out
}

// personBoxes are the boxes of the detector's Person instances.
func personBoxes(objects []vision.Label) []vision.BoundingBox {
	var persons []vision.BoundingBox
	for _, l := range objects {
		if l.Name == "Person" {
			for _, in := range l.Instances {
				persons = append(persons, in.BoundingBox)
			}
		}
	}
	return persons
}

// faceCounts reports whether face f implies labels (Face, Head, Person
// and the people labels): confident, or inside a detected person.
func faceCounts(f vision.FaceDetail, persons []vision.BoundingBox) bool {
	return f.Confidence >= faceLabelConfidence || insideAny(f.BoundingBox, persons)
}

// peopleFaceWork is what the labels read of the faces found for the
// people labels when the faces feature does not run (skip rule 1 of
// doc.go): no face mesh or iris (labels read no landmarks, pose, eyes or
// mouth), and age, gender and emotion only for the faces that count
// (faceCounts), the only ones whose attributes imply labels.
func peopleFaceWork(objects []vision.Label) faceWork {
	persons := personBoxes(objects)
	return faceWork{ageGender: true, emotions: true, attributes: func(f vision.FaceDetail) bool { return faceCounts(f, persons) }}
}

// insideAny reports whether b's centre lies in one of boxes.
func insideAny(b vision.BoundingBox, boxes []vision.BoundingBox) bool {
	cx, cy := b.Left+b.Width/2, b.Top+b.Height/2
	for _, o := range boxes {
		if cx >= o.Left && cx <= o.Left+o.Width && cy >= o.Top && cy <= o.Top+o.Height {
			return true
		}
	}
	return false
}

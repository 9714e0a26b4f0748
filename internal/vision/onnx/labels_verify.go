package onnx

import (
	"cmp"
	"math"
	"slices"

	"github.com/imagerec/imagerec/internal/vision"
)

// This file settles the detector's doubtful objects with a second model.
// CenterNet often puts peaks of several classes on one object (a white
// horse scored Sheep 62, Cow 62, Horse 56) and takes some shapes for
// others (distant boats as birds). The PASCAL VOC segmenter knows 20 of
// the COCO classes; run on a crop around a doubtful object, the share of
// the crop's pixels each class takes says which one it is.
//
// An object is doubtful when another class's instance covers the same box
// (IoU >= verifyIoU) within verifyMargin points of the best one, or when
// its label is contradicted: the detector is not sure of it (below
// verifySure) and the classifier, confident about the image (its best
// class at least classifierSure), gives the label almost nothing (below
// classifierDoubt). At most verifyMax objects are checked per image, the
// most confident first. An object smaller than verifyMinSide pixels is
// too small for the segmenter to judge: it counts as unseen.

const (
	verifyIoU       = 0.6
	verifyMargin    = 25.0
	verifySure      = 80.0
	classifierSure  = 0.3
	classifierDoubt = 0.02
	verifyMax       = 3
	// verifySeen is the least crop share of the winning class for a
	// verdict; below it the segmenter saw too little to judge.
	verifySeen = 0.05
	// verifyFull is the crop share at which the segmenter's support
	// counts fully (objects rarely fill more of a crop with margins).
	verifyFull = 0.3
	// verifyCropMargin is the crop margin around the box, of its size.
	verifyCropMargin = 0.15
	// unseenFactor scales a contradicted detection the segmenter does not
	// see either.
	unseenFactor = 0.5
	// verifyMinSide is the least crop side, in pixels of the decoded
	// image, worth segmenting.
	verifyMinSide = 32
)

// doubt is a group of detector instances of PASCAL-known labels on one
// object: refs index objects[label].Instances[inst]. contradicted is set
// when the classifier gives the best label almost nothing.
type doubt struct {
	box          vision.BoundingBox
	best         float64
	refs         []instRef
	contradicted bool
}

type instRef struct {
	label, inst int
}

// pascalIndex maps label names to PASCAL class ids and back.
type pascalIndex struct {
	id    map[string]int
	label []string // by class id; "" for background
}

func (t *taxonomy) pascalIndex() pascalIndex {
	s := t.scene("pascal")
	px := pascalIndex{id: map[string]int{}, label: make([]string, len(s.Classes))}
	for i, c := range s.Classes {
		if c.Labels != nil && len(*c.Labels) > 0 {
			px.label[i] = (*c.Labels)[0]
			px.id[px.label[i]] = i
		}
	}
	return px
}

// doubts finds the doubtful objects among the detector's labels, most
// confident first, at most verifyMax. cls is the classifier's evidence
// and clsTop its best class probability (0 when it did not run).
func doubts(objects []vision.Label, px pascalIndex, cls labelEvidence, clsTop float64) []doubt {
	var refs []instRef
	for li, l := range objects {
		if _, ok := px.id[l.Name]; !ok {
			continue
		}
		for ii := range l.Instances {
			refs = append(refs, instRef{li, ii})
		}
	}
	inst := func(r instRef) vision.Instance { return objects[r.label].Instances[r.inst] }
	slices.SortStableFunc(refs, func(a, b instRef) int { return cmp.Compare(inst(b).Confidence, inst(a).Confidence) })
	var groups []doubt
	for _, r := range refs {
		in := inst(r)
		joined := false
		for gi := range groups {
			if iou(groups[gi].box, in.BoundingBox) >= verifyIoU {
				groups[gi].refs = append(groups[gi].refs, r)
				joined = true
				break
			}
		}
		if !joined {
			groups = append(groups, doubt{box: in.BoundingBox, best: in.Confidence, refs: []instRef{r}})
		}
	}
	// A label is contradicted when the detector is not sure of it and the
	// classifier, sure of the image, gives it almost nothing.
	contradicted := map[string]bool{}
	if cls != nil && clsTop >= classifierSure {
		for _, l := range objects {
			if _, ok := px.id[l.Name]; ok && l.Confidence < verifySure && cls[l.Name] < classifierDoubt {
				contradicted[l.Name] = true
			}
		}
	}
	var out []doubt
	for _, g := range groups {
		top := objects[g.refs[0].label].Name
		rival := false
		for _, r := range g.refs[1:] {
			if objects[r.label].Name != top && inst(r).Confidence >= g.best-verifyMargin {
				rival = true
			}
		}
		g.contradicted = contradicted[top]
		if rival || g.contradicted {
			out = append(out, g)
		}
		if len(out) == verifyMax {
			break
		}
	}
	return out
}

// settle applies the segmenter's verdict on one doubt: shares are the
// crop's class shares. Each label of the group keeps its instance in
// proportion to its share against the winning class's; the winner's
// instance is raised by the segmenter's support, and a winner the
// detector had not named gets an instance of its own on the box. The
// factors are returned by label index, to be applied to the label's other
// instances (see demote).
func settle(objects []vision.Label, g doubt, shares []float64, px pascalIndex, tax *taxonomy) (factor map[int]float64, added []vision.Label) {
	win, ws := 0, 0.0
	for id := 1; id < len(shares); id++ {
		if px.label[id] != "" && shares[id] > ws {
			win, ws = id, shares[id]
		}
	}
	if ws < verifySeen {
		if !g.contradicted {
			return nil, nil
		}
		// Neither the classifier nor the segmenter sees what the
		// detector saw: two witnesses against one.
		factor = map[int]float64{}
		for _, r := range g.refs {
			in := &objects[r.label].Instances[r.inst]
			in.Confidence = round3(in.Confidence * unseenFactor)
			factor[r.label] = unseenFactor
		}
		return factor, nil
	}
	support := 0.5 * math.Min(1, ws/verifyFull)
	factor = map[int]float64{}
	winName := px.label[win]
	named := false
	for _, r := range g.refs {
		l := &objects[r.label]
		in := &l.Instances[r.inst]
		id, ok := px.id[l.Name]
		if !ok {
			continue
		}
		if id == win {
			named = true
			in.Confidence = round3(100 * (1 - (1-in.Confidence/100)*(1-support)))
			continue
		}
		f := shares[id] / ws
		in.Confidence = round3(in.Confidence * f)
		if old, ok := factor[r.label]; !ok || f < old {
			factor[r.label] = f
		}
	}
	if !named && ws >= 2*verifySeen {
		conf := round3(g.best * math.Min(1, ws/verifyFull))
		added = append(added, vision.Label{Name: tax.objectName(winName), Confidence: conf, Instances: []vision.Instance{{BoundingBox: g.box, Confidence: conf}}})
	}
	return factor, added
}

// demote scales the instances of each label in factor that were not
// verified themselves and are no more confident than the verified one:
// the verified object speaks for the label's weaker detections in the
// same image. Instances that fall under the detection floor go, and so do
// labels left without instances; label confidence is the best instance's.
func demote(objects []vision.Label, factor map[int]float64, verified map[instRef]bool, ceiling map[int]float64) []vision.Label {
	out := objects[:0]
	for li, l := range objects {
		f, ok := factor[li]
		kept := l.Instances[:0]
		best := 0.0
		for ii, in := range l.Instances {
			if ok && !verified[instRef{li, ii}] && in.Confidence <= ceiling[li] {
				in.Confidence = round3(in.Confidence * f)
			}
			if in.Confidence < confidence(detectionFloor) {
				continue
			}
			kept = append(kept, in)
			best = math.Max(best, in.Confidence)
		}
		if len(kept) == 0 {
			continue
		}
		l.Instances, l.Confidence = kept, best
		out = append(out, l)
	}
	return out
}

// iou is the intersection over union of two boxes.
func iou(a, b vision.BoundingBox) float64 {
	ix := math.Min(a.Left+a.Width, b.Left+b.Width) - math.Max(a.Left, b.Left)
	iy := math.Min(a.Top+a.Height, b.Top+b.Height) - math.Max(a.Top, b.Top)
	if ix <= 0 || iy <= 0 {
		return 0
	}
	inter := ix * iy
	return inter / (a.Width*a.Height + b.Width*b.Height - inter)
}

package onnx

import (
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/imagerec/imagerec/internal/vision"
)

// The label taxonomy is data (taxonomy.json): which Rekognition-style name
// each COCO class gets, and each label's parents, aliases and categories.
// Like Rekognition, a label's Parents list all its ancestors, and every
// ancestor is reported as a label of its own with the confidence of its most
// confident descendant.

//go:embed taxonomy.json
var taxonomyJSON []byte

type taxonomyEntry struct {
	Parents    []string `json:"parents"`
	Aliases    []string `json:"aliases"`
	Categories []string `json:"categories"`
}

// taxonomy is the loaded, transitively closed label hierarchy.
type taxonomy struct {
	objects   map[string]string // COCO name -> label name
	labels    map[string]taxonomyEntry
	ancestors map[string][]string // sorted, all ancestors
}

// loadTaxonomy parses and validates a taxonomy document: every COCO class is
// mapped, every referenced parent is declared, and there are no cycles.
func loadTaxonomy(data []byte) (*taxonomy, error) {
	var doc struct {
		Objects map[string]string        `json:"objects"`
		Labels  map[string]taxonomyEntry `json:"labels"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("parse taxonomy: %w", err)
	}
	t := &taxonomy{objects: doc.Objects, labels: doc.Labels, ancestors: map[string][]string{}}
	var errs []error
	for _, c := range cocoNames {
		name, ok := t.objects[c]
		if !ok {
			errs = append(errs, fmt.Errorf("coco class %q has no label", c))
			continue
		}
		if _, ok := t.labels[name]; !ok {
			errs = append(errs, fmt.Errorf("label %q (for %q) is not declared", name, c))
		}
	}
	for name, e := range t.labels {
		for _, p := range e.Parents {
			if _, ok := t.labels[p]; !ok {
				errs = append(errs, fmt.Errorf("label %q: parent %q is not declared", name, p))
			}
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	for name := range t.labels {
		anc, err := t.closure(name, nil)
		if err != nil {
			return nil, err
		}
		slices.Sort(anc)
		t.ancestors[name] = slices.Compact(anc)
	}
	return t, nil
}

func (t *taxonomy) closure(name string, path []string) ([]string, error) {
	if slices.Contains(path, name) {
		return nil, fmt.Errorf("taxonomy cycle: %s -> %s", strings.Join(path, " -> "), name)
	}
	var out []string
	for _, p := range t.labels[name].Parents {
		out = append(out, p)
		up, err := t.closure(p, append(path, name))
		if err != nil {
			return nil, err
		}
		out = append(out, up...)
	}
	return out, nil
}

// objectName is the label name for a COCO class.
func (t *taxonomy) objectName(coco string) string {
	if n, ok := t.objects[coco]; ok {
		return n
	}
	return coco
}

// expand completes labels: it merges duplicates (max confidence, instances
// concatenated), adds every ancestor as a label, fills Parents, Aliases and
// Categories, drops labels under minConfidence, sorts by confidence and
// cuts to maxLabels. Lists are never nil, as in Rekognition's JSON.
func (t *taxonomy) expand(in []vision.Label, minConfidence float64, maxLabels int) []vision.Label {
	byName := map[string]*vision.Label{}
	add := func(name string, conf float64, inst []vision.Instance) {
		l, ok := byName[name]
		if !ok {
			l = &vision.Label{Name: name}
			byName[name] = l
		}
		l.Confidence = math.Max(l.Confidence, conf)
		l.Instances = append(l.Instances, inst...)
	}
	for _, l := range in {
		add(l.Name, l.Confidence, l.Instances)
		for _, a := range t.ancestors[l.Name] {
			add(a, l.Confidence, nil)
		}
	}
	out := make([]vision.Label, 0, len(byName))
	for name, l := range byName {
		if l.Confidence < minConfidence {
			continue
		}
		e := t.labels[name]
		l.Parents = nameList(t.ancestors[name])
		l.Aliases = nameList(e.Aliases)
		l.Categories = nameList(e.Categories)
		if l.Instances == nil {
			l.Instances = []vision.Instance{}
		}
		slices.SortStableFunc(l.Instances, func(a, b vision.Instance) int {
			switch {
			case a.Confidence > b.Confidence:
				return -1
			case a.Confidence < b.Confidence:
				return 1
			}
			return 0
		})
		out = append(out, *l)
	}
	slices.SortFunc(out, func(a, b vision.Label) int {
		switch {
		case a.Confidence > b.Confidence:
			return -1
		case a.Confidence < b.Confidence:
			return 1
		}
		return strings.Compare(a.Name, b.Name)
	})
	if maxLabels > 0 && len(out) > maxLabels {
		out = out[:maxLabels]
	}
	return out
}

func nameList(names []string) []vision.NameOnly {
	out := make([]vision.NameOnly, 0, len(names))
	for _, n := range names {
		out = append(out, vision.NameOnly{Name: n})
	}
	return out
}

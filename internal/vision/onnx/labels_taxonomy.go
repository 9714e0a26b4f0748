package onnx

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/imagerec/imagerec/internal/vision"
)

// The label taxonomy is data: taxonomy.json (labels, the COCO detector's
// classes, the segmenters' scene classes and rules, the species rules) and
// taxonomy_imagenet.json (the ImageNet classifier's classes). Like
// Rekognition, a label's Parents list all its ancestors, and every ancestor
// is reported as a label of its own with the confidence of its most
// confident descendant.

var (
	//go:embed taxonomy.json
	taxonomyJSON []byte
	//go:embed taxonomy_imagenet.json
	taxonomyImageNetJSON []byte
)

// imagenetClasses is the ImageNet classifier's output size: background and
// the 1000 ImageNet-1k classes.
const imagenetClasses = 1001

type taxonomyEntry struct {
	Parents    []string `json:"parents"`
	Aliases    []string `json:"aliases"`
	Categories []string `json:"categories"`
}

// classEntry is one classifier output: its id, its exact line in the
// model's label file and the labels it implies directly. Labels is a
// pointer so that a missing list (a mistake) differs from an empty one (a
// class left unmapped on purpose).
type classEntry struct {
	ID     int       `json:"id"`
	Class  string    `json:"class"`
	Labels *[]string `json:"labels"`
}

// taxonomyDoc is one taxonomy document. The sections may be spread over
// several documents, each section in one of them; labels may be declared
// in several documents, each label once.
type taxonomyDoc struct {
	Comment  string                   `json:"comment"`
	Objects  map[string]string        `json:"objects"`
	Labels   map[string]taxonomyEntry `json:"labels"`
	ImageNet []classEntry             `json:"imagenet"`
	Scenes   map[string]*sceneSet     `json:"scenes"`
	Species  map[string]*speciesRules `json:"species"`
	Context  []contextRule            `json:"context"`
}

// taxonomy is the loaded, validated, transitively closed label hierarchy
// and the class mappings of every model.
type taxonomy struct {
	objects     map[string]string // COCO name -> label name
	labels      map[string]taxonomyEntry
	ancestors   map[string][]string // sorted, all ancestors
	imagenet    []classEntry        // by classifier output id
	scenes      map[string]*sceneSet
	speciesSets map[string]*speciesRules
	// speciesKind records which species set registered a label (addSpecies).
	speciesKind map[string]string
	context     []contextRule
}

// defaultTaxonomy loads the embedded documents.
func defaultTaxonomy() (*taxonomy, error) {
	return loadTaxonomy(taxonomyJSON, taxonomyImageNetJSON)
}

// loadTaxonomy parses and validates taxonomy documents. Every problem is
// reported (errors.Join): unknown fields, keys given twice, a COCO class,
// ImageNet output or segmentation class without a mapping, a label used
// but not declared, a cycle, a malformed scene rule or species rule.
func loadTaxonomy(docs ...[]byte) (*taxonomy, error) {
	t := &taxonomy{
		objects: map[string]string{}, labels: map[string]taxonomyEntry{}, ancestors: map[string][]string{},
		scenes: map[string]*sceneSet{}, speciesSets: map[string]*speciesRules{}, speciesKind: map[string]string{},
	}
	var errs []error
	var seen struct{ objects, imagenet, scenes, species, context bool }
	section := func(present bool, done *bool, name string) bool {
		if !present {
			return false
		}
		if *done {
			errs = append(errs, fmt.Errorf("section %q is given in more than one document", name))
			return false
		}
		*done = true
		return true
	}
	for i, data := range docs {
		var doc taxonomyDoc
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&doc); err != nil {
			return nil, fmt.Errorf("parse taxonomy document %d: %w", i+1, err)
		}
		if err := duplicateKeys(data); err != nil {
			errs = append(errs, fmt.Errorf("taxonomy document %d: %w", i+1, err))
		}
		for name, e := range doc.Labels {
			if _, ok := t.labels[name]; ok {
				errs = append(errs, fmt.Errorf("label %q is declared in more than one document", name))
			}
			t.labels[name] = e
		}
		if section(doc.Objects != nil, &seen.objects, "objects") {
			t.objects = doc.Objects
		}
		if section(doc.ImageNet != nil, &seen.imagenet, "imagenet") {
			t.imagenet = doc.ImageNet
		}
		if section(doc.Scenes != nil, &seen.scenes, "scenes") {
			t.scenes = doc.Scenes
		}
		if section(doc.Species != nil, &seen.species, "species") {
			t.speciesSets = doc.Species
		}
		if section(doc.Context != nil, &seen.context, "context") {
			t.context = doc.Context
		}
	}
	errs = append(errs, t.validateLabels()...)
	errs = append(errs, t.validateObjects()...)
	errs = append(errs, t.validateImageNet()...)
	errs = append(errs, t.validateScenes()...)
	errs = append(errs, t.validateSpecies()...)
	errs = append(errs, t.validateContext()...)
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return t, nil
}

// validateLabels checks every parent is declared and computes the
// ancestors, reporting cycles.
func (t *taxonomy) validateLabels() []error {
	var errs []error
	for _, name := range sortedKeys(t.labels) {
		for _, p := range t.labels[name].Parents {
			if _, ok := t.labels[p]; !ok {
				errs = append(errs, fmt.Errorf("label %q: parent %q is not declared", name, p))
			}
		}
	}
	if len(errs) > 0 {
		return errs
	}
	state := map[string]int{} // 0 new, 1 on the path, 2 done
	var visit func(name string, path []string) error
	visit = func(name string, path []string) error {
		switch state[name] {
		case 1:
			return fmt.Errorf("taxonomy cycle: %s -> %s", strings.Join(path, " -> "), name)
		case 2:
			return nil
		}
		state[name] = 1
		var anc []string
		for _, p := range t.labels[name].Parents {
			if err := visit(p, append(path, name)); err != nil {
				return err
			}
			anc = append(anc, p)
			anc = append(anc, t.ancestors[p]...)
		}
		slices.Sort(anc)
		t.ancestors[name] = slices.Compact(anc)
		state[name] = 2
		return nil
	}
	for _, name := range sortedKeys(t.labels) {
		if err := visit(name, nil); err != nil {
			return []error{err}
		}
	}
	return nil
}

// declared reports the labels of names that are not declared, with what
// uses them.
func (t *taxonomy) declared(user string, names []string) []error {
	var errs []error
	for _, n := range names {
		if _, ok := t.labels[n]; !ok {
			errs = append(errs, fmt.Errorf("%s: label %q is not declared", user, n))
		}
	}
	return errs
}

func (t *taxonomy) validateObjects() []error {
	var errs []error
	for _, c := range cocoNames {
		name, ok := t.objects[c]
		if !ok {
			errs = append(errs, fmt.Errorf("coco class %q has no label", c))
			continue
		}
		errs = append(errs, t.declared(fmt.Sprintf("coco class %q", c), []string{name})...)
	}
	return errs
}

func (t *taxonomy) validateImageNet() []error {
	if len(t.imagenet) != imagenetClasses {
		return []error{fmt.Errorf("imagenet: %d classes, want %d (background and the 1000 classes, by output id)", len(t.imagenet), imagenetClasses)}
	}
	var errs []error
	for i, c := range t.imagenet {
		user := fmt.Sprintf("imagenet class %d %q", i, c.Class)
		switch {
		case c.ID != i:
			errs = append(errs, fmt.Errorf("%s: id %d at position %d (ids are output ids, in order)", user, c.ID, i))
		case c.Class == "":
			errs = append(errs, fmt.Errorf("imagenet class %d: no class line", i))
		case c.Labels == nil:
			errs = append(errs, fmt.Errorf("%s: no labels (write [] to leave it unmapped)", user))
		default:
			errs = append(errs, t.declared(user, *c.Labels)...)
		}
	}
	return errs
}

// imagenetLabels are the labels the ImageNet classifier's output id
// implies directly (nil for background, unmapped classes and ids out of
// range); expand adds their ancestors.
func (t *taxonomy) imagenetLabels(id int) []string {
	if id < 0 || id >= len(t.imagenet) || t.imagenet[id].Labels == nil {
		return nil
	}
	return *t.imagenet[id].Labels
}

// verifyClasses checks a model's label file (its lines, see labelLines)
// against the classes the taxonomy maps, for set "imagenet", "cityscapes"
// or "pascal". The Cityscapes file has a "background" line before its 19
// train ids.
func (t *taxonomy) verifyClasses(set string, lines []string) error {
	var want []string
	switch set {
	case "imagenet":
		for _, c := range t.imagenet {
			want = append(want, c.Class)
		}
	case "cityscapes", "pascal":
		s := t.scenes[set]
		if s == nil {
			return fmt.Errorf("no scene set %q", set)
		}
		if set == "cityscapes" {
			want = append(want, "background")
		}
		for _, c := range s.Classes {
			want = append(want, c.Class)
		}
	default:
		return fmt.Errorf("no class set %q", set)
	}
	var errs []error
	if len(lines) != len(want) {
		errs = append(errs, fmt.Errorf("%s: label file has %d lines, the taxonomy maps %d", set, len(lines), len(want)))
	}
	for i := range min(len(lines), len(want)) {
		if lines[i] != want[i] {
			errs = append(errs, fmt.Errorf("%s line %d: file %q, taxonomy %q", set, i+1, lines[i], want[i]))
		}
	}
	return errors.Join(errs...)
}

// labelLines splits a label file into its lines, up to the first empty
// line (the PASCAL file ends with a note after one); carriage returns and
// surrounding spaces are dropped.
func labelLines(data []byte) []string {
	var out []string
	for line := range strings.SplitSeq(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			break
		}
		out = append(out, line)
	}
	return out
}

// duplicateKeys reports object keys given twice in a JSON document, which
// encoding/json would silently merge (the last one wins).
func duplicateKeys(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	var errs []error
	var walk func(path string) error
	walk = func(path string) error {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		switch tok {
		case json.Delim('{'):
			seen := map[string]bool{}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return err
				}
				k, _ := kt.(string)
				if seen[k] {
					errs = append(errs, fmt.Errorf("%s: key %q is given twice", path, k))
				}
				seen[k] = true
				if err := walk(path + "." + k); err != nil {
					return err
				}
			}
		case json.Delim('['):
			for i := 0; dec.More(); i++ {
				if err := walk(fmt.Sprintf("%s[%d]", path, i)); err != nil {
					return err
				}
			}
		default:
			return nil
		}
		_, err = dec.Token() // the closing delimiter
		return err
	}
	if err := walk("$"); err != nil {
		return err
	}
	return errors.Join(errs...)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
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

package onnx

import (
	"cmp"
	"fmt"
	"slices"
)

// sceneSizes are the segmenters' class counts: Cityscapes' 19 train ids
// and PASCAL VOC's 20 objects and background.
var sceneSizes = map[string]int{"cityscapes": 19, "pascal": 21}

// sceneSet maps a segmenter's classes, by output id, to the labels their
// pixel shares support (taxonomy.json "scenes").
type sceneSet struct {
	Comment string       `json:"comment"`
	Classes []sceneClass `json:"classes"`
	Rules   []sceneRule  `json:"rules"`
	index   map[string]int
}

// sceneClass is one segmentation class: its labels hold when its share of
// the image's pixels reaches MinShare.
type sceneClass struct {
	ID       int       `json:"id"`
	Class    string    `json:"class"`
	Labels   *[]string `json:"labels"`
	MinShare float64   `json:"minShare"`
}

// sceneRule gives labels when every clause holds.
type sceneRule struct {
	Labels []string      `json:"labels"`
	All    []sceneClause `json:"all"`
}

// sceneClause holds when the summed share of its classes reaches MinShare.
type sceneClause struct {
	Classes  []string `json:"classes"`
	MinShare float64  `json:"minShare"`
	ids      []int
}

// sceneLabel is a label the pixel shares support. Share is the evidence:
// the class's share, or for a rule the summed share of its first clause.
// Ratio is how far the evidence clears its threshold (share/minShare, for
// a rule the smallest over its clauses), at least 1.
type sceneLabel struct {
	Name         string
	Share, Ratio float64
}

func (t *taxonomy) validateScenes() []error {
	var errs []error
	for _, name := range sortedKeys(sceneSizes) {
		if t.scenes[name] == nil {
			errs = append(errs, fmt.Errorf("scenes: no %q set", name))
		}
	}
	for _, name := range sortedKeys(t.scenes) {
		s := t.scenes[name]
		want, ok := sceneSizes[name]
		if !ok {
			errs = append(errs, fmt.Errorf("scenes: unknown set %q", name))
			continue
		}
		if s == nil || len(s.Classes) != want {
			errs = append(errs, fmt.Errorf("scenes %s: want %d classes", name, want))
			continue
		}
		errs = append(errs, t.validateSceneSet(name, s)...)
	}
	return errs
}

func (t *taxonomy) validateSceneSet(name string, s *sceneSet) []error {
	var errs []error
	s.index = map[string]int{}
	for i, c := range s.Classes {
		user := fmt.Sprintf("scenes %s class %d %q", name, i, c.Class)
		switch {
		case c.ID != i:
			errs = append(errs, fmt.Errorf("%s: id %d at position %d (ids are output ids, in order)", user, c.ID, i))
		case c.Class == "":
			errs = append(errs, fmt.Errorf("scenes %s class %d: no class name", name, i))
		case c.Labels == nil:
			errs = append(errs, fmt.Errorf("%s: no labels (write [] for none)", user))
		case len(*c.Labels) == 0 && c.MinShare != 0:
			errs = append(errs, fmt.Errorf("%s: minShare without labels", user))
		case len(*c.Labels) > 0 && !validShare(c.MinShare):
			errs = append(errs, fmt.Errorf("%s: minShare %g is not in (0, 1]", user, c.MinShare))
		default:
			errs = append(errs, t.declared(user, *c.Labels)...)
		}
		if _, dup := s.index[c.Class]; dup {
			errs = append(errs, fmt.Errorf("%s: class given twice", user))
		}
		s.index[c.Class] = i
	}
	for i := range s.Rules {
		r := &s.Rules[i]
		user := fmt.Sprintf("scenes %s rule %d", name, i+1)
		if len(r.Labels) == 0 || len(r.All) == 0 {
			errs = append(errs, fmt.Errorf("%s: a rule needs labels and clauses", user))
		}
		errs = append(errs, t.declared(user, r.Labels)...)
		for j := range r.All {
			c := &r.All[j]
			if len(c.Classes) == 0 || !validShare(c.MinShare) {
				errs = append(errs, fmt.Errorf("%s clause %d: needs classes and a minShare in (0, 1]", user, j+1))
			}
			c.ids = nil
			for _, cl := range c.Classes {
				id, ok := s.index[cl]
				if !ok {
					errs = append(errs, fmt.Errorf("%s clause %d: no class %q", user, j+1, cl))
					continue
				}
				if slices.Contains(c.ids, id) {
					errs = append(errs, fmt.Errorf("%s clause %d: class %q given twice", user, j+1, cl))
				}
				c.ids = append(c.ids, id)
			}
		}
	}
	return errs
}

func validShare(s float64) bool { return s > 0 && s <= 1 }

// scene returns the scene set "cityscapes" or "pascal", nil for another
// name.
func (t *taxonomy) scene(name string) *sceneSet { return t.scenes[name] }

// supported returns the labels that shares (each class's fraction of the
// image's pixels, by output id) support, each once with its strongest
// evidence, by decreasing Ratio. The hierarchy is not applied: pass the
// names on to expand.
func (s *sceneSet) supported(shares []float64) ([]sceneLabel, error) {
	if len(shares) != len(s.Classes) {
		return nil, fmt.Errorf("%d class shares for %d classes", len(shares), len(s.Classes))
	}
	best := map[string]sceneLabel{}
	add := func(name string, share, ratio float64) {
		if b, ok := best[name]; !ok || ratio > b.Ratio {
			best[name] = sceneLabel{Name: name, Share: share, Ratio: ratio}
		}
	}
	for i, c := range s.Classes {
		if c.Labels == nil || len(*c.Labels) == 0 || shares[i] < c.MinShare {
			continue
		}
		for _, n := range *c.Labels {
			add(n, shares[i], shares[i]/c.MinShare)
		}
	}
	for _, r := range s.Rules {
		share, ratio := 0.0, 0.0
		for j, c := range r.All {
			sum := 0.0
			for _, id := range c.ids {
				sum += shares[id]
			}
			q := sum / c.MinShare
			if j == 0 {
				share, ratio = sum, q
			}
			ratio = min(ratio, q)
		}
		if ratio < 1 {
			continue
		}
		for _, n := range r.Labels {
			add(n, share, ratio)
		}
	}
	out := make([]sceneLabel, 0, len(best))
	for _, l := range best {
		out = append(out, l)
	}
	slices.SortFunc(out, func(a, b sceneLabel) int {
		if c := cmp.Compare(b.Ratio, a.Ratio); c != 0 {
			return c
		}
		return cmp.Compare(a.Name, b.Name)
	})
	return out, nil
}

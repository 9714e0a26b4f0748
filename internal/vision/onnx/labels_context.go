package onnx

import (
	"fmt"
	"math"
)

// contextRule (taxonomy.json "context") says what a photo's content
// implies about the photo as a whole: a sky, a mountain or a tree makes
// it an outdoor photo, a couch or a bed an indoor one. The label's
// probability becomes at least Weight times the best probability among
// From (combined with its own evidence as another witness).
type contextRule struct {
	Label  string   `json:"label"`
	Weight float64  `json:"weight"`
	From   []string `json:"from"`
}

func (t *taxonomy) validateContext() []error {
	var errs []error
	for i, r := range t.context {
		user := fmt.Sprintf("context rule %d (%s)", i+1, r.Label)
		if r.Weight <= 0 || r.Weight > 1 || len(r.From) == 0 {
			errs = append(errs, fmt.Errorf("%s: needs from labels and a weight in (0, 1]", user))
		}
		errs = append(errs, t.declared(user, append([]string{r.Label}, r.From...))...)
	}
	return errs
}

// applyContext raises, in p (label probabilities), each context rule's
// label by its evidence, in rule order (a later rule may build on an
// earlier one).
func (t *taxonomy) applyContext(p map[string]float64) {
	for _, r := range t.context {
		best := 0.0
		for _, f := range r.From {
			best = math.Max(best, p[f])
		}
		if best <= 0 {
			continue
		}
		p[r.Label] = 1 - (1-p[r.Label])*(1-r.Weight*best)
	}
}

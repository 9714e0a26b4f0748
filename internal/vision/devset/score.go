package devset

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
)

// Score counts labels over a group of photos. Rates are micro-averaged:
// every expected label weighs the same, whichever photo it is on.
type Score struct {
	Photos int `json:"photos"`
	// Expected is the number of expected labels; Found how many of them
	// were among the top K returned.
	Expected int `json:"expected"`
	Found    int `json:"found"`
	// Returned is the number of labels among the top K returned; Correct
	// how many of them are expected or acceptable.
	Returned int `json:"returned"`
	Correct  int `json:"correct"`
}

// Recall is Found/Expected (recall@K); 0 with nothing expected.
func (s Score) Recall() float64 { return ratio(s.Found, s.Expected) }

// Precision is Correct/Returned; 0 with nothing returned.
func (s Score) Precision() float64 { return ratio(s.Correct, s.Returned) }

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

func (s *Score) add(o Score) {
	s.Photos += o.Photos
	s.Expected += o.Expected
	s.Found += o.Found
	s.Returned += o.Returned
	s.Correct += o.Correct
}

// PhotoScore is one photo's account.
type PhotoScore struct {
	ID    string `json:"id"`
	Scene string `json:"scene"`
	Split string `json:"split"`
	Score
	// Labels are the top K returned labels, in rank order.
	Labels []string `json:"labels"`
	// Missing are the expected labels not among them; Unexpected the
	// returned ones that are neither expected nor acceptable.
	Missing    []string `json:"missing"`
	Unexpected []string `json:"unexpected"`
}

// Report is the result of Evaluate.
type Report struct {
	K       int              `json:"k"`
	Overall Score            `json:"overall"`
	Scenes  map[string]Score `json:"scenes"`
	Splits  map[string]Score `json:"splits"`
	Photos  []PhotoScore     `json:"photos"`
}

// Evaluate scores returned labels (photo id -> label names in rank order,
// already filtered by MinConfidence) against the photos' lists, taking the
// first k of each. Names compare without regard to case or spacing, and a
// name returned twice counts once. Every photo must have an entry (an
// empty list is a valid answer); ids without a photo are errors too.
func Evaluate(photos []Photo, returned map[string][]string, k int) (*Report, error) {
	if k <= 0 {
		return nil, fmt.Errorf("evaluate: k = %d, want at least 1", k)
	}
	var errs []error
	known := map[string]bool{}
	for _, ph := range photos {
		known[ph.ID] = true
		if _, ok := returned[ph.ID]; !ok {
			errs = append(errs, fmt.Errorf("photo %s: no labels recorded", ph.ID))
		}
	}
	for id := range returned {
		if !known[id] {
			errs = append(errs, fmt.Errorf("labels for unknown photo %q", id))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("evaluate: %w", err)
	}
	r := &Report{K: k, Scenes: map[string]Score{}, Splits: map[string]Score{}}
	for _, ph := range photos {
		ps := scorePhoto(ph, returned[ph.ID], k)
		r.Photos = append(r.Photos, ps)
		r.Overall.add(ps.Score)
		sc := r.Scenes[ph.Scene]
		sc.add(ps.Score)
		r.Scenes[ph.Scene] = sc
		sp := r.Splits[ph.Split]
		sp.add(ps.Score)
		r.Splits[ph.Split] = sp
	}
	return r, nil
}

func scorePhoto(ph Photo, labels []string, k int) PhotoScore {
	ps := PhotoScore{ID: ph.ID, Scene: ph.Scene, Split: ph.Split, Labels: []string{}, Missing: []string{}, Unexpected: []string{}}
	ps.Photos = 1
	top := map[string]bool{}
	for _, l := range labels {
		key := labelKey(l)
		if key == "" || top[key] {
			continue
		}
		if len(ps.Labels) == k {
			break
		}
		top[key] = true
		ps.Labels = append(ps.Labels, l)
	}
	good := map[string]bool{}
	for _, l := range ph.Expected {
		good[labelKey(l)] = true
		ps.Expected++
		if top[labelKey(l)] {
			ps.Found++
		} else {
			ps.Missing = append(ps.Missing, l)
		}
	}
	for _, l := range ph.Acceptable {
		good[labelKey(l)] = true
	}
	for _, l := range ps.Labels {
		ps.Returned++
		if good[labelKey(l)] {
			ps.Correct++
		} else {
			ps.Unexpected = append(ps.Unexpected, l)
		}
	}
	return ps
}

// WriteSummary prints the overall, per-split and per-scene figures.
func (r *Report) WriteSummary(w io.Writer) {
	row := func(name string, s Score) {
		fmt.Fprintf(w, "%-9s %4d photos  recall@%d %.3f (%d/%d)  precision %.3f (%d/%d)\n",
			name, s.Photos, r.K, s.Recall(), s.Found, s.Expected, s.Precision(), s.Correct, s.Returned)
	}
	row("overall", r.Overall)
	for _, k := range sortedKeys(r.Splits) {
		row(k, r.Splits[k])
	}
	for _, k := range sortedKeys(r.Scenes) {
		row(k, r.Scenes[k])
	}
}

// WritePhotos prints one line per photo: what was returned, what was
// missed and what was wrong.
func (r *Report) WritePhotos(w io.Writer) {
	for _, p := range r.Photos {
		fmt.Fprintf(w, "%-28s %-7s %-5s found %d/%d correct %d/%d  missing [%s]  unexpected [%s]  returned [%s]\n",
			p.ID, p.Scene, p.Split, p.Found, p.Expected, p.Correct, p.Returned,
			strings.Join(p.Missing, ", "), strings.Join(p.Unexpected, ", "), strings.Join(p.Labels, ", "))
	}
}

func sortedKeys(m map[string]Score) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// Floor is the committed minimum of the overall figures: a run below it
// is a regression.
type Floor struct {
	Comment   string  `json:"comment,omitempty"`
	K         int     `json:"k"`
	Recall    float64 `json:"recall"`
	Precision float64 `json:"precision"`
}

// LoadFloor reads a floor file.
func LoadFloor(path string) (Floor, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Floor{}, fmt.Errorf("read floor: %w", err)
	}
	var f Floor
	if err := json.Unmarshal(data, &f); err != nil {
		return Floor{}, fmt.Errorf("parse floor %s: %w", path, err)
	}
	if f.K <= 0 || f.Recall < 0 || f.Recall > 1 || f.Precision < 0 || f.Precision > 1 {
		return Floor{}, fmt.Errorf("floor %s: k %d, recall %v and precision %v out of range", path, f.K, f.Recall, f.Precision)
	}
	return f, nil
}

// ErrBelowFloor is returned by CheckFloor when a figure regressed.
var ErrBelowFloor = errors.New("below the committed floor")

// CheckFloor compares the overall figures with f.
func (r *Report) CheckFloor(f Floor) error {
	if f.K != r.K {
		return fmt.Errorf("floor is for k = %d, report for k = %d", f.K, r.K)
	}
	var errs []error
	if got := r.Overall.Recall(); got < f.Recall {
		errs = append(errs, fmt.Errorf("recall@%d %.3f: %w %.3f", r.K, got, ErrBelowFloor, f.Recall))
	}
	if got := r.Overall.Precision(); got < f.Precision {
		errs = append(errs, fmt.Errorf("precision %.3f: %w %.3f", got, ErrBelowFloor, f.Precision))
	}
	return errors.Join(errs...)
}

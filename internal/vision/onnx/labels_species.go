package onnx

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// speciesKinds are the iNaturalist classifiers' species sets.
var speciesKinds = []string{"bird", "insect"}

// speciesRules turn an iNaturalist label line, "Genus species (Common
// Name)", into a child label: the common name, under the group whose
// phrase is the longest word-suffix of it ("Blue Jay" under Jay), else the
// group listing its genus, else Default (taxonomy.json "species").
type speciesRules struct {
	Default string              `json:"default"`
	Groups  map[string][]string `json:"groups"` // group label -> phrases
	Genera  map[string][]string `json:"genera"` // group label -> genera
	phrases map[string]string   // normalized phrase -> group label
	genera  map[string]string   // genus -> group label
}

func (t *taxonomy) validateSpecies() []error {
	var errs []error
	for _, kind := range speciesKinds {
		if t.speciesSets[kind] == nil {
			errs = append(errs, fmt.Errorf("species: no %q rules", kind))
		}
	}
	for _, kind := range sortedKeys(t.speciesSets) {
		r := t.speciesSets[kind]
		if !slices.Contains(speciesKinds, kind) {
			errs = append(errs, fmt.Errorf("species: unknown kind %q", kind))
			continue
		}
		if r == nil {
			continue
		}
		user := "species " + kind
		if _, ok := t.labels[r.Default]; !ok {
			errs = append(errs, fmt.Errorf("%s: default label %q is not declared", user, r.Default))
			continue
		}
		r.phrases, r.genera = map[string]string{}, map[string]string{}
		for _, g := range sortedKeys(r.Groups) {
			errs = append(errs, t.groupUnder(user, g, r.Default)...)
			for _, p := range r.Groups[g] {
				n := normalizeName(p)
				if n == "" {
					errs = append(errs, fmt.Errorf("%s group %q: empty phrase", user, g))
				} else if other, dup := r.phrases[n]; dup {
					errs = append(errs, fmt.Errorf("%s: phrase %q is in groups %q and %q", user, p, other, g))
				}
				r.phrases[n] = g
			}
		}
		for _, g := range sortedKeys(r.Genera) {
			errs = append(errs, t.groupUnder(user, g, r.Default)...)
			for _, genus := range r.Genera[g] {
				if other, dup := r.genera[genus]; dup {
					errs = append(errs, fmt.Errorf("%s: genus %q is in groups %q and %q", user, genus, other, g))
				}
				r.genera[genus] = g
			}
		}
	}
	return errs
}

// groupUnder checks a group label is declared and is, or descends from,
// the default label.
func (t *taxonomy) groupUnder(user, group, def string) []error {
	if _, ok := t.labels[group]; !ok {
		return []error{fmt.Errorf("%s: group label %q is not declared", user, group)}
	}
	if group != def && !slices.Contains(t.ancestors[group], def) {
		return []error{fmt.Errorf("%s: group label %q is not under %q", user, group, def)}
	}
	return nil
}

// species names the child label a line of the kind's label file ("bird"
// or "insect") gives, and all its ancestors. A common name that is a
// declared label under the kind's default keeps its declared hierarchy;
// a line without a usable common name (none, a hybrid, a name the
// taxonomy uses for something else) gives its group label. The background
// line, a malformed line or an unknown kind give "".
func (t *taxonomy) species(kind, line string) (label string, parents []string) {
	r := t.speciesSets[kind]
	genus, common, exact, ok := parseSpeciesLine(line)
	if r == nil || !ok {
		return "", nil
	}
	group := r.group(genus, common)
	if !exact {
		return group, t.ancestors[group]
	}
	if _, declared := t.labels[common]; declared {
		if common == r.Default || slices.Contains(t.ancestors[common], r.Default) {
			return common, t.ancestors[common]
		}
		if t.speciesKind[common] == "" {
			return group, t.ancestors[group]
		}
	}
	parents = append([]string{group}, t.ancestors[group]...)
	slices.Sort(parents)
	return common, slices.Compact(parents)
}

// group is the group label of a species.
func (r *speciesRules) group(genus, common string) string {
	words := strings.Fields(normalizeName(common))
	for i := range words {
		if g, ok := r.phrases[strings.Join(words[i:], " ")]; ok {
			return g
		}
	}
	if g, ok := r.genera[genus]; ok {
		return g
	}
	return r.Default
}

// addSpecies declares the species labels of a kind's label file (its
// lines, in output order) so that expand fills their Parents and
// Categories (the default label's), and returns the label of each output
// ("" for background). Call it before the taxonomy is shared: it is not
// safe for concurrent use.
func (t *taxonomy) addSpecies(kind string, lines []string) ([]string, error) {
	r := t.speciesSets[kind]
	if r == nil {
		return nil, fmt.Errorf("no species rules for %q", kind)
	}
	out := make([]string, len(lines))
	var errs []error
	for i, line := range lines {
		label, parents := t.species(kind, line)
		out[i] = label
		if label == "" {
			if line != "background" {
				errs = append(errs, fmt.Errorf("%s line %d %q: not a species line", kind, i+1, line))
			}
			continue
		}
		if _, declared := t.labels[label]; declared {
			if prev := t.speciesKind[label]; prev != "" && !slices.Equal(t.ancestors[label], parents) {
				errs = append(errs, fmt.Errorf("%s line %d: %q has parents %v, and %v from %s", kind, i+1, label, parents, t.ancestors[label], prev))
			}
			continue
		}
		t.labels[label] = taxonomyEntry{Categories: t.labels[r.Default].Categories}
		t.ancestors[label] = parents
		t.speciesKind[label] = kind
	}
	return out, errors.Join(errs...)
}

// parseSpeciesLine splits "Genus species [subspecies] (Common Name)" into
// the genus and a clean common name: the file's escapes (\xd7, \u2019)
// decoded, a parenthesised qualifier and "ssp. ..." dropped. exact is false
// when the name is not a species' own (empty, or a hybrid's, of which name
// is the first parent's). ok is false for a line of another form
// (background).
func parseSpeciesLine(line string) (genus, name string, exact, ok bool) {
	line = strings.NewReplacer(`\xd7`, "×", `\u2019`, "'", "’", "'").Replace(strings.TrimSpace(line))
	open := strings.Index(line, " (")
	if open <= 0 || !strings.HasSuffix(line, ")") {
		return "", "", false, false
	}
	genus, _, _ = strings.Cut(line[:open], " ")
	name = strings.TrimSpace(line[open+2 : len(line)-1])
	if i := strings.LastIndex(name, " ("); i > 0 && strings.HasSuffix(name, ")") {
		name = strings.TrimSpace(name[:i])
	}
	if i := strings.Index(name, " ssp. "); i > 0 {
		name = name[:i]
	}
	name = strings.Join(strings.Fields(name), " ")
	exact = name != ""
	if first, _, hybrid := strings.Cut(name, "×"); hybrid || strings.HasSuffix(strings.ToLower(name), " hybrid") {
		name, exact = strings.TrimSpace(strings.TrimSuffix(first, " hybrid")), false
	}
	return genus, name, exact, true
}

// normalizeName is a common name as the phrase match sees it: lower case,
// hyphens as spaces, single spaces.
func normalizeName(s string) string {
	return strings.Join(strings.Fields(strings.ToLower(strings.ReplaceAll(s, "-", " "))), " ")
}

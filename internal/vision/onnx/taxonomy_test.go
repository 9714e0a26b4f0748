package onnx

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/imagerec/imagerec/internal/vision"
)

func names(ns []vision.NameOnly) []string {
	out := make([]string, len(ns))
	for i, n := range ns {
		out[i] = n.Name
	}
	return out
}

func TestTaxonomyEmbeddedIsValid(t *testing.T) {
	t.Parallel()
	tax, err := loadTaxonomy(taxonomyJSON)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cocoNames {
		name := tax.objectName(c)
		if len(tax.labels[name].Categories) == 0 {
			t.Errorf("%q (%s) has no category", name, c)
		}
	}
}

func TestTaxonomyRejects(t *testing.T) {
	t.Parallel()
	objects := `"objects": {}`
	for name, doc := range map[string]string{
		"syntax":         `{`,
		"unmapped class": `{` + objects + `, "labels": {}}`,
		"unknown parent": `{"objects": {}, "labels": {"A": {"parents": ["B"]}}}`,
		"cycle":          `{"labels": {"A": {"parents": ["B"]}, "B": {"parents": ["A"]}}}`,
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := loadTaxonomy([]byte(doc)); err == nil {
				t.Error("accepted")
			}
		})
	}
}

func TestTaxonomyExpand(t *testing.T) {
	t.Parallel()
	tax, err := loadTaxonomy(taxonomyJSON)
	if err != nil {
		t.Fatal(err)
	}
	in := []vision.Label{
		{Name: "Dog", Confidence: 90, Instances: []vision.Instance{{Confidence: 90}}},
		{Name: "Cat", Confidence: 60, Instances: []vision.Instance{{Confidence: 60}}},
		{Name: "Person", Confidence: 50},
		{Name: "Person", Confidence: 80},
	}
	got := tax.expand(in, 55, 0)
	byName := map[string]vision.Label{}
	var order []string
	for _, l := range got {
		byName[l.Name] = l
		order = append(order, l.Name)
	}
	wantOrder := []string{"Animal", "Canine", "Dog", "Mammal", "Pet", "Person", "Cat"}
	if diff := cmp.Diff(wantOrder, order); diff != "" {
		t.Errorf("order (-want +got):\n%s", diff)
	}
	dog := byName["Dog"]
	if diff := cmp.Diff([]string{"Animal", "Canine", "Mammal", "Pet"}, names(dog.Parents)); diff != "" {
		t.Errorf("Dog parents (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"Animals and Pets"}, names(dog.Categories)); diff != "" {
		t.Errorf("Dog categories: %s", diff)
	}
	if byName["Mammal"].Confidence != 90 || len(byName["Mammal"].Instances) != 0 || byName["Mammal"].Instances == nil {
		t.Errorf("Mammal = %+v, want confidence 90 and empty instances", byName["Mammal"])
	}
	if p := byName["Person"]; p.Confidence != 80 || !cmp.Equal(names(p.Aliases), []string{"Human"}) || p.Parents == nil {
		t.Errorf("Person = %+v", p)
	}
	if got := tax.expand(in, 55, 3); len(got) != 3 || got[0].Name != "Animal" {
		t.Errorf("MaxLabels 3 gave %v", got)
	}
	if got := tax.expand(nil, 55, 0); got == nil || len(got) != 0 {
		t.Errorf("no input gave %#v, want empty non-nil", got)
	}
}

func TestTaxonomyImpliedLabels(t *testing.T) {
	t.Parallel()
	tax, err := loadTaxonomy(taxonomyJSON)
	if err != nil {
		t.Fatal(err)
	}
	got := tax.expand([]vision.Label{{Name: "Face", Confidence: 99}, {Name: "Drawing", Confidence: 70}}, 55, 0)
	var ns []string
	for _, l := range got {
		ns = append(ns, l.Name)
	}
	if s := strings.Join(ns, ","); s != "Face,Head,Person,Art,Drawing" {
		t.Errorf("labels = %s", s)
	}
}

func TestImpliedLabels(t *testing.T) {
	t.Parallel()
	person := vision.Label{Name: "Person", Confidence: 40, Instances: []vision.Instance{
		{BoundingBox: vision.BoundingBox{Left: 0.1, Top: 0.1, Width: 0.3, Height: 0.8}},
	}}
	weakInPerson := vision.FaceDetail{Confidence: 70, BoundingBox: vision.BoundingBox{Left: 0.2, Top: 0.15, Width: 0.1, Height: 0.1}}
	weakAlone := vision.FaceDetail{Confidence: 75, BoundingBox: vision.BoundingBox{Left: 0.7, Top: 0.5, Width: 0.1, Height: 0.1}}
	strong := vision.FaceDetail{Confidence: 97, BoundingBox: vision.BoundingBox{Left: 0.7, Top: 0.5, Width: 0.1, Height: 0.1}}
	line := vision.TextDetection{Type: vision.TextLine, Confidence: 91}
	word := vision.TextDetection{Type: vision.TextWord, Confidence: 99}
	for _, tc := range []struct {
		name    string
		objects []vision.Label
		faces   []vision.FaceDetail
		texts   []vision.TextDetection
		scores  *nsfwScores
		want    string
	}{
		{"nothing", nil, nil, nil, nil, ""},
		{"weak face alone", nil, []vision.FaceDetail{weakAlone}, nil, nil, ""},
		{"weak face in a person", []vision.Label{person}, []vision.FaceDetail{weakInPerson, weakAlone}, nil, nil, "Face:70"},
		{"strong face", nil, []vision.FaceDetail{weakAlone, strong}, nil, nil, "Face:97"},
		{"text lines only", nil, nil, []vision.TextDetection{word, line}, nil, "Text:91"},
		{"drawing", nil, nil, nil, &nsfwScores{Drawing: 0.9, Neutral: 0.1}, "Drawing:90"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, l := range impliedLabels(tc.objects, tc.faces, tc.texts, tc.scores) {
				got = append(got, fmt.Sprintf("%s:%g", l.Name, l.Confidence))
			}
			if s := strings.Join(got, ","); s != tc.want {
				t.Errorf("got %q, want %q", s, tc.want)
			}
		})
	}
}

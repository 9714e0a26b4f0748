package shapetest_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/imagerec/imagerec/internal/shapetest"
)

func load(t *testing.T) *shapetest.Model {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "testdata", "rekognition", "shapes.json"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := shapetest.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestRecordedResponses checks the recorded fixtures against the shapes.
func TestRecordedResponses(t *testing.T) {
	t.Parallel()
	m := load(t)
	for _, op := range []string{"DetectLabels", "DetectFaces", "DetectText", "DetectModerationLabels", "SearchFacesByImage", "IndexFaces"} {
		t.Run(op, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("..", "..", "testdata", "rekognition", op+".json"))
			if err != nil {
				t.Fatal(err)
			}
			if probs := m.Check(m.Operations[op].Output, data); len(probs) > 0 {
				t.Errorf("%s.json does not conform:\n%s", op, strings.Join(probs, "\n"))
			}
		})
	}
}

func TestCheckFindsProblems(t *testing.T) {
	t.Parallel()
	m := load(t)
	tests := []struct {
		name, shape, doc, want string
	}{
		{"unknown member", "DetectLabelsResponse", `{"Labels":[],"Extra":1}`, `member "Extra"`},
		{"null list", "DetectLabelsResponse", `{"Labels":null}`, "null"},
		{"lower-case name", "DetectLabelsResponse", `{"labels":[]}`, `member "labels"`},
		{"string for number", "DetectLabelsResponse", `{"Labels":[{"Name":"x","Confidence":"99"}]}`, "want number"},
		{"float for integer", "DetectModerationLabelsResponse", `{"ModerationLabels":[{"TaxonomyLevel":1.5}]}`, "want integer"},
		{"bad enum", "DetectTextResponse", `{"TextDetections":[{"Type":"PARAGRAPH"}]}`, "not one of"},
		{"missing required", "DetectLabelsRequest", `{}`, `required member "Image"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			probs := m.Check(tt.shape, []byte(tt.doc))
			if !strings.Contains(strings.Join(probs, "\n"), tt.want) {
				t.Errorf("Check(%s) = %q, want a problem containing %q", tt.doc, probs, tt.want)
			}
		})
	}
	if probs := m.Check("DetectLabelsResponse", []byte(`{"Labels":[{"Name":"Car","Confidence":99.5,"Instances":[],"Parents":[{"Name":"Vehicle"}]}],"LabelModelVersion":"3.0"}`)); probs != nil {
		t.Errorf("valid document rejected: %q", probs)
	}
}

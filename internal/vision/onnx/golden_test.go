package onnx

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/imagerec/imagerec/internal/goldentest"
	"github.com/imagerec/imagerec/internal/vision"
)

// shapeOf reduces a decoded JSON value to its structure: objects keep their
// keys, arrays become one element that merges the shapes of all of theirs
// (or stay empty), scalars become their JSON type. Model outputs vary in
// their digits across CPUs; the contract (field names, nesting, which
// sections are present, [] versus absent) must not.
func shapeOf(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, e := range x {
			out[k] = shapeOf(e)
		}
		return out
	case []any:
		var m any
		for i, e := range x {
			if i == 0 {
				m = shapeOf(e)
			} else {
				m = mergeShapes(m, shapeOf(e))
			}
		}
		if m == nil {
			return []any{}
		}
		return []any{m}
	case string:
		return "string"
	case float64:
		return "number"
	case bool:
		return "bool"
	}
	return "null"
}

func mergeShapes(a, b any) any {
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok {
			return a
		}
		out := map[string]any{}
		for k, v := range x {
			out[k] = v
		}
		for k, v := range y {
			if w, ok := out[k]; ok {
				out[k] = mergeShapes(w, v)
			} else {
				out[k] = v
			}
		}
		return out
	case []any:
		y, ok := b.([]any)
		switch {
		case !ok || len(y) == 0:
			return a
		case len(x) == 0:
			return b
		}
		return []any{mergeShapes(x[0], y[0])}
	}
	return a
}

func TestGoldenResultShape(t *testing.T) {
	e := testEngine(t)
	for _, tc := range []struct {
		golden string
		photo  string
		opts   vision.Options
	}{
		{"labels_dog", "dog.jpg", vision.Options{Features: []vision.Feature{vision.FeatureLabels}}},
		{"moderation_dog", "dog.jpg", vision.Options{Features: []vision.Feature{vision.FeatureModeration}}},
		{"all_astronaut", "astronaut.jpg", vision.Options{}},
		// DetectFaces with Attributes ALL: every member the engine fills
		// in, and the landmark types in order.
		{"faces_astronaut", "astronaut.jpg", vision.Options{Features: []vision.Feature{vision.FeatureFaces}}},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			if tc.opts.Has(vision.FeatureFaces) && (e.faces == nil || len(e.faces.Models()) < 3 || e.text == nil || e.nsfw == nil) {
				t.Skip("not every model is installed")
			}
			res, err := e.Recognize(t.Context(), vision.Input{Bytes: photo(t, tc.photo)}, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			sh := shapeOf(resultJSON(t, res)).(map[string]any)
			// Faces and text have their own tests; here only their
			// presence as lists is part of the contract, so that the
			// detectors' changes (a text found on the patch...) do not
			// break this file.
			for _, k := range []string{"FaceDetails", "TextDetections"} {
				if _, ok := sh[k].([]any); ok && !strings.HasPrefix(tc.golden, "faces_") {
					sh[k] = "array"
				}
			}
			if strings.HasPrefix(tc.golden, "faces_") {
				if e.faces.mesh == nil {
					t.Skip("face mesh not installed")
				}
				var types []string
				for _, l := range res.FaceDetails[0].Landmarks {
					types = append(types, l.Type)
				}
				sh["LandmarkTypes"] = types
			}
			got, err := json.MarshalIndent(sh, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			path := filepath.Join("testdata", "golden", tc.golden+".json")
			goldentest.Compare(t, path, got)
		})
	}
}

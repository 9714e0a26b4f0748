package onnx

import (
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/imagerec/imagerec/internal/vision"
)

func TestParseNSFW(t *testing.T) {
	t.Parallel()
	s, err := parseNSFW([]float32{0.1, 0.05, 0.7, 0.1, 0.05})
	if err != nil || s.Neutral != float64(float32(0.7)) {
		t.Fatalf("probabilities: %+v %v", s, err)
	}
	// Logits are soft-maxed.
	s, err = parseNSFW([]float32{0, 0, 2, 0, 0})
	if err != nil {
		t.Fatal(err)
	}
	sum := s.Drawing + s.Hentai + s.Neutral + s.Porn + s.Sexy
	if math.Abs(sum-1) > 1e-9 || s.Neutral < 0.6 {
		t.Errorf("softmax: %+v", s)
	}
	if _, err := parseNSFW([]float32{1, 2}); err == nil {
		t.Error("short output accepted")
	}
}

func TestModerationLabels(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		s    nsfwScores
		min  float64
		want []vision.ModerationLabel
	}{
		{"neutral", nsfwScores{Neutral: 0.95, Sexy: 0.05}, 50, []vision.ModerationLabel{}},
		{"porn", nsfwScores{Porn: 0.8, Hentai: 0.1, Neutral: 0.1}, 50, []vision.ModerationLabel{
			{Name: "Explicit", Confidence: 90, TaxonomyLevel: 1},
			{Name: "Explicit Nudity", ParentName: "Explicit", Confidence: 90, TaxonomyLevel: 2},
		}},
		{"sexy", nsfwScores{Sexy: 0.7, Neutral: 0.3}, 50, []vision.ModerationLabel{
			{Name: "Swimwear or Underwear", Confidence: 70, TaxonomyLevel: 1},
		}},
		{"low threshold", nsfwScores{Sexy: 0.3, Porn: 0.2, Neutral: 0.5}, 10, []vision.ModerationLabel{
			{Name: "Swimwear or Underwear", Confidence: 30, TaxonomyLevel: 1},
			{Name: "Explicit", Confidence: 20, TaxonomyLevel: 1},
			{Name: "Explicit Nudity", ParentName: "Explicit", Confidence: 20, TaxonomyLevel: 2},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := moderationLabels(tc.s, tc.min)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestImpliedArtLabels(t *testing.T) {
	t.Parallel()
	got := impliedArtLabels(nsfwScores{Drawing: 0.6, Hentai: 0.2, Neutral: 0.2})
	if len(got) != 1 || got[0].Name != "Drawing" || math.Abs(got[0].Confidence-80) > 0.01 {
		t.Errorf("got %+v", got)
	}
}

func TestContentTypes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		s    nsfwScores
		want []vision.ContentType
	}{
		{"photo", nsfwScores{Neutral: 0.9, Drawing: 0.1}, []vision.ContentType{}},
		{"drawing", nsfwScores{Drawing: 0.7, Hentai: 0.1, Neutral: 0.2}, []vision.ContentType{{Name: "Illustrated", Confidence: 80}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(tc.want, contentTypes(tc.s, 50)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

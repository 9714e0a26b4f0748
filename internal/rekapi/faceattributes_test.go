package rekapi

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/imagerec/imagerec/internal/vision"
)

// TestAttributeFilterOmits: the attributes attributeFilter tells the
// engine to omit (vision.Options.OmitFaceAttributes) are exactly those its
// filter clears, so that an engine skipping their models changes no
// response.
func TestAttributeFilterOmits(t *testing.T) {
	t.Parallel()
	yes := &vision.BoolAttr{Value: true, Confidence: 90}
	full := vision.FaceDetail{
		AgeRange: &vision.AgeRange{Low: 20, High: 30}, Beard: yes, Emotions: []vision.Emotion{{Type: vision.EmotionHappy, Confidence: 90}},
		Eyeglasses: yes, EyesOpen: yes, Gender: &vision.GenderAttr{Value: "Male", Confidence: 90}, MouthOpen: yes,
		Mustache: yes, Smile: yes, Sunglasses: yes, EyeDirection: &vision.EyeDirection{}, FaceOccluded: yes,
	}
	tests := []struct {
		name  string
		attrs []string
		kept  []string
	}{
		{"none asked is DEFAULT", nil, nil},
		{"DEFAULT", []string{"DEFAULT"}, nil},
		{"ALL", []string{"ALL"}, []string{"AGE_RANGE", "BEARD", "EMOTIONS", "EYEGLASSES", "EYES_OPEN", "EYE_DIRECTION", "FACE_OCCLUDED", "GENDER", "MOUTH_OPEN", "MUSTACHE", "SMILE", "SUNGLASSES"}},
		{"two of them", []string{"DEFAULT", "SMILE", "AGE_RANGE"}, []string{"AGE_RANGE", "SMILE"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			keep, omit, err := attributeFilter(tt.attrs)
			if err != nil {
				t.Fatal(err)
			}
			b, err := json.Marshal(keep(full))
			if err != nil {
				t.Fatal(err)
			}
			var got map[string]any
			if err := json.Unmarshal(b, &got); err != nil {
				t.Fatal(err)
			}
			for name := range faceAttributes {
				_, present := got[jsonName(name)]
				if present != slices.Contains(tt.kept, name) {
					t.Errorf("%s in the response: %v, want %v", name, present, !present)
				}
				if slices.Contains(omit, name) == present {
					t.Errorf("%s omitted: %v, in the response: %v", name, !present, present)
				}
			}
		})
	}
}

// jsonName is FaceDetail's JSON member for an attribute name: AGE_RANGE
// is AgeRange.
func jsonName(attr string) string {
	var b strings.Builder
	for _, w := range strings.Split(strings.ToLower(attr), "_") {
		b.WriteString(strings.ToUpper(w[:1]) + w[1:])
	}
	return b.String()
}

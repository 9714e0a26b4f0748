//go:build aws

package rekognition_test

// Against the real Amazon Rekognition: go test -tags aws ./internal/vision/rekognition/
// Credentials and region come from the usual AWS environment (AWS_PROFILE,
// AWS_REGION...). Four Detect calls per run are billed.

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/config"
	awsrek "github.com/aws/aws-sdk-go-v2/service/rekognition"

	"github.com/imagerec/imagerec/internal/vision"
	"github.com/imagerec/imagerec/internal/vision/rekognition"
)

func TestRealRekognition(t *testing.T) {
	cfg, err := config.LoadDefaultConfig(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	photo, err := os.ReadFile(filepath.Join("..", "..", "..", "testdata", "images", "dog.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	eng := rekognition.New(awsrek.NewFromConfig(cfg), rekognition.Options{})
	res, err := eng.Recognize(t.Context(), vision.Input{Bytes: photo, Name: "dog.jpg"}, vision.Options{})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, l := range res.Labels {
		if l.Name == "Dog" {
			found = true
		}
	}
	if !found || res.LabelModelVersion == "" || res.ImageProperties == nil || res.ModerationLabels == nil || res.TextDetections == nil || res.FaceDetails == nil {
		t.Errorf("unexpected result: labels %d (Dog %v), model %q", len(res.Labels), found, res.LabelModelVersion)
	}
	_, err = eng.Recognize(t.Context(), vision.Input{Bytes: []byte("not an image")}, vision.Options{})
	if vision.CodeOf(err) != vision.CodeInvalidImageFormat {
		t.Errorf("garbage: %v", err)
	}
}

//go:build aws

package rekognition_test

// Against the real Amazon Rekognition: go test -tags aws ./internal/vision/rekognition/
// Credentials and region come from the usual AWS environment (AWS_PROFILE,
// AWS_REGION...). Four Detect calls per run are billed.

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

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

// TestRealFaceSearch runs the pipeline's face search against a real
// collection (created and deleted here): bar55.jpg's faces are indexed,
// bar55-2.jpg (the same two people) must find them. About a dozen billed
// calls per run.
func TestRealFaceSearch(t *testing.T) {
	cfg, err := config.LoadDefaultConfig(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	client := awsrek.NewFromConfig(cfg)
	id := fmt.Sprintf("imagerec-test-%d", time.Now().UnixNano())
	if _, err := client.CreateCollection(t.Context(), &awsrek.CreateCollectionInput{CollectionId: &id}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := client.DeleteCollection(context.Background(), &awsrek.DeleteCollectionInput{CollectionId: &id}); err != nil {
			t.Errorf("delete collection %s: %v", id, err)
		}
	})
	eng := rekognition.New(client, rekognition.Options{})
	search := func(name string, index bool) *vision.FaceSearch {
		t.Helper()
		photo, err := os.ReadFile(filepath.Join("..", "..", "..", "testdata", "images", name))
		if err != nil {
			t.Fatal(err)
		}
		in := vision.Input{Bytes: photo, Name: name}
		res, err := eng.Recognize(t.Context(), in, vision.Options{Features: []vision.Feature{vision.FeatureFaces}})
		if err != nil {
			t.Fatal(err)
		}
		fs, err := eng.SearchFaces(t.Context(), in, res, vision.FaceSearchOptions{CollectionID: id, Index: index, ExternalImageID: vision.ExternalImageID(name)})
		if err != nil {
			t.Fatal(err)
		}
		return fs
	}
	if first := search("bar55.jpg", true); len(first.IndexedFaces) < 2 {
		t.Fatalf("bar55.jpg: %d faces indexed, want the two people", len(first.IndexedFaces))
	}
	matched := 0
	for _, f := range search("bar55-2.jpg", false).Faces {
		for _, m := range f.FaceMatches {
			if m.Face.ExternalImageID != "bar55.jpg" {
				t.Errorf("match %+v", m)
			}
			matched++
		}
	}
	if matched == 0 {
		t.Error("bar55-2.jpg matched none of bar55.jpg's faces")
	}
}

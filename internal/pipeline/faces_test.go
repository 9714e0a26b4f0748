package pipeline_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"

	"github.com/imagerec/imagerec/internal/facecollection"
	"github.com/imagerec/imagerec/internal/pipeline"
	"github.com/imagerec/imagerec/internal/vision"
)

// faceRecognizer finds one clear face with a fixed descriptor in every
// image and records whether descriptors were asked for.
type faceRecognizer struct {
	desc []float32
	mu   sync.Mutex
	asks []bool
}

func (f *faceRecognizer) Recognize(_ context.Context, _ vision.Input, opts vision.Options) (*vision.Result, error) {
	f.mu.Lock()
	f.asks = append(f.asks, opts.FaceDescriptors)
	f.mu.Unlock()
	res := &vision.Result{Image: &vision.ImageInfo{Width: 800, Height: 600, Format: "png"}}
	if opts.Has(vision.FeatureFaces) {
		fd := vision.FaceDetail{
			BoundingBox: vision.BoundingBox{Width: 0.3, Height: 0.4, Left: 0.2, Top: 0.1},
			Confidence:  99.9, Quality: vision.ImageQuality{Brightness: 70, Sharpness: 80},
		}
		if opts.FaceDescriptors {
			fd.Descriptor = f.desc
		}
		res.FaceDetails = []vision.FaceDetail{fd}
	}
	return res, nil
}

// TestRecognizeSearchesFaces: with FaceCollection and Faces (a real
// facecollection.Store), every image's faces are searched, indexed under
// the object key, and the result document gains FaceSearch; a collection
// deleted meanwhile fails the image with ResourceNotFoundException and an
// error document that says the image is kept.
func TestRecognizeSearchesFaces(t *testing.T) {
	t.Parallel()
	store, err := facecollection.Open(t.TempDir(), facecollection.Options{FaceModelVersion: "test-1", Dim: 4})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.Create("family"); err != nil {
		t.Fatal(err)
	}
	rec := &faceRecognizer{desc: []float32{1, 0, 0, 0}}
	tasks, objs := setup(t, rec)
	tasks.FaceCollection, tasks.IndexFaces, tasks.Faces = "family", true, store
	recognize := func(key string) (*vision.Result, error) {
		t.Helper()
		put(t, objs, key, pngBytes(t))
		out, err := tasks.Recognize(t.Context(), pipeline.RecognizeInput{Source: pipeline.Source{Bucket: "uploads", Key: key}, ResultBucket: "results"})
		if err != nil {
			return nil, err
		}
		return inlineResult(t, out), nil
	}

	first, err := recognize("2026/alice one.png")
	if err != nil {
		t.Fatal(err)
	}
	if fs := first.FaceSearch; fs == nil || len(fs.Faces) != 1 || len(fs.Faces[0].FaceMatches) != 0 || len(fs.IndexedFaces) != 1 || fs.IndexedFaces[0].ExternalImageID != "2026:alice_one.png" {
		t.Fatalf("first image: FaceSearch %+v", fs)
	}
	second, err := recognize("2026/alice two.png")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := json.Marshal(second)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		FaceDetails []map[string]any
		FaceSearch  struct {
			CollectionID string `json:"CollectionId"`
			Faces        []struct {
				FaceMatches []struct {
					Similarity float64
					Face       struct {
						ExternalImageID string `json:"ExternalImageId"`
					}
				}
			}
		}
	}
	if err := json.Unmarshal(doc, &got); err != nil {
		t.Fatal(err)
	}
	if fs := got.FaceSearch; fs.CollectionID != "family" || len(fs.Faces) != 1 || len(fs.Faces[0].FaceMatches) != 1 ||
		fs.Faces[0].FaceMatches[0].Face.ExternalImageID != "2026:alice_one.png" || fs.Faces[0].FaceMatches[0].Similarity < 99 {
		t.Errorf("second image's document: %s", doc)
	}
	if _, ok := got.FaceDetails[0]["Descriptor"]; ok {
		t.Error("the descriptor leaked into the document")
	}

	// Without FaceCollection nothing is searched and no descriptor asked for.
	plain, plainObjs := setup(t, rec)
	put(t, plainObjs, "x.png", pngBytes(t))
	if out, err := plain.Recognize(t.Context(), pipeline.RecognizeInput{Source: pipeline.Source{Bucket: "uploads", Key: "x.png"}}); err != nil || inlineResult(t, out).FaceSearch != nil {
		t.Errorf("no collection: %s, %v", out.Result, err)
	}
	rec.mu.Lock()
	if asks := rec.asks; len(asks) != 3 || !asks[0] || !asks[1] || asks[2] {
		t.Errorf("FaceDescriptors asked: %v, want true, true, false", asks)
	}
	rec.mu.Unlock()

	// The collection is deleted while serving.
	if err := store.Delete("family"); err != nil {
		t.Fatal(err)
	}
	_, err = recognize("late.png")
	if pipeline.ErrorName(err) != pipeline.ErrNameResourceNotFound || !strings.Contains(err.Error(), "backfill --force --prefix late.png`") {
		t.Fatalf("deleted collection: %v (name %q)", err, pipeline.ErrorName(err))
	}
	_, err = recognize("it's late.png")
	if pipeline.ErrorName(err) != pipeline.ErrNameResourceNotFound || !strings.Contains(err.Error(), `backfill --force --prefix 'it'\''s late.png'`) {
		t.Fatalf("deleted collection: %v (name %q)", err, pipeline.ErrorName(err))
	}
	src := pipeline.Source{Bucket: "uploads", Key: "it's late.png"}
	stored, err := tasks.Store(t.Context(), pipeline.StoreInput{Source: src, ResultBucket: "results", Failure: &pipeline.Failure{Error: pipeline.ErrorName(err), Cause: err.Error()}})
	if err != nil {
		t.Fatal(err)
	}
	var ed pipeline.ErrorDocument
	if err := json.Unmarshal(read(t, objs, "results", stored.Key), &ed); err != nil {
		t.Fatal(err)
	}
	if ed.Error != "ResourceNotFoundException" || !strings.Contains(ed.Message, "The collection id: family does not exist") || !strings.Contains(ed.Message, "the image is kept") {
		t.Errorf("error document %+v", ed)
	}
	if len(read(t, objs, "uploads", "it's late.png")) == 0 {
		t.Error("the upload is gone")
	}
}

func TestExternalImageID(t *testing.T) {
	t.Parallel()
	tests := []struct{ key, want string }{
		{"photo.jpg", "photo.jpg"},
		{"2026/12/party night.jpg", "2026:12:party_night.jpg"},
		{"ünï+%.png", "__n____.png"},
		{"", "_"},
		{strings.Repeat("k", 300), strings.Repeat("k", 255)},
	}
	for _, tt := range tests {
		if got := vision.ExternalImageID(tt.key); got != tt.want {
			t.Errorf("ExternalImageID(%q) = %q, want %q", tt.key, got, tt.want)
		}
	}
}

// inlineResult decodes the result Recognize passed inline.
func inlineResult(t *testing.T, out pipeline.RecognizeOutput) *vision.Result {
	t.Helper()
	var res vision.Result
	if err := json.Unmarshal(out.Result, &res); err != nil {
		t.Fatalf("inline result: %v (%+v)", err, out)
	}
	return &res
}

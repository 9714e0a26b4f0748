package facecollection

import (
	"errors"
	"math"
	"testing"

	"github.com/imagerec/imagerec/internal/pipeline"
	"github.com/imagerec/imagerec/internal/vision"
)

var _ pipeline.FaceSearcher = (*Store)(nil)

// person returns the descriptor of person k in photo variant v: the basis
// vector k, tilted by v towards k+1 (cosine 1/sqrt(1+v²) between variants
// of one person, at most v/sqrt(1+v²) between different people).
func person(k int, v float32) []float32 {
	d := make([]float32, testDim)
	d[k%testDim] = 1
	d[(k+1)%testDim] = v
	n := float32(math.Sqrt(float64(1 + v*v)))
	for i := range d {
		d[i] /= n
	}
	return d
}

// detected is a clear, frontal face of a 1000x800 photo, as the engine
// reports it with descriptors asked for.
func detected(desc []float32, left float64) vision.FaceDetail {
	return vision.FaceDetail{
		BoundingBox: vision.BoundingBox{Width: 0.2, Height: 0.25, Left: left, Top: 0.2},
		Confidence:  99.5, Quality: vision.ImageQuality{Brightness: 60, Sharpness: 70}, Descriptor: desc,
	}
}

func photoResult(faces ...vision.FaceDetail) *vision.Result {
	return &vision.Result{FaceDetails: faces, Image: &vision.ImageInfo{Width: 1000, Height: 800, Format: "jpeg"}}
}

// TestSearchFacesPipeline: what imagerec serve --face-collection X
// --index-faces does with each upload's faces.
func TestSearchFacesPipeline(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s, err := Open(dir, testOpts())
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	search := func(ext string, index bool, res *vision.Result) *vision.FaceSearch {
		t.Helper()
		fs, err := s.SearchFaces(ctx, vision.Input{}, res, vision.FaceSearchOptions{CollectionID: "family", Index: index, ExternalImageID: ext})
		if err != nil {
			t.Fatalf("%s: %v", ext, err)
		}
		if fs.CollectionID != "family" || len(fs.Faces) != len(res.FaceDetails) {
			t.Fatalf("%s: FaceSearch %+v for %d faces", ext, fs, len(res.FaceDetails))
		}
		return fs
	}

	// Before the collection exists: an image with faces fails with
	// Rekognition's code, one without does not touch the collection.
	_, err = s.SearchFaces(ctx, vision.Input{}, photoResult(detected(person(0, 0), 0.1)), vision.FaceSearchOptions{CollectionID: "family", Index: true, ExternalImageID: "a.jpg"})
	if vision.CodeOf(err) != vision.CodeResourceNotFound || pipeline.ErrorName(err) != pipeline.ErrNameResourceNotFound {
		t.Fatalf("missing collection: %v", err)
	}
	if fs := search("empty.jpg", true, photoResult()); fs.Faces == nil || fs.IndexedFaces != nil {
		t.Errorf("no faces: %+v", fs)
	}
	if _, err := s.Create("family"); err != nil {
		t.Fatal(err)
	}

	// alice.jpg: Alice and Bob, and a blurred face the AUTO filter keeps out.
	blurred := detected(person(4, 0), 0.7)
	blurred.Quality.Sharpness = 2
	first := search("alice.jpg", true, photoResult(detected(person(0, 0), 0.1), detected(person(2, 0), 0.4), blurred))
	for i, f := range first.Faces {
		if f.FaceMatches == nil || len(f.FaceMatches) != 0 || f.FaceModelVersion != "test-1" {
			t.Errorf("face %d of the first image: %+v, want no matches", i, f)
		}
	}
	if len(first.IndexedFaces) != 2 || first.IndexedFaces[0].ExternalImageID != "alice.jpg" || first.IndexedFaces[0].ImageID != first.IndexedFaces[1].ImageID {
		t.Fatalf("IndexedFaces %+v, want Alice and Bob under one ImageId", first.IndexedFaces)
	}

	// party.jpg: Alice again in another photo, and Carol.
	second := search("party.jpg", false, photoResult(detected(person(0, 0.3), 0.5), detected(person(8, 0), 0.1)))
	m := second.Faces[0].FaceMatches
	if len(m) != 1 || m[0].Face.ExternalImageID != "alice.jpg" || m[0].Face.FaceID != first.IndexedFaces[0].FaceID || m[0].Similarity < 80 {
		t.Errorf("Alice's matches %+v, want her face of alice.jpg", m)
	}
	if second.Faces[0].SearchedFaceBoundingBox.Left != 0.5 || len(second.Faces[1].FaceMatches) != 0 || second.IndexedFaces != nil {
		t.Errorf("second image: %+v", second)
	}

	// alice.jpg again (a retry, or a new upload under the key): it does not
	// match its own faces, and its faces replace those of the first run.
	again := search("alice.jpg", true, photoResult(detected(person(0, 0), 0.1), detected(person(2, 0), 0.4)))
	if len(again.Faces[0].FaceMatches) != 0 || len(again.IndexedFaces) != 2 {
		t.Errorf("re-run: %+v", again)
	}
	if info, _ := s.Describe("family"); info.FaceCount != 2 {
		t.Errorf("%d faces after the re-run, want 2", info.FaceCount)
	}

	// Durable: a reopened store finds the faces.
	s2, err := Open(dir, testOpts())
	if err != nil {
		t.Fatal(err)
	}
	fs, err := s2.SearchFaces(ctx, vision.Input{}, photoResult(detected(person(2, 0.2), 0.3)), vision.FaceSearchOptions{CollectionID: "family", ExternalImageID: "bob.jpg"})
	if err != nil || len(fs.Faces[0].FaceMatches) != 1 || fs.Faces[0].FaceMatches[0].Face.FaceID != again.IndexedFaces[1].FaceID {
		t.Errorf("after reopening: %+v, %v", fs, err)
	}
}

func TestSearchFacesErrors(t *testing.T) {
	t.Parallel()
	s, err := Open(t.TempDir(), testOpts())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Create("family"); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		face     vision.FaceDetail
		wantCode string
	}{
		{"no descriptor (an engine without the identity model)", detected(nil, 0.1), ""},
		{"descriptor of another model", detected(make([]float32, testDim+1), 0.1), vision.CodeInvalidParameter},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.SearchFaces(t.Context(), vision.Input{}, photoResult(tt.face), vision.FaceSearchOptions{CollectionID: "family", Index: true})
			if err == nil || vision.CodeOf(err) != tt.wantCode {
				t.Errorf("error %v (code %q), want code %q", err, vision.CodeOf(err), tt.wantCode)
			}
		})
	}
	if info, _ := s.Describe("family"); info.FaceCount != 0 {
		t.Errorf("failed searches indexed %d faces", info.FaceCount)
	}
	// Deleted while in use: the next search says so.
	if err := s.Delete("family"); err != nil {
		t.Fatal(err)
	}
	_, err = s.SearchFaces(t.Context(), vision.Input{}, photoResult(detected(person(0, 0), 0.1)), vision.FaceSearchOptions{CollectionID: "family"})
	if vision.CodeOf(err) != vision.CodeResourceNotFound || !errors.Is(err, ErrNotFound) {
		t.Errorf("deleted collection: %v", err)
	}
}

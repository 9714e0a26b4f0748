package rekognition_test

import (
	"encoding/json"
	"math"
	"net/http"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/imagerec/imagerec/internal/pipeline"
	"github.com/imagerec/imagerec/internal/vision"
	"github.com/imagerec/imagerec/internal/vision/rekognition"
)

var _ pipeline.FaceSearcher = (*rekognition.Engine)(nil)

// TestSearchFaces maps Rekognition's SearchFacesByImage and IndexFaces
// (the recorded responses of testdata/rekognition, played back to the
// real SDK client) into the result document's FaceSearch.
func TestSearchFaces(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		script    map[string][]reply
		index     bool
		noFaces   bool
		imageID   string // ExternalImageId, "myphotoid" (indexed in the recording) when empty
		wantCode  string
		wantCalls map[string]int
		check     func(t *testing.T, pb *playback, fs *vision.FaceSearch)
	}{
		{
			name: "search", wantCalls: map[string]int{"SearchFacesByImage": 1, "IndexFaces": 0},
			check: func(t *testing.T, pb *playback, fs *vision.FaceSearch) {
				// The crop is the face with half its size around it: its
				// centre half, the box Rekognition reports, is the face.
				_, cfg, format := pb.sentImage(t, "SearchFacesByImage")
				if format != "jpeg" || cfg.Width < 300 || cfg.Width > 310 || cfg.Height < 170 || cfg.Height > 176 {
					t.Errorf("sent a %s of %dx%d, want the 307x173 face crop", format, cfg.Width, cfg.Height)
				}
				got, want := fs.Faces[0].SearchedFaceBoundingBox, vision.BoundingBox{Width: 0.24, Height: 0.18, Left: 0.5556, Top: 0.3367}
				if math.Abs(got.Left-want.Left) > 0.005 || math.Abs(got.Top-want.Top) > 0.005 || math.Abs(got.Width-want.Width) > 0.005 || math.Abs(got.Height-want.Height) > 0.005 {
					t.Errorf("SearchedFaceBoundingBox %+v, want about %+v (the face in the whole image)", got, want)
				}
				var req map[string]any
				if err := json.Unmarshal(pb.bodies["SearchFacesByImage"], &req); err != nil {
					t.Fatal(err)
				}
				delete(req, "Image")
				want2 := map[string]any{"CollectionId": "myphotos", "FaceMatchThreshold": float64(80), "MaxFaces": float64(10), "QualityFilter": "NONE"}
				if diff := cmp.Diff(want2, req); diff != "" {
					t.Errorf("SearchFacesByImage request (-want +got):\n%s", diff)
				}
				// The image's own face from an earlier run (myphotoid) is left out.
				if m := fs.Faces[0].FaceMatches; len(m) != 1 || m[0].Face.ExternalImageID != "party.jpg" {
					t.Errorf("FaceMatches %+v, want only party.jpg's face", m)
				}
			},
		},
		{
			name: "index", index: true, imageID: "newphotoid", wantCalls: map[string]int{"SearchFacesByImage": 1, "IndexFaces": 1},
			check: func(t *testing.T, pb *playback, fs *vision.FaceSearch) {
				var req map[string]any
				if err := json.Unmarshal(pb.bodies["IndexFaces"], &req); err != nil {
					t.Fatal(err)
				}
				delete(req, "Image")
				want := map[string]any{"CollectionId": "myphotos", "ExternalImageId": "newphotoid", "MaxFaces": float64(1), "QualityFilter": "AUTO"}
				if diff := cmp.Diff(want, req); diff != "" {
					t.Errorf("IndexFaces request (-want +got):\n%s", diff)
				}
				got, err := json.MarshalIndent(fs, "", "  ")
				if err != nil {
					t.Fatal(err)
				}
				golden(t, filepath.Join("testdata", "facesearch.golden.json"), got)
			},
		},
		{
			// A retried or re-run execution finds the image's faces
			// already indexed under its ExternalImageId: IndexFaces is
			// not idempotent, so it is not called again.
			name: "index again", index: true, wantCalls: map[string]int{"SearchFacesByImage": 1, "IndexFaces": 0},
			check: func(t *testing.T, _ *playback, fs *vision.FaceSearch) {
				if len(fs.IndexedFaces) != 1 || fs.IndexedFaces[0].ExternalImageID != "myphotoid" {
					t.Errorf("IndexedFaces %+v, want the face indexed earlier under myphotoid", fs.IndexedFaces)
				}
				if m := fs.Faces[0].FaceMatches; len(m) != 1 || m[0].Face.ExternalImageID != "party.jpg" {
					t.Errorf("FaceMatches %+v, want only party.jpg's face", m)
				}
			},
		},
		{
			name: "throttled, then answered", wantCalls: map[string]int{"SearchFacesByImage": 2},
			script: map[string][]reply{"SearchFacesByImage": {{500, "ThrottlingException.json"}, {200, "SearchFacesByImage.json"}}},
			check: func(t *testing.T, _ *playback, fs *vision.FaceSearch) {
				if len(fs.Faces[0].FaceMatches) != 1 {
					t.Errorf("FaceMatches %+v", fs.Faces[0].FaceMatches)
				}
			},
		},
		{
			name: "no face found in the crop", index: true, wantCalls: map[string]int{"SearchFacesByImage": 1, "IndexFaces": 1},
			script: map[string][]reply{"SearchFacesByImage": {{400, "InvalidParameterException.json"}}},
			check: func(t *testing.T, _ *playback, fs *vision.FaceSearch) {
				if f := fs.Faces[0]; f.FaceMatches == nil || len(f.FaceMatches) != 0 || f.SearchedFaceConfidence != 100 {
					t.Errorf("unsearchable face: %+v, want the face with no matches", f)
				}
			},
		},
		{
			name: "collection deleted", index: true, wantCode: vision.CodeResourceNotFound, wantCalls: map[string]int{"SearchFacesByImage": 1, "IndexFaces": 0},
			script: map[string][]reply{"SearchFacesByImage": {{400, "ResourceNotFoundException.json"}}},
		},
		{
			name: "collection deleted before indexing", index: true, imageID: "newphotoid", wantCode: vision.CodeResourceNotFound, wantCalls: map[string]int{"SearchFacesByImage": 1, "IndexFaces": 1},
			script: map[string][]reply{"IndexFaces": {{400, "ResourceNotFoundException.json"}}},
		},
		{
			name: "no faces: no calls", index: true, noFaces: true, wantCalls: map[string]int{"SearchFacesByImage": 0, "IndexFaces": 0},
			check: func(t *testing.T, _ *playback, fs *vision.FaceSearch) {
				if fs.Faces == nil || len(fs.Faces) != 0 || fs.IndexedFaces != nil {
					t.Errorf("no faces: %+v", fs)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			pb, client := newPlayback(t, tt.script)
			eng := rekognition.New(client, fastRetries())
			img := vision.Input{Bytes: testJPEG(t, 640, 480), Name: "myphoto.jpg"}
			res, err := eng.Recognize(t.Context(), img, vision.Options{Features: []vision.Feature{vision.FeatureFaces}})
			if err != nil {
				t.Fatal(err)
			}
			if tt.noFaces {
				res.FaceDetails = []vision.FaceDetail{}
			}
			id := tt.imageID
			if id == "" {
				id = "myphotoid"
			}
			fs, err := eng.SearchFaces(t.Context(), img, res, vision.FaceSearchOptions{CollectionID: "myphotos", Index: tt.index, ExternalImageID: id})
			for op, n := range tt.wantCalls {
				if got := pb.count(op); got != n {
					t.Errorf("%s called %d times, want %d", op, got, n)
				}
			}
			if tt.wantCode != "" {
				if vision.CodeOf(err) != tt.wantCode || pipeline.ErrorName(err) != tt.wantCode {
					t.Fatalf("error %v (code %q), want %s", err, vision.CodeOf(err), tt.wantCode)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if fs.CollectionID != "myphotos" || len(fs.Faces) != len(res.FaceDetails) {
				t.Fatalf("FaceSearch %+v for %d faces", fs, len(res.FaceDetails))
			}
			if tt.check != nil {
				tt.check(t, pb, fs)
			}
		})
	}
}

// TestSearchFacesAccessDenied: a failure that is not the image's nor the
// collection's (here IAM without the collection actions) stays transient
// for the pipeline, named by nothing Rekognition-specific.
func TestSearchFacesAccessDenied(t *testing.T) {
	t.Parallel()
	pb, client := newPlayback(t, map[string][]reply{"SearchFacesByImage": {{http.StatusBadRequest, "AccessDeniedException.json"}}})
	eng := rekognition.New(client, fastRetries())
	img := vision.Input{Bytes: testJPEG(t, 640, 480)}
	res, err := eng.Recognize(t.Context(), img, vision.Options{Features: []vision.Feature{vision.FeatureFaces}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = eng.SearchFaces(t.Context(), img, res, vision.FaceSearchOptions{CollectionID: "myphotos"})
	if err == nil || vision.CodeOf(err) != "" || pipeline.ErrorName(err) != pipeline.ErrNameTaskFailed {
		t.Errorf("access denied: %v (code %q, name %q)", err, vision.CodeOf(err), pipeline.ErrorName(err))
	}
	if pb.count("SearchFacesByImage") != 1 {
		t.Errorf("access denied was retried %d times", pb.count("SearchFacesByImage"))
	}
}

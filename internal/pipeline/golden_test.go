package pipeline_test

import (
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/imagerec/imagerec/internal/asl"
	"github.com/imagerec/imagerec/internal/goldentest"
	"github.com/imagerec/imagerec/internal/pipeline"
	"github.com/imagerec/imagerec/internal/vision"
)

// goldenSource is an execution's Source with every field the trigger sets.
var goldenSource = pipeline.Source{
	Bucket: "uploads", Key: "holiday/beach & <sea> ü.jpg", ETag: "0123456789abcdef0123456789abcdef", Size: 2048,
	VersionID: "3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY", Sequencer: "0055AED6DCD90281E5",
	EventName: "ObjectCreated:Put", EventTime: "2026-01-01T00:00:00.000Z",
}

// goldenResult has every kind of value a result holds: nested lists,
// small fractions, a map, and text that JSON escapes (&, <, >, quotes,
// non-ASCII).
func goldenResult() *vision.Result {
	parent := 0
	return &vision.Result{
		Labels: []vision.Label{
			{Name: "Dog", Confidence: 97.25, Instances: []vision.Instance{{BoundingBox: vision.BoundingBox{Width: 0.5, Height: 0.25, Left: 0.0005, Top: 1e-7}, Confidence: 96.5}},
				Parents: []vision.NameOnly{{Name: "Animal"}, {Name: "Pet"}}, Aliases: []vision.NameOnly{}, Categories: []vision.NameOnly{{Name: "Animals and Pets"}}},
			{Name: "Animal", Confidence: 97.25, Instances: []vision.Instance{}, Parents: []vision.NameOnly{}, Aliases: []vision.NameOnly{}, Categories: []vision.NameOnly{}},
		},
		LabelModelVersion: "3.0",
		TextDetections: []vision.TextDetection{
			{DetectedText: "Fish & Chips <\"fresh\"> café\u2028menu", Type: "LINE", ID: 0, Confidence: 99.5,
				Geometry: vision.Geometry{BoundingBox: vision.BoundingBox{Width: 0.3, Height: 0.05, Left: 0.1, Top: 0.9}, Polygon: []vision.Point{{X: 0.1, Y: 0.9}, {X: 0.4, Y: 0.9}, {X: 0.4, Y: 0.95}, {X: 0.1, Y: 0.95}}}},
			{DetectedText: "Fish", Type: "WORD", ID: 1, ParentID: &parent, Confidence: 99.25,
				Geometry: vision.Geometry{BoundingBox: vision.BoundingBox{Width: 0.1, Height: 0.05, Left: 0.1, Top: 0.9}, Polygon: []vision.Point{}}},
		},
		TextModelVersion: "3.0",
		FaceSearch: &vision.FaceSearch{CollectionID: "family", Faces: []vision.FaceSearchResult{{
			SearchedFaceBoundingBox: vision.BoundingBox{Width: 0.2, Height: 0.25, Left: 0.4, Top: 0.1}, SearchedFaceConfidence: 99.75,
			FaceMatches: []vision.FaceMatch{{Similarity: 97.125, Face: vision.CollectionFace{
				FaceID: "38271d79-7bc2-5efb-b752-398a8d575b85", BoundingBox: vision.BoundingBox{Width: 0.25, Height: 0.3, Left: 0.3, Top: 0.5},
				ImageID: "d5631190-d039-54e4-b267-abd22c8647c5", ExternalImageID: "2026:beach.jpg", Confidence: 99.5, IndexFacesModelVersion: "faceres-1",
			}}},
			FaceModelVersion: "faceres-1",
		}}},
		Image:   &vision.ImageInfo{Width: 1024, Height: 768, Format: "jpeg", OrientationCorrection: "ROTATE_0"},
		Engine:  &vision.EngineInfo{Name: "test", Models: []string{"a.onnx", "b.onnx"}},
		Timings: map[string]float64{vision.TimingTotal: 12.5, vision.TimingDecode: 1.25, vision.TimingKey("labels"): 8, vision.TimingKey("text"): 3.125},
	}
}

// viaStateMachine passes a task's output on to the next state's input as
// the local executor does: decoded into the ASL representation (key order
// and number literals kept) and encoded again.
func viaStateMachine(t *testing.T, out any, in any) {
	t.Helper()
	b, err := json.Marshal(out)
	if err != nil {
		t.Fatal(err)
	}
	v, err := asl.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(asl.Marshal(v), in); err != nil {
		t.Fatal(err)
	}
}

// TestResultDocumentGolden pins the bytes of <key>.json as Store writes
// it after Recognize, with the result passed between the states.
func TestResultDocumentGolden(t *testing.T) {
	t.Parallel()
	tasks, objs := setup(t, fakeRecognizer{res: goldenResult()})
	put(t, objs, goldenSource.Key, []byte("the recognizer here does not look at the bytes"))
	src := goldenSource
	src.ETag = "" // the object's own ETag goes into the result's Source
	rec, err := tasks.Recognize(t.Context(), pipeline.RecognizeInput{Source: src, ResultBucket: "results"})
	if err != nil {
		t.Fatal(err)
	}
	var passed pipeline.RecognizeOutput
	viaStateMachine(t, rec, &passed)
	if _, err := tasks.Store(t.Context(), pipeline.StoreInput{Source: src, ResultBucket: "results", Recognition: &passed}); err != nil {
		t.Fatal(err)
	}
	stored := read(t, objs, "results", src.Key+pipeline.ResultSuffix)
	goldentest.Compare(t, filepath.Join("testdata", "result.golden.json"), stored)
	// Store lays the bytes out without decoding them; they must be what
	// encoding the result itself gives.
	var res vision.Result
	if err := json.Unmarshal(stored, &res); err != nil {
		t.Fatal(err)
	}
	if want, _ := pipeline.EncodeDocument(&res); string(stored) != string(want) {
		t.Errorf("stored document differs from EncodeDocument of its result:\n%s\nwant:\n%s", stored, want)
	}
}

// TestErrorDocumentGolden pins the bytes of <key>.error.json for each kind
// of failure a Catch hands to StoreError.
func TestErrorDocumentGolden(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		failure pipeline.Failure
	}{
		{"image-error", pipeline.Failure{Error: "InvalidImageFormatException", Cause: `not an image: the file is a PDF document ("%PDF-1.7")`}},
		{"lambda-cause", pipeline.Failure{Error: "ImageTooLargeException", Cause: `{"errorMessage":"12000x12000 is too many pixels","errorType":"ImageTooLargeException"}`}},
		{"retries-exhausted", pipeline.Failure{Error: "TransientError", Cause: "write s3://results/x: disk full"}},
		{"timeout", pipeline.Failure{Error: "States.Timeout", Cause: "Task timed out after 60 seconds"}},
		{"face-collection-gone", pipeline.Failure{Error: "ResourceNotFoundException", Cause: "face collection family: The collection id: family does not exist; the image is kept in s3://image-upload-bucket: create the collection again and run `imagerec backfill --force --prefix 'holiday/beach & <sea> ü.jpg'` to recognise it"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tasks, objs := setup(t, nil)
			in := pipeline.StoreInput{Source: goldenSource, ResultBucket: "results", Failure: &tc.failure,
				Execution: "arn:aws:states:us-east-1:123456789012:execution:imagerec:beach-1a2b3c"}
			if _, err := tasks.Store(t.Context(), in); err != nil {
				t.Fatal(err)
			}
			goldentest.Compare(t, filepath.Join("testdata", "error-"+tc.name+".golden.json"), read(t, objs, "results", goldenSource.Key+pipeline.ErrorSuffix))
		})
	}
}

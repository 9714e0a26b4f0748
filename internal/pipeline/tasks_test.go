package pipeline_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/imagerec/imagerec/internal/notify"
	"github.com/imagerec/imagerec/internal/objstore/memstore"
	"github.com/imagerec/imagerec/internal/pipeline"
	"github.com/imagerec/imagerec/internal/vision"
)

// fakeRecognizer returns a canned result or error; the real engines are
// tested in their own packages and end to end in cmd/imagerec.
type fakeRecognizer struct {
	res *vision.Result
	err error
}

func (f fakeRecognizer) Recognize(_ context.Context, in vision.Input, _ vision.Options) (*vision.Result, error) {
	if f.err != nil {
		return nil, f.err
	}
	r := *f.res
	return &r, nil
}

type recordingNotifier struct {
	mu   sync.Mutex
	msgs []notify.Message
}

func (r *recordingNotifier) Notify(_ context.Context, m notify.Message) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.msgs = append(r.msgs, m)
	return nil
}

func pngBytes(t *testing.T) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 100, 100))
	img.Set(1, 1, color.White)
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func setup(t *testing.T, rec vision.Recognizer) (*pipeline.Tasks, pipeline.StoreObjects) {
	t.Helper()
	st := memstore.New()
	for _, b := range []string{"uploads", "results"} {
		if err := st.CreateBucket(t.Context(), b); err != nil {
			t.Fatal(err)
		}
	}
	objs := pipeline.StoreObjects{Store: st}
	return &pipeline.Tasks{Objects: objs, Recognizer: rec, MaxBytes: 1 << 20}, objs
}

func put(t *testing.T, o pipeline.Objects, key string, data []byte) {
	t.Helper()
	if err := o.Put(t.Context(), "uploads", key, data, ""); err != nil {
		t.Fatal(err)
	}
}

func read(t *testing.T, o pipeline.Objects, bucket, key string) []byte {
	t.Helper()
	rc, _, err := o.Open(t.Context(), bucket, key)
	if err != nil {
		t.Fatalf("open %s/%s: %v", bucket, key, err)
	}
	defer rc.Close()
	b, _ := io.ReadAll(rc)
	return b
}

func TestInspect(t *testing.T) {
	t.Parallel()
	tasks, objs := setup(t, nil)
	put(t, objs, "ok.png", pngBytes(t))
	put(t, objs, "empty.jpg", nil)
	put(t, objs, "doc.jpg", []byte("%PDF-1.7\n..."))
	put(t, objs, "big.jpg", bytes.Repeat([]byte{0xff}, 2<<20))
	tests := []struct {
		key       string
		supported bool
		reason    string
		errName   string
	}{
		{key: "ok.png", supported: true},
		{key: "empty.jpg", reason: "empty"},
		{key: "doc.jpg", reason: "PDF"},
		{key: "big.jpg", errName: pipeline.ErrNameImageTooLarge},
		{key: "gone.jpg", errName: pipeline.ErrNameInvalidS3Object},
	}
	for _, tc := range tests {
		t.Run(tc.key, func(t *testing.T) {
			out, err := tasks.Inspect(t.Context(), pipeline.InspectInput{Source: pipeline.Source{Bucket: "uploads", Key: tc.key}})
			if tc.errName != "" {
				if got := pipeline.ErrorName(err); got != tc.errName {
					t.Fatalf("error name %q (%v), want %q", got, err, tc.errName)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if out.Supported != tc.supported || !strings.Contains(out.Reason, tc.reason) {
				t.Errorf("got %+v, want supported=%v reason~%q", out, tc.supported, tc.reason)
			}
		})
	}
}

// TestInspectBackfill: with ResultBucket (the backfill), Inspect reports
// an existing result or error document unless Force, and the objects
// that get no document.
func TestInspectBackfill(t *testing.T) {
	t.Parallel()
	tasks, objs := setup(t, nil)
	for _, k := range []string{"done.png", "failed.png", "new.png"} {
		put(t, objs, k, pngBytes(t))
	}
	if err := objs.Put(t.Context(), "results", "done.png.json", []byte(`{}`), ""); err != nil {
		t.Fatal(err)
	}
	if err := objs.Put(t.Context(), "results", "failed.png.error.json", []byte(`{}`), ""); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		key      string
		size     int64
		force    bool
		document string
		ignored  string
	}{
		{key: "done.png", document: "done.png.json"},
		{key: "failed.png", document: "failed.png.error.json"},
		{key: "done.png", force: true},
		{key: "new.png"},
		{key: "folder/", ignored: "folder marker"},
		{key: "_imagerec/pending/x.json", size: 3, ignored: "imagerec's own"},
		{key: strings.Repeat("k", pipeline.MaxKeyLen+1), size: 3, ignored: "at most 1013 bytes"},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%.20s force=%v", tc.key, tc.force), func(t *testing.T) {
			out, err := tasks.Inspect(t.Context(), pipeline.InspectInput{Source: pipeline.Source{Bucket: "uploads", Key: tc.key, Size: tc.size}, ResultBucket: "results", Force: tc.force})
			if err != nil {
				t.Fatal(err)
			}
			doc := ""
			if out.Document != nil {
				doc = out.Document.Key
			}
			if doc != tc.document || !strings.Contains(out.Ignored, tc.ignored) || (tc.ignored == "") != (out.Ignored == "") {
				t.Errorf("got document %q ignored %q, want %q %q", doc, out.Ignored, tc.document, tc.ignored)
			}
			if tc.document == "" && tc.ignored == "" && !out.Supported {
				t.Errorf("new image not inspected: %+v", out)
			}
		})
	}
}

func TestRecognizeStoreRoundTrip(t *testing.T) {
	t.Parallel()
	res := &vision.Result{Labels: []vision.Label{{Name: "Dog", Confidence: 90}}, LabelModelVersion: "test"}
	tasks, objs := setup(t, fakeRecognizer{res: res})
	key := "dir/a b+ü.png"
	put(t, objs, key, pngBytes(t))
	src := pipeline.Source{Bucket: "uploads", Key: key}

	// A stale error document from an earlier failed run must go away.
	if err := objs.Put(t.Context(), "results", key+pipeline.ErrorSuffix, []byte("{}"), ""); err != nil {
		t.Fatal(err)
	}
	rec, err := tasks.Recognize(t.Context(), pipeline.RecognizeInput{Source: src, ResultBucket: "results"})
	if err != nil {
		t.Fatal(err)
	}
	if rec.Result == nil || rec.ResultRef != nil {
		t.Fatalf("small result should be inline: %+v", rec)
	}
	out, err := tasks.Store(t.Context(), pipeline.StoreInput{Source: src, ResultBucket: "results", Recognition: &rec})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(pipeline.StoreOutput{Bucket: "results", Key: key + ".json"}, out); diff != "" {
		t.Error(diff)
	}
	var doc map[string]any
	if err := json.Unmarshal(read(t, objs, "results", key+".json"), &doc); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"Labels", "LabelModelVersion", "Source"} {
		if _, ok := doc[k]; !ok {
			t.Errorf("document lacks %s: %v", k, doc)
		}
	}
	for _, k := range []string{"FaceDetails", "TextDetections", "ModerationLabels"} {
		if _, ok := doc[k]; ok {
			t.Errorf("document has %s although that feature did not run", k)
		}
	}
	if src := doc["Source"].(map[string]any); src["Key"] != key || src["ETag"] == "" {
		t.Errorf("Source = %v", src)
	}
	if _, _, err := objs.Open(t.Context(), "results", key+pipeline.ErrorSuffix); !errors.Is(err, pipeline.ErrNotFound) {
		t.Errorf("stale error document still there: %v", err)
	}
}

func TestLargeResultIsPassedByReference(t *testing.T) {
	t.Parallel()
	res := &vision.Result{}
	for i := range 3000 {
		res.Labels = append(res.Labels, vision.Label{Name: strings.Repeat("x", 60) + string(rune('a'+i%26)), Confidence: 60})
	}
	tasks, objs := setup(t, fakeRecognizer{res: res})
	put(t, objs, "p.png", pngBytes(t))
	src := pipeline.Source{Bucket: "uploads", Key: "p.png"}
	rec, err := tasks.Recognize(t.Context(), pipeline.RecognizeInput{Source: src, ResultBucket: "results"})
	if err != nil {
		t.Fatal(err)
	}
	if rec.ResultRef == nil || rec.Result != nil {
		t.Fatalf("large result should be a reference: result=%v", rec.Result != nil)
	}
	state, _ := json.Marshal(rec)
	if len(state) > 1024 {
		t.Errorf("state payload is %d bytes", len(state))
	}
	if _, err := tasks.Store(t.Context(), pipeline.StoreInput{Source: src, ResultBucket: "results", Recognition: &rec}); err != nil {
		t.Fatal(err)
	}
	stored := read(t, objs, "results", "p.png.json")
	var got vision.Result
	if err := json.Unmarshal(stored, &got); err != nil || len(got.Labels) != 3000 {
		t.Fatalf("stored %d labels, err %v", len(got.Labels), err)
	}
	if want, _ := pipeline.EncodeDocument(&got); !bytes.Equal(stored, want) {
		t.Error("the document from the pending result is not laid out as EncodeDocument writes it")
	}
	if _, _, err := objs.Open(t.Context(), rec.ResultRef.Bucket, rec.ResultRef.Key); !errors.Is(err, pipeline.ErrNotFound) {
		t.Errorf("pending result not cleaned up: %v", err)
	}
}

func TestRecognizeErrorNames(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"image error keeps its code", vision.Errorf(vision.CodeInvalidImageFormat, "truncated JPEG"), pipeline.ErrNameInvalidImageFormat},
		{"too large", vision.Errorf(vision.CodeImageTooLarge, "too many pixels"), pipeline.ErrNameImageTooLarge},
		{"anything else is transient", errors.New("session busy"), pipeline.ErrNameTransient},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tasks, objs := setup(t, fakeRecognizer{err: tc.err})
			put(t, objs, "x.png", pngBytes(t))
			_, err := tasks.Recognize(t.Context(), pipeline.RecognizeInput{Source: pipeline.Source{Bucket: "uploads", Key: "x.png"}})
			var named interface{ ErrorName() string }
			if !errors.As(err, &named) || named.ErrorName() != tc.want {
				t.Fatalf("err %v, want name %s", err, tc.want)
			}
		})
	}
}

func TestStoreErrorDocument(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		failure   pipeline.Failure
		wantError string
		wantMsg   string
	}{
		{"local image error", pipeline.Failure{Error: "InvalidImageFormatException", Cause: "truncated JPEG"}, "InvalidImageFormatException", "truncated JPEG"},
		{"lambda cause JSON", pipeline.Failure{Error: "ImageTooLargeException", Cause: `{"errorMessage":"12000x12000 is too many pixels","errorType":"ImageTooLargeException"}`}, "ImageTooLargeException", "12000x12000 is too many pixels"},
		{"retries exhausted", pipeline.Failure{Error: "TransientError", Cause: "disk full"}, "InternalServerError", "TransientError: disk full"},
		{"timeout", pipeline.Failure{Error: "States.Timeout", Cause: ""}, "InternalServerError", "timed out"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tasks, objs := setup(t, nil)
			src := pipeline.Source{Bucket: "uploads", Key: "k.jpg", ETag: "abc"}
			if err := objs.Put(t.Context(), "results", "k.jpg.json", []byte("{}"), ""); err != nil {
				t.Fatal(err)
			}
			out, err := tasks.Store(t.Context(), pipeline.StoreInput{Source: src, ResultBucket: "results", Failure: &tc.failure, Execution: "arn:x"})
			if err != nil {
				t.Fatal(err)
			}
			if out.Key != "k.jpg.error.json" || out.Error != tc.wantError {
				t.Errorf("out = %+v", out)
			}
			var doc pipeline.ErrorDocument
			if err := json.Unmarshal(read(t, objs, "results", "k.jpg.error.json"), &doc); err != nil {
				t.Fatal(err)
			}
			if doc.Error != tc.wantError || !strings.Contains(doc.Message, tc.wantMsg) || doc.Source != src || doc.Execution != "arn:x" {
				t.Errorf("doc = %+v", doc)
			}
			if _, _, err := objs.Open(t.Context(), "results", "k.jpg.json"); !errors.Is(err, pipeline.ErrNotFound) {
				t.Errorf("result document survived an error document: %v", err)
			}
		})
	}
}

func TestNotify(t *testing.T) {
	t.Parallel()
	tasks, _ := setup(t, nil)
	n := &recordingNotifier{}
	tasks.Notifier = n
	_, err := tasks.Notify(t.Context(), pipeline.NotifyInput{Status: "FAILED", Source: pipeline.Source{Bucket: "uploads", Key: "k"},
		Document: pipeline.StoreOutput{Bucket: "results", Key: "k.error.json", Error: "InvalidImageFormatException", Message: "m"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(n.msgs) != 1 || n.msgs[0].Type != "imagerec.recognition.failed" || n.msgs[0].Document.Key != "k.error.json" || n.msgs[0].Error == "" {
		t.Errorf("messages = %+v", n.msgs)
	}
}

// TestStoreBadResult: a Recognition whose result is not a JSON object, or
// a pending result that is not JSON, writes no document.
func TestStoreBadResult(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		rec      string // the Recognition as a state passes it
		pending  string // the pending result's body, when set
		wantName string
	}{
		{"string", `{"Result":"labels"}`, "", pipeline.ErrNameInvalidInput},
		{"array", `{"Result":[{"Name":"Dog"}]}`, "", pipeline.ErrNameInvalidInput},
		{"null and no reference", `{"Result":null}`, "", pipeline.ErrNameInvalidInput},
		{"empty", `{}`, "", pipeline.ErrNameInvalidInput},
		{"pending not JSON", `{"ResultRef":{"Bucket":"results","Key":"_imagerec/pending/x.json"}}`, `{"Labels":[`, pipeline.ErrNameTransient},
		{"pending not an object", `{"ResultRef":{"Bucket":"results","Key":"_imagerec/pending/x.json"}}`, `[]`, pipeline.ErrNameTransient},
		{"pending missing", `{"ResultRef":{"Bucket":"results","Key":"_imagerec/pending/gone.json"}}`, "", pipeline.ErrNameTransient},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tasks, objs := setup(t, nil)
			if tc.pending != "" {
				if err := objs.Put(t.Context(), "results", "_imagerec/pending/x.json", []byte(tc.pending), ""); err != nil {
					t.Fatal(err)
				}
			}
			var rec pipeline.RecognizeOutput
			if err := json.Unmarshal([]byte(tc.rec), &rec); err != nil {
				t.Fatal(err)
			}
			_, err := tasks.Store(t.Context(), pipeline.StoreInput{Source: pipeline.Source{Bucket: "uploads", Key: "k.jpg"}, ResultBucket: "results", Recognition: &rec})
			if got := pipeline.ErrorName(err); err == nil || got != tc.wantName {
				t.Fatalf("Store: %v (%s), want %s", err, got, tc.wantName)
			}
			if _, _, err := objs.Open(t.Context(), "results", "k.jpg.json"); !errors.Is(err, pipeline.ErrNotFound) {
				t.Errorf("a document was written: %v", err)
			}
		})
	}
}

package pipeline

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/imagerec/imagerec/internal/vision"
)

// benchResult is a full result: the recorded Rekognition responses of
// testdata/rekognition (labels, faces, text, moderation) in one document.
func benchResult(b *testing.B) *vision.Result {
	b.Helper()
	res := new(vision.Result)
	for _, op := range []string{"DetectLabels", "DetectFaces", "DetectText", "DetectModerationLabels"} {
		data, err := os.ReadFile(filepath.Join("..", "..", "testdata", "rekognition", op+".json"))
		if err != nil {
			b.Fatal(err)
		}
		if err := json.Unmarshal(data, res); err != nil {
			b.Fatal(err)
		}
	}
	res.Source = &vision.Source{Bucket: "uploads", Key: "k.jpg", ETag: "e", Size: 1}
	return res
}

// BenchmarkResultToDocument is the result's way from Recognize to the
// bytes Store writes, without the storage: Recognize's encoding (which
// measures it), the task adapter's encoding of the output, Store's
// decoding of its input and the document. "typed" is how it was done
// before (the result decoded and encoded again at each step), "bytes" how
// it is done now (serialised once, laid out by Store).
func BenchmarkResultToDocument(b *testing.B) {
	res := benchResult(b)
	type typedOutput struct {
		Result    *vision.Result `json:"Result,omitempty"`
		ResultRef *ObjectRef     `json:"ResultRef,omitempty"`
	}
	type typedInput struct {
		Recognition *typedOutput `json:"Recognition,omitempty"`
	}
	type bytesInput struct {
		Recognition *RecognizeOutput `json:"Recognition,omitempty"`
	}
	wrap := func(out []byte) []byte { return append(append([]byte(`{"Recognition":`), out...), '}') }
	b.Run("typed", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			doc, _ := json.Marshal(res)
			_ = len(doc)
			out, _ := json.Marshal(typedOutput{Result: res})
			var in typedInput
			if err := json.Unmarshal(wrap(out), &in); err != nil {
				b.Fatal(err)
			}
			if _, err := EncodeDocument(in.Recognition.Result); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("bytes", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			doc, _ := json.Marshal(res)
			out, _ := json.Marshal(RecognizeOutput{Result: doc})
			var in bytesInput
			if err := json.Unmarshal(wrap(out), &in); err != nil {
				b.Fatal(err)
			}
			if _, err := layoutDocument(in.Recognition.Result); err != nil {
				b.Fatal(err)
			}
		}
	})
}

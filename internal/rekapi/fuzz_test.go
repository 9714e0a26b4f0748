package rekapi_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/imagerec/imagerec/internal/objstore/memstore"
	"github.com/imagerec/imagerec/internal/rekapi"
)

var fuzzOps = []string{"DetectLabels", "DetectFaces", "DetectText", "DetectModerationLabels"}

// FuzzServeHTTP feeds arbitrary request bodies to every operation: the
// handler must answer 200 with a response of the operation's shape, or 400
// with a JSON 1.1 error document, and never panic.
func FuzzServeHTTP(f *testing.F) {
	for i, body := range []string{
		`{"Image":{"Bytes":"/9j/4AA="}}`,
		`{"Image":{"Bytes":"/9j/4AA="},"MaxLabels":2,"MinConfidence":90,"Features":["IMAGE_PROPERTIES"],"Settings":{"ImageProperties":{"MaxDominantColors":1},"GeneralLabels":{"LabelExclusionFilters":["Car"]}}}`,
		`{"Image":{"Bytes":"/9j/4AA="},"Attributes":["SMILE","GENDER"]}`,
		`{"Image":{"Bytes":"/9j/4AA="},"Filters":{"WordFilter":{"MinConfidence":50,"MinBoundingBoxHeight":0.01},"RegionsOfInterest":[{"Polygon":[{"X":0,"Y":0},{"X":1,"Y":1}]}]}}`,
		`{"Image":{"S3Object":{"Bucket":"b","Name":"k","Version":"v"}}}`,
		`{"Image":{"Bytes":""}}`,
		`{"MinConfidence":-1}`,
		`[]`,
	} {
		f.Add(uint8(i), []byte(body))
	}
	shapes := loadShapes(f)
	h := rekapi.New(&fakeRecognizer{result: sample()}, memstore.New(), rekapi.Options{})
	f.Fuzz(func(t *testing.T, op uint8, body []byte) {
		name := fuzzOps[int(op)%len(fuzzOps)]
		req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
		req.Header.Set("X-Amz-Target", rekapi.TargetPrefix+name)
		req.Header.Set("Content-Type", rekapi.ContentType)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		switch rec.Code {
		case http.StatusOK:
			if probs := shapes.Check(shapes.Operations[name].Output, rec.Body.Bytes()); len(probs) > 0 {
				t.Fatalf("%s %s: response off shape: %v", name, body, probs)
			}
		case http.StatusBadRequest:
			var doc struct {
				Type    string `json:"__type"`
				Message string
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil || doc.Type == "" {
				t.Fatalf("%s %s: bad error body %q", name, body, rec.Body)
			}
		default:
			t.Fatalf("%s %s: status %d %s", name, body, rec.Code, rec.Body)
		}
	})
}

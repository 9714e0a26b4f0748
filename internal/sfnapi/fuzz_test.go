package sfnapi_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"

	"github.com/imagerec/imagerec/internal/sfnapi"
)

// FuzzServeHTTP feeds arbitrary request bodies to every operation: the
// handler answers 200 with the operation's botocore shape or 400 with a
// JSON 1.0 error document, and never panics.
func FuzzServeHTTP(f *testing.F) {
	for i, body := range []string{
		`{"name":"m","definition":"{\"StartAt\":\"P\",\"States\":{\"P\":{\"Type\":\"Pass\",\"End\":true}}}","roleArn":"arn:aws:iam::1:role/r"}`,
		`{"stateMachineArn":"arn:aws:states:us-east-1:123456789012:stateMachine:imagerec","input":"{}"}`,
		`{"executionArn":"arn:aws:states:us-east-1:123456789012:execution:imagerec:x","reverseOrder":true,"maxResults":2,"nextToken":"eyJhIjoiMSIsInMiOiIifQ"}`,
		`{"taskToken":"YXJuOmF3czpzdGF0ZXM6eDpleGVjdXRpb246eQprZXk","output":"[]"}`,
		`{"mapRunArn":"arn:aws:states:us-east-1:123456789012:mapRun:imagerec/l:1"}`,
		`{"maxResults":-1}`,
		`[]`,
		``,
	} {
		f.Add(uint8(i), []byte(body))
	}
	shapes := loadShapes(f)
	ops := make([]string, 0, len(shapes.Operations))
	for op := range shapes.Operations {
		ops = append(ops, op)
	}
	sort.Strings(ops)
	h := sfnapi.New(newService(f), sfnapi.Options{})
	f.Fuzz(func(t *testing.T, op uint8, body []byte) {
		name := ops[int(op)%len(ops)]
		req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(string(body)))
		req.Header.Set("X-Amz-Target", sfnapi.TargetPrefix+name)
		req.Header.Set("Content-Type", sfnapi.ContentType)
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
				Message string `json:"message"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil || doc.Type == "" {
				t.Fatalf("%s %s: bad error body %q", name, body, rec.Body)
			}
		default:
			t.Fatalf("%s %s: status %d %s", name, body, rec.Code, rec.Body)
		}
	})
}

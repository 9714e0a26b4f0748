package rekapi_test

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"testing"

	"net/http"

	"github.com/imagerec/imagerec/internal/goldentest"
	"github.com/imagerec/imagerec/internal/rekapi"
)

// TestGoldenResponses pins the exact bytes of each operation's response
// for the sample result: these are the contract with Rekognition clients.
func TestGoldenResponses(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	shapes := loadShapes(t)
	tests := []struct{ op, body string }{
		{"DetectLabels", `{"Image":{"Bytes":"/9j/4AA="},"Features":["GENERAL_LABELS","IMAGE_PROPERTIES"],"MaxLabels":3}`},
		{"DetectFaces", `{"Image":{"Bytes":"/9j/4AA="},"Attributes":["ALL"]}`},
		{"DetectText", `{"Image":{"Bytes":"/9j/4AA="}}`},
		{"DetectModerationLabels", `{"Image":{"Bytes":"/9j/4AA="},"MinConfidence":30}`},
	}
	for _, tt := range tests {
		t.Run(tt.op, func(t *testing.T) {
			req, _ := http.NewRequestWithContext(t.Context(), "POST", f.srv.URL+"/", bytes.NewBufferString(tt.body))
			req.Header.Set("X-Amz-Target", rekapi.TargetPrefix+tt.op)
			req.Header.Set("Content-Type", rekapi.ContentType)
			signRequest(t, req, tt.body)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body bytes.Buffer
			body.ReadFrom(resp.Body)
			if resp.StatusCode != 200 {
				t.Fatalf("status %d: %s", resp.StatusCode, body.String())
			}
			if probs := shapes.Check(shapes.Operations[tt.op].Output, body.Bytes()); len(probs) > 0 {
				t.Errorf("shape: %v", probs)
			}
			var pretty bytes.Buffer
			if err := json.Indent(&pretty, body.Bytes(), "", "  "); err != nil {
				t.Fatal(err)
			}
			goldentest.Compare(t, filepath.Join("testdata", tt.op+".golden.json"), pretty.Bytes())
		})
	}
}

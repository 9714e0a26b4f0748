package webhook_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/imagerec/imagerec/internal/goldentest"
	"github.com/imagerec/imagerec/internal/notify/webhook"
	"github.com/imagerec/imagerec/internal/pipeline"
)

// TestNotificationGolden pins the request a webhook receiver gets for a
// finished image, end to end from the Notify task: method, path, headers
// (signature included, at a fixed clock) and the body's exact bytes.
func TestNotificationGolden(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	src := pipeline.Source{Bucket: "image-upload-bucket", Key: "holiday/beach & <sea> ü.jpg", ETag: "0123456789abcdef0123456789abcdef", Size: 2048}
	exec := "arn:aws:states:us-east-1:123456789012:execution:imagerec:beach-1a2b3c"
	tests := []struct {
		name string
		in   pipeline.NotifyInput
	}{
		{"succeeded", pipeline.NotifyInput{Status: "SUCCEEDED", Source: src, Execution: exec,
			Document: pipeline.StoreOutput{Bucket: "image-result-bucket", Key: src.Key + pipeline.ResultSuffix}}},
		{"failed", pipeline.NotifyInput{Status: "FAILED", Source: src, Execution: exec,
			Document: pipeline.StoreOutput{Bucket: "image-result-bucket", Key: src.Key + pipeline.ErrorSuffix, Error: "InvalidImageFormatException", Message: "not an image: the file is a PDF document"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var got bytes.Buffer
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				body, err := io.ReadAll(r.Body)
				if err != nil {
					t.Error(err)
				}
				fmt.Fprintf(&got, "%s %s\n", r.Method, r.URL.RequestURI())
				var names []string
				for k := range r.Header {
					if k != "Accept-Encoding" && k != "Content-Length" {
						names = append(names, k)
					}
				}
				sort.Strings(names)
				for _, k := range names {
					fmt.Fprintf(&got, "%s: %s\n", k, r.Header.Get(k))
				}
				fmt.Fprintf(&got, "\n%s\n", body)
				w.WriteHeader(http.StatusNoContent)
			}))
			t.Cleanup(srv.Close)
			n := webhook.New(srv.URL+"/hooks/imagerec", webhook.Options{Secret: "s3cret", Now: func() time.Time { return now }, Sleep: noSleep})
			tasks := &pipeline.Tasks{Notifier: n, Now: func() time.Time { return now }}
			if _, err := tasks.Notify(t.Context(), tc.in); err != nil {
				t.Fatal(err)
			}
			goldentest.Compare(t, filepath.Join("testdata", tc.name+".golden.txt"), got.Bytes())
		})
	}
}

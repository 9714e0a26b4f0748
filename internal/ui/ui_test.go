package ui_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/imagerec/imagerec/internal/ui"
	"github.com/imagerec/imagerec/web"
)

type fakeExecs struct{}

func (fakeExecs) ListExecutions(context.Context, int) ([]ui.Execution, error) {
	return []ui.Execution{{ARN: "arn:1", Name: "one", Status: "SUCCEEDED", StartDate: time.Unix(1, 0)}}, nil
}

func (fakeExecs) History(_ context.Context, arn string) ([]ui.Event, error) {
	return []ui.Event{{ID: 1, Type: "ExecutionStarted", Details: arn}}, nil
}

type fakeObjects struct{}

func (fakeObjects) List(_ context.Context, bucket, _ string, _ int) ([]ui.Object, error) {
	return []ui.Object{
		{Key: "a.jpg.json", LastModified: time.Unix(10, 0)},
		{Key: "b c.png.error.json", LastModified: time.Unix(20, 0)},
		{Key: "_imagerec/pending/x.json", LastModified: time.Unix(30, 0)},
		{Key: "stray.txt", LastModified: time.Unix(40, 0)},
	}, nil
}

type fakePresigner struct{}

func (fakePresigner) PresignGet(_ context.Context, b, k string) (string, error) {
	return "http://s3/" + b + "/" + k + "?sig", nil
}

func (fakePresigner) PresignPut(_ context.Context, b, k, _ string) (string, error) {
	return "http://s3/" + b + "/" + k + "?put", nil
}

func TestAPI(t *testing.T) {
	t.Parallel()
	h := ui.New(ui.Config{Executions: fakeExecs{}, Objects: fakeObjects{}, Presigner: fakePresigner{}, UploadBucket: "up", ResultBucket: "res", Static: web.Static()})
	srv := httptest.NewServer(http.StripPrefix("/_imagerec", h))
	t.Cleanup(srv.Close)
	get := func(method, path string) string {
		t.Helper()
		req, _ := http.NewRequestWithContext(t.Context(), method, srv.URL+"/_imagerec/"+path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, b)
		}
		return string(b)
	}
	if page := get("GET", ""); !strings.Contains(page, "<title>imagerec</title>") {
		t.Errorf("index: %.200s", page)
	}
	var results []map[string]any
	if err := json.Unmarshal([]byte(get("GET", "api/results")), &results); err != nil {
		t.Fatal(err)
	}
	if len(results) != 2 || results[0]["key"] != "b c.png" || results[0]["failed"] != true || results[1]["imageUrl"] != "http://s3/up/a.jpg?sig" {
		t.Errorf("results = %v", results)
	}
	if s := get("GET", "api/executions"); !strings.Contains(s, `"executionArn":"arn:1"`) {
		t.Errorf("executions = %s", s)
	}
	if s := get("GET", "api/history?arn=arn:1"); !strings.Contains(s, "ExecutionStarted") {
		t.Errorf("history = %s", s)
	}
	if s := get("POST", "api/upload-url?key=x.jpg"); !strings.Contains(s, "http://s3/up/x.jpg?put") {
		t.Errorf("upload-url = %s", s)
	}
}

func TestStatusAndHealth(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		status     func(context.Context) ui.Status
		wantHealth string
		wantAPI    string
	}{
		{name: "no status source", wantHealth: "ok\n", wantAPI: `"degraded":false,"problems":[]`},
		{name: "healthy", status: func(context.Context) ui.Status { return ui.Status{Reconciled: 2} },
			wantHealth: "ok\n", wantAPI: `"reconciled":2`},
		{name: "degraded", status: func(context.Context) ui.Status {
			return ui.Status{Degraded: true, QuarantinedExecutions: 1, Problems: []string{"queue lost 6 messages", "1 execution file in quarantine"}}
		}, wantHealth: "degraded\nqueue lost 6 messages\n1 execution file in quarantine\n", wantAPI: `"quarantinedExecutions":1`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := ui.New(ui.Config{Status: tc.status, Executions: fakeExecs{}, Objects: fakeObjects{}, Presigner: fakePresigner{}, Static: web.Static()})
			mux := http.NewServeMux()
			mux.Handle("/healthz", h.Health())
			mux.Handle("/", h)
			srv := httptest.NewServer(mux)
			t.Cleanup(srv.Close)
			for path, want := range map[string]string{"/healthz": tc.wantHealth, "/api/status": tc.wantAPI} {
				resp, err := http.Get(srv.URL + path)
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 || !strings.Contains(string(b), want) {
					t.Errorf("%s: %d %q, want %q", path, resp.StatusCode, b, want)
				}
			}
		})
	}
}

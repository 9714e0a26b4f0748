package webhook_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/imagerec/imagerec/internal/notify"
	"github.com/imagerec/imagerec/internal/notify/webhook"
)

func noSleep(context.Context, time.Duration) error { return nil }

func TestWebhook(t *testing.T) {
	t.Parallel()
	msg := notify.Message{Type: "imagerec.recognition.succeeded", Status: "SUCCEEDED", Bucket: "b", Key: "a b+c.jpg", Document: notify.Object{Bucket: "r", Key: "a b+c.jpg.json"}}
	tests := []struct {
		name      string
		statuses  []int // response per attempt; the last one repeats
		wantCalls int
		wantDead  bool
	}{
		{"first try", []int{200}, 1, false},
		{"retries 5xx then succeeds", []int{503, 500, 204}, 3, false},
		{"retries 429", []int{429, 200}, 2, false},
		{"4xx is not retried", []int{400}, 1, true},
		{"gives up after attempts", []int{502}, 4, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var calls atomic.Int32
			var bad atomic.Value
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				n := int(calls.Add(1))
				body, _ := io.ReadAll(r.Body)
				ts, _ := strconv.ParseInt(r.Header.Get(webhook.HeaderTimestamp), 10, 64)
				if !webhook.Verify("s3cret", ts, body, r.Header.Get(webhook.HeaderSignature)) {
					bad.Store("bad signature")
				}
				var got notify.Message
				if err := json.Unmarshal(body, &got); err != nil || got.Key != msg.Key {
					bad.Store("bad body: " + string(body))
				}
				st := tc.statuses[min(n, len(tc.statuses))-1]
				w.WriteHeader(st)
			}))
			t.Cleanup(srv.Close)
			dl := filepath.Join(t.TempDir(), "dead", "webhook.jsonl")
			n := webhook.New(srv.URL, webhook.Options{Secret: "s3cret", Attempts: 4, DeadLetterFile: dl, Sleep: noSleep})
			if err := n.Notify(t.Context(), msg); err != nil {
				t.Fatalf("Notify: %v", err)
			}
			if v := bad.Load(); v != nil {
				t.Fatal(v)
			}
			if got := int(calls.Load()); got != tc.wantCalls {
				t.Errorf("calls = %d, want %d", got, tc.wantCalls)
			}
			data, err := os.ReadFile(dl)
			if tc.wantDead != (err == nil) {
				t.Fatalf("dead letter file: err=%v, want dead=%v", err, tc.wantDead)
			}
			if tc.wantDead && !strings.Contains(string(data), `"a b+c.jpg"`) {
				t.Errorf("dead letter does not hold the message: %s", data)
			}
		})
	}
}

func TestWebhookUnreachable(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // nothing listens there now
	dl := filepath.Join(t.TempDir(), "dl.jsonl")
	n := webhook.New(url, webhook.Options{Attempts: 2, DeadLetterFile: dl, Sleep: noSleep})
	if err := n.Notify(t.Context(), notify.Message{Key: "k"}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dl); err != nil {
		t.Fatalf("expected a dead letter: %v", err)
	}
}

// TestWebhookDeliveryID: every attempt carries the envelope's DeliveryId
// as X-Imagerec-Delivery-Id.
func TestWebhookDeliveryID(t *testing.T) {
	t.Parallel()
	var (
		mu    sync.Mutex
		ids   []string
		calls atomic.Int32
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var m notify.Message
		_ = json.Unmarshal(body, &m)
		mu.Lock()
		ids = append(ids, r.Header.Get(webhook.HeaderDeliveryID), m.DeliveryID)
		mu.Unlock()
		if calls.Add(1) == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	n := webhook.New(srv.URL, webhook.Options{Attempts: 3, Sleep: noSleep})
	if err := n.Notify(t.Context(), notify.Message{DeliveryID: "imagerec-abc", Type: "imagerec.recognition.succeeded"}); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(ids) != 4 || ids[0] != "imagerec-abc" || ids[1] != ids[0] || ids[2] != ids[0] || ids[3] != ids[0] {
		t.Errorf("ids over two attempts (header, envelope): %q", ids)
	}
}

// TestWebhookStoppedIsNotDeadLettered: a delivery cut short by the caller's
// context is an error for the caller to retry, not a dead letter.
func TestWebhookStoppedIsNotDeadLettered(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body) // then the server sees the client go
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	}))
	defer srv.Close()
	dl := filepath.Join(t.TempDir(), "dead.jsonl")
	n := webhook.New(srv.URL, webhook.Options{DeadLetterFile: dl, Sleep: noSleep})
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	if err := n.Notify(ctx, notify.Message{DeliveryID: "imagerec-abc"}); err == nil {
		t.Fatal("a stopped delivery reported success")
	}
	if _, err := os.Stat(dl); !os.IsNotExist(err) {
		t.Errorf("dead-letter file written for a stopped delivery: %v", err)
	}
}

// TestWebhookRedactsUserinfo: the URL's user name and password never
// reach the log or the dead-letter file, and the dead-letter file (and its
// directory) are private even when an older version left them readable.
func TestWebhookRedactsUserinfo(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		handler http.Handler
	}{
		{"refused", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusForbidden) })},
		{"unreachable", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(tc.handler)
			u := strings.Replace(srv.URL, "http://", "http://hookuser:hookpass@", 1) + "/hook?x=1"
			if tc.handler == nil {
				srv.Close()
			} else {
				t.Cleanup(srv.Close)
			}
			dir := filepath.Join(t.TempDir(), "dead")
			dl := filepath.Join(dir, "webhook.jsonl")
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(dl, nil, 0o644); err != nil {
				t.Fatal(err)
			}
			var logs strings.Builder
			log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
			n := webhook.New(u, webhook.Options{Attempts: 2, DeadLetterFile: dl, Sleep: noSleep, Logger: log})
			if got := n.URL(); strings.Contains(got, "hookuser") || strings.Contains(got, "hookpass") || !strings.Contains(got, "REDACTED@127.0.0.1") || !strings.HasSuffix(got, "/hook?x=1") {
				t.Errorf("URL() = %q", got)
			}
			if err := n.Notify(t.Context(), notify.Message{Key: "k"}); err != nil {
				t.Fatal(err)
			}
			data, err := os.ReadFile(dl)
			if err != nil {
				t.Fatal(err)
			}
			for what, text := range map[string]string{"dead letter": string(data), "log": logs.String()} {
				if strings.Contains(text, "hookuser") || strings.Contains(text, "hookpass") {
					t.Errorf("%s holds the URL's userinfo:\n%s", what, text)
				}
				if !strings.Contains(text, "REDACTED@127.0.0.1") {
					t.Errorf("%s does not name the redacted URL:\n%s", what, text)
				}
			}
			for p, want := range map[string]os.FileMode{dl: 0o600} {
				if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != want {
					t.Errorf("%s: mode %v, want %v", p, fi.Mode().Perm(), want)
				}
			}
		})
	}
}

func TestRedact(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"https://hooks.example/x":             "https://hooks.example/x",
		"https://user:pass@hooks.example/x?a": "https://REDACTED@hooks.example/x?a",
		"https://token@hooks.example/":        "https://REDACTED@hooks.example/",
		"http://[::1]:8080/p":                 "http://[::1]:8080/p",
		"://bad url with pass@":               "REDACTED (unparseable URL)",
	} {
		if got := webhook.Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
}

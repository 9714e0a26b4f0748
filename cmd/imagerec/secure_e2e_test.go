package main

import (
	"context"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// openModes lists the entries under dir that other users could read or
// enter (any group or other permission bit).
func openModes(t *testing.T, dir string) []string {
	t.Helper()
	var open []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type()&fs.ModeSymlink != 0 {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if fi.Mode().Perm()&0o077 != 0 {
			rel, _ := filepath.Rel(dir, p)
			open = append(open, rel+" "+fi.Mode().Perm().String())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return open
}

// TestServeSecureDefaults runs the real binary: the banner names the
// access key id and where the secret came from but never the secret;
// everything under --data is private (files 0600, directories 0700, the
// queue's NATS files included), also after a restart on a data directory an
// older version left world-readable; a webhook without a secret is a WARN
// naming the URL with its userinfo redacted.
func TestServeSecureDefaults(t *testing.T) {
	needModels(t)
	data := t.TempDir()
	const secret = "Very-Secret-Key-0123"
	t.Setenv("IMAGEREC_SECRET_ACCESS_KEY", secret)
	t.Setenv("IMAGEREC_WEBHOOK_SECRET", "")
	s := startServer(t, data, "--webhook", "http://hookuser:hookpass@127.0.0.1:9/hook")
	c := s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String(s.endpoint), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider("imagerec", secret, "")})
	ctx := t.Context()
	putObject(ctx, t, c, "dog.jpg", photo(t, "dog.jpg"))
	if name, body := waitDocument(ctx, t, c, "dog.jpg", 3*time.Minute); name != "dog.jpg.json" {
		t.Fatalf("got %s: %.300s", name, body)
	}
	logs := s.logs.String()
	if strings.Contains(logs, secret) {
		t.Error("the secret access key appears in the output")
	}
	if !strings.Contains(logs, "credentials: AWS_ACCESS_KEY_ID=imagerec, secret access key from IMAGEREC_SECRET_ACCESS_KEY") {
		t.Errorf("banner does not name the key id and the secret's source:\n%s", tail(logs, 3000))
	}
	if !strings.Contains(logs, "level=WARN msg=\"webhook has no secret") || !strings.Contains(logs, "REDACTED@127.0.0.1:9/hook") {
		t.Errorf("no WARN about the unsigned webhook naming its redacted URL:\n%s", tail(logs, 3000))
	}
	if strings.Contains(logs, "hookpass") || strings.Contains(logs, "hookuser") {
		t.Error("the webhook URL's userinfo appears in the output")
	}
	if strings.Contains(logs, "non-loopback") {
		t.Error("loopback --listen warned about the network")
	}
	// Wait for the dead letter (nothing listens on port 9), then stop.
	dl := filepath.Join(data, "deadletter", "webhook.jsonl")
	deadline := time.Now().Add(time.Minute)
	for {
		b, err := os.ReadFile(dl)
		if err == nil && len(b) > 0 {
			if strings.Contains(string(b), "hookpass") || !strings.Contains(string(b), "REDACTED@") {
				t.Errorf("dead letter does not redact the URL: %s", b)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no dead letter for the unreachable webhook")
		}
		time.Sleep(100 * time.Millisecond)
	}
	s.stop()
	if open := openModes(t, data); len(open) > 0 {
		t.Errorf("entries readable by other users after a run:\n%s", strings.Join(open, "\n"))
	}
	for _, sub := range []string{"objects", "queue", "executions", "deadletter"} {
		if _, err := os.Stat(filepath.Join(data, sub)); err != nil {
			t.Errorf("%s: %v (the check would miss it)", sub, err)
		}
	}

	// An older version left everything world-readable.
	err := filepath.WalkDir(data, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.Type()&fs.ModeSymlink != 0 {
			return err
		}
		mode := fs.FileMode(0o644)
		if d.IsDir() {
			mode = 0o755
		}
		return os.Chmod(p, mode)
	})
	if err != nil {
		t.Fatal(err)
	}
	s2 := startServer(t, data)
	if open := openModes(t, data); len(open) > 0 {
		t.Errorf("entries still readable by other users after a restart:\n%s", strings.Join(open, "\n"))
	}
	if !strings.Contains(s2.logs.String(), "data directory was readable by other users") {
		t.Errorf("no WARN about the permissions fixed:\n%s", tail(s2.logs.String(), 3000))
	}
	// And the documented default secret is never printed either.
	if l := s2.logs.String(); strings.Contains(l, secret) || !strings.Contains(l, "secret access key from IMAGEREC_SECRET_ACCESS_KEY") {
		t.Errorf("second banner:\n%s", tail(l, 2000))
	}
}

// TestServeDefaultSecretNotPrinted: with no secret set, the banner says the
// documented default is in use without printing it.
func TestServeDefaultSecretNotPrinted(t *testing.T) {
	needModels(t)
	t.Setenv("IMAGEREC_SECRET_ACCESS_KEY", "")
	s := startServer(t, t.TempDir())
	// The banner is printed once the server is ready: wait for a request.
	resp, err := http.Get(s.endpoint + "/_imagerec/healthz")
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	l := s.logs.String()
	if strings.Contains(l, "imagerec-local-secret") || !strings.Contains(l, "secret access key from the documented default") {
		t.Errorf("banner:\n%s", tail(l, 2000))
	}
}

// TestServeWarnsOffLoopback: --listen on every interface is a WARN before
// anything else starts. It runs in-process with a cancelled context, so
// the server stops right after binding (port 0: a free one, for a moment).
func TestServeWarnsOffLoopback(t *testing.T) {
	var logs strings.Builder
	env := &Env{Stdin: strings.NewReader(""), Stdout: io.Discard, Stderr: io.Discard, Getenv: func(string) string { return "" },
		Logger: slog.New(slog.NewTextHandler(&logs, nil))}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_ = cmdServe(ctx, env, []string{"--listen", "0.0.0.0:0", "--data", t.TempDir(), "--cache", t.TempDir()})
	if !strings.Contains(logs.String(), `level=WARN msg="listening on a non-loopback address`) || !strings.Contains(logs.String(), "listen=0.0.0.0:0") {
		t.Errorf("no WARN for --listen 0.0.0.0:0:\n%s", logs.String())
	}
}

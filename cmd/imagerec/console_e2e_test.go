package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/imagerec/imagerec/internal/cachedir"
	"github.com/imagerec/imagerec/internal/citest"
)

// needBrowser returns node and the shared browser harness
// (tools/browser/install.sh: Debian chromium, playwright-core), skipping
// when they are missing, or failing under CI.
func needBrowser(t testing.TB) (node, modules string) {
	t.Helper()
	cache, err := cachedir.Root(os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	modules = filepath.Join(cache, "browser", "node_modules")
	node, err = exec.LookPath("node")
	var missing []string
	if err != nil {
		missing = append(missing, "node")
	}
	if _, err := os.Stat(filepath.Join(modules, "playwright-core")); err != nil {
		missing = append(missing, "playwright-core in "+modules)
	}
	if _, err := os.Stat("/usr/bin/chromium"); err != nil {
		missing = append(missing, "/usr/bin/chromium")
	}
	if len(missing) == 0 {
		return node, modules
	}
	msg := "browser tests need " + strings.Join(missing, ", ") + " (run tools/browser/install.sh)"
	citest.Skip(t, msg)
	return "", ""
}

// screenshotDir is where the console's screenshots go: IMAGEREC_SCREENSHOTS
// or build/screenshots in the repository (CI keeps it as an artefact).
func screenshotDir(t testing.TB) string {
	if d := os.Getenv("IMAGEREC_SCREENSHOTS"); d != "" {
		return d
	}
	return filepath.Join(repoRoot(t), "build", "screenshots")
}

var tokenRE = regexp.MustCompile(`console:\s+(http://127\.0\.0\.1:\d+)/_imagerec/\?token=(\S+)`)

// signInToken waits for the banner's console line and returns its token.
func (s *testServer) signInToken() string {
	s.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if m := tokenRE.FindStringSubmatch(s.logs.String()); m != nil {
			if m[1] != s.endpoint {
				s.t.Fatalf("console link %s is not on the endpoint %s", m[1], s.endpoint)
			}
			return m[2]
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.t.Fatalf("no console sign-in link in the banner:\n%s", tail(s.logs.String(), 3000))
	return ""
}

// runConsole runs tools/browser/console.js in mode with job and returns
// its report.
func runConsole(t testing.TB, node, modules, mode string, job map[string]any) map[string]any {
	t.Helper()
	dir := t.TempDir()
	job["modules"] = modules
	job["out"] = filepath.Join(dir, "report.json")
	b, _ := json.Marshal(job)
	jobFile := filepath.Join(dir, "job.json")
	if err := os.WriteFile(jobFile, b, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), node, filepath.Join(repoRoot(t), "tools", "browser", "console.js"), mode, jobFile)
	out, err := cmd.CombinedOutput()
	t.Logf("console.js %s:\n%s", mode, out)
	var report map[string]any
	if b, rerr := os.ReadFile(job["out"].(string)); rerr == nil {
		_ = json.Unmarshal(b, &report)
	}
	if err != nil {
		t.Fatalf("console.js %s: %v", mode, err)
	}
	return report
}

// consoleRoutes are the console's API calls, each refused without a
// session.
var consoleRoutes = []struct{ method, path string }{
	{"GET", "session"}, {"POST", "signout"}, {"GET", "results"}, {"GET", "result?key=dog.jpg"},
	{"GET", "thumb?key=dog.jpg"}, {"GET", "preview?key=dog.jpg"}, {"GET", "original?key=dog.jpg"},
	{"POST", "uploads"}, {"GET", "executions"}, {"GET", "execution?name=x"}, {"GET", "statemachine"},
	{"GET", "health"}, {"GET", "events"},
}

// TestConsole runs the web console in Debian's Chromium against the real
// binary: sign-in with the start-up link (single use) and with the form,
// every API call refused without a session, another Host refused, three photos and a corrupt file
// uploaded through the page to their final states, the gallery updated
// live, a label search, the detail views' layers, an execution's graph
// all green, no horizontal overflow at 1280 and 390 px on every view, and
// no image requests from an idle page. Screenshots go to
// IMAGEREC_SCREENSHOTS (default build/screenshots); with
// IMAGEREC_CONSOLE_DOCS=docs the README's screenshots are made too, with
// more photos.
func TestConsole(t *testing.T) {
	needModels(t)
	node, modules := needBrowser(t)
	s := startServer(t, t.TempDir())
	token := s.signInToken()

	// Without a session, every API call is refused (the browser checks
	// again from a page).
	for _, r := range consoleRoutes {
		req, _ := http.NewRequestWithContext(t.Context(), r.method, s.endpoint+"/_imagerec/api/"+r.path, strings.NewReader("{}"))
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s %s without a session: %d %s", r.method, r.path, resp.StatusCode, body)
		}
	}
	// A Host header of another name (DNS rebinding) is refused, on the
	// page, the API, metrics and health; the S3 API is not the console's.
	for _, p := range []string{"/_imagerec/", "/_imagerec/api/session", "/_imagerec/metrics", "/_imagerec/healthz"} {
		req, _ := http.NewRequestWithContext(t.Context(), "GET", s.endpoint+p, nil)
		req.Host = "rebind.example:9000"
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMisdirectedRequest {
			t.Errorf("Host rebind.example on %s: %d, want 421", p, resp.StatusCode)
		}
	}

	root := repoRoot(t)
	img := func(rel string) string { return filepath.Join(root, rel) }
	uploads := []string{img("testdata/images/dog.jpg"), img("testdata/images/astronaut.jpg"), img("internal/vision/onnx/testdata/ocr/page.png")}
	docs := os.Getenv("IMAGEREC_CONSOLE_DOCS")
	if docs != "" {
		if !filepath.IsAbs(docs) {
			docs = filepath.Join(root, docs)
		}
		for _, n := range []string{"person.jpg", "chelsea.jpg", "coffee.jpg", "rocket.jpg", "text.png"} {
			uploads = append(uploads, img("testdata/images/"+n))
		}
		uploads = append(uploads, img("internal/vision/onnx/testdata/faces/camera.png"))
	}
	corrupt := filepath.Join(t.TempDir(), "corrupt.jpg")
	if err := os.WriteFile(corrupt, []byte("this is not a JPEG, only its name says so\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	shots := screenshotDir(t)
	start := time.Now()
	report := runConsole(t, node, modules, "e2e", map[string]any{
		"base": s.endpoint, "token": token, "uploads": uploads, "corrupt": corrupt,
		"accessKeyId": "imagerec", "secretAccessKey": "imagerec-local-secret",
		"screenshots": shots, "docs": docs, "idleSeconds": idleSeconds(), "timeoutSeconds": 240,
		"search": map[string]string{"text": "bicycle", "key": "dog.jpg"},
		"details": []map[string]any{
			{"key": "dog.jpg", "min": map[string]int{"objects": 1, "labels": 1, "captions": 1}},
			{"key": "astronaut.jpg", "min": map[string]int{"faces": 1, "landmarks": 1, "labels": 1}},
			{"key": "page.png", "min": map[string]int{"textPolygons": 1}},
		},
		"happyPath": []string{"InspectImage", "ImageTypeCheck", "ImageRecognition", "StoreResults", "Notify", "Done"},
	})
	t.Logf("browser part took %s; screenshots in %s", time.Since(start).Round(time.Second), shots)
	idle, _ := report["idle"].(map[string]any)
	t.Logf("idle page over %v s: %v requests, %v bytes, %v image requests (%v)", idle["seconds"], idle["requests"], idle["bytes"], idle["imageRequests"], idle["urls"])
	if n, _ := idle["imageRequests"].(float64); n != 0 {
		t.Errorf("idle page made %v image requests", n)
	}
	// The API traffic of the page came through the console, which the
	// metrics count: nothing failed with a 5xx.
	resp, err := http.Get(s.endpoint + "/_imagerec/metrics")
	if err != nil {
		t.Fatal(err)
	}
	m, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if regexp.MustCompile(`imagerec_http_requests_total\{api="ui",code="5\d\d"\}`).Match(m) {
		t.Errorf("the console answered 5xx:\n%s", regexp.MustCompile(`(?m)^imagerec_http_requests_total\{api="ui".*$`).FindAll(m, -1))
	}
}

// idleSeconds is how long TestConsole watches an idle page:
// IMAGEREC_CONSOLE_IDLE (the report's 60 s measurement) or 10.
func idleSeconds() int {
	var n int
	if _, err := fmt.Sscan(os.Getenv("IMAGEREC_CONSOLE_IDLE"), &n); err == nil && n > 0 {
		return n
	}
	return 10
}

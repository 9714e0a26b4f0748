package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/imagerec/imagerec/internal/imageio/imageiotest"
	"github.com/imagerec/imagerec/internal/pipeline"
	"github.com/imagerec/imagerec/internal/vision"
)

// peakRSS is the VmHWM of process pid (its peak resident set), in bytes.
func peakRSS(t testing.TB, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Skipf("no /proc here: %v", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) == 3 && f[0] == "VmHWM:" && f[2] == "kB" {
			kb, err := strconv.ParseInt(f[1], 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatalf("no VmHWM in /proc/%d/status", pid)
	return 0
}

// metricValue reads one sample from the server's Prometheus metrics.
func metricValue(t *testing.T, s *testServer, name string) float64 {
	t.Helper()
	resp, err := http.Get(s.endpoint + "/_imagerec/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	text, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(text), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatal(err)
			}
			return f
		}
	}
	t.Fatalf("metrics lack %s", name)
	return 0
}

// hasDocument reports whether key has a result or error document.
func hasDocument(ctx context.Context, c *s3.Client, key string) bool {
	for _, k := range []string{key + ".json", key + ".error.json"} {
		if _, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(testResult), Key: aws.String(k)}); err == nil {
			return true
		}
	}
	return false
}

// maxServeRSS is issue 9's goal for the whole `serve` with 2 workers while
// it analyses 10000x10000 16-bit PNGs (before the row decoder and the
// budget: 2.1 GB for one, 5.5 GB for four at once).
const maxServeRSS = 1200 << 20

// TestServeLargePNGMemory uploads the 100 MP 16-bit RGBA PNG "memory bomb"
// (4.6 MB on disk, within every limit) to a real `serve` with 2 workers,
// then four of them at once, and checks the process's peak RSS and that
// the memory budget was never exceeded: the images waited for each other.
func TestServeLargePNGMemory(t *testing.T) {
	needModels(t)
	big := imageiotest.LargePNG(10000, 10000, imageiotest.RGBA, 16)
	const budget = 800 << 20 // one such image at a time
	s := startServer(t, t.TempDir(), "--workers", "2", "--memory-budget", "800MiB")
	c := s.client()
	ctx := t.Context()

	putObject(ctx, t, c, "big/one.png", big)
	if name, body := waitDocument(ctx, t, c, "big/one.png", 3*time.Minute); name != "big/one.png.json" {
		t.Fatalf("got %s: %.300s", name, body)
	}
	one := peakRSS(t, s.cmd.Process.Pid)
	t.Logf("peak RSS after one 10000x10000 16-bit PNG: %d MiB", one>>20)
	if one > maxServeRSS {
		t.Errorf("peak RSS %d MiB, want under %d MiB", one>>20, maxServeRSS>>20)
	}

	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() { putObject(ctx, t, c, fmt.Sprintf("big/four-%d.png", i), big) })
	}
	wg.Wait()
	waited := false
	for i := range 4 {
		key := fmt.Sprintf("big/four-%d.png", i)
		deadline := time.Now().Add(5 * time.Minute)
		for !waited && time.Now().Before(deadline) {
			if metricValue(t, s, "imagerec_memory_budget_waiting") > 0 {
				waited = true
			}
			if hasDocument(ctx, c, key) {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		if name, body := waitDocument(ctx, t, c, key, 5*time.Minute); name != key+".json" {
			t.Errorf("got %s: %.300s", name, body)
		}
	}
	four := peakRSS(t, s.cmd.Process.Pid)
	peak, size := metricValue(t, s, "imagerec_memory_budget_peak_bytes"), metricValue(t, s, "imagerec_memory_budget_bytes")
	t.Logf("peak RSS after four at once: %d MiB; budget peak %.0f MiB of %.0f MiB", four>>20, peak/(1<<20), size/(1<<20))
	if size != budget || peak > size || peak < 300<<20 {
		t.Errorf("budget peak %.0f of %.0f bytes, want one image's cost within the %d-byte budget", peak, size, budget)
	}
	if !waited {
		t.Error("no image waited for the memory budget (imagerec_memory_budget_waiting stayed 0)")
	}
	if four > maxServeRSS {
		t.Errorf("peak RSS %d MiB with four uploads, want under %d MiB", four>>20, maxServeRSS>>20)
	}
	if !strings.Contains(s.logs.String(), `msg="memory budget for analysing images" budget="800 MiB"`) {
		t.Error("the start-up log does not state the memory budget")
	}
}

// TestRecognizeCommandLimits: the recognize command answers an image
// larger than the whole memory budget with ImageTooLargeException and one
// under Rekognition's 80 px minimum with InvalidParameterException.
func TestRecognizeCommandLimits(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big.png")
	small := filepath.Join(dir, "small.png")
	if err := os.WriteFile(big, imageiotest.LargePNG(6000, 6000, imageiotest.RGB, 8), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(small, imageiotest.LargePNG(1, 1, imageiotest.RGB, 8), 0o600); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	_, stderr, err := runRecognize(t, "--features", "labels", "--memory-budget", "64MiB", "--out", out, big, small)
	var ee *exitError
	if !errors.As(err, &ee) || ee.code != 1 || !strings.Contains(stderr, "2 failed") {
		t.Fatalf("err = %v, stderr %q: want exit 1 with both failed", err, stderr)
	}
	var doc pipeline.ErrorDocument
	readJSON(t, filepath.Join(out, "big.png.error.json"), &doc)
	if doc.Error != vision.CodeImageTooLarge || !strings.Contains(doc.Message, "memory budget is 64 MiB") {
		t.Errorf("big.png: %+v", doc)
	}
	readJSON(t, filepath.Join(out, "small.png.error.json"), &doc)
	if doc.Error != vision.CodeInvalidParameter || !strings.Contains(doc.Message, "at least 80") {
		t.Errorf("small.png: %+v", doc)
	}
}

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/imagerec/imagerec/internal/objstore"
	"github.com/imagerec/imagerec/internal/objstore/diskstore"
)

// seedResults writes n small JPEG uploads and a result document for each
// straight into a data directory's object store (before serve opens it),
// cycling through real engine documents (internal/gallery/testdata) with
// their Source pointing at the new object.
func seedResults(b *testing.B, data string, n int) {
	b.Helper()
	ctx := context.Background()
	st, err := diskstore.Open(filepath.Join(data, "objects"), diskstore.Options{})
	if err != nil {
		b.Fatal(err)
	}
	for _, bk := range []string{testUpload, testResult} {
		if err := st.CreateBucket(ctx, bk); err != nil {
			b.Fatal(err)
		}
	}
	var docs []map[string]any
	for _, f := range []string{"astronaut.json", "page.json", "dog.json"} {
		raw, err := os.ReadFile(filepath.Join(repoRoot(b), "internal", "gallery", "testdata", f))
		if err != nil {
			b.Fatal(err)
		}
		var d map[string]any
		if err := json.Unmarshal(raw, &d); err != nil {
			b.Fatal(err)
		}
		docs = append(docs, d)
	}
	// 32 different small photos-to-be: gradients with a few blocks.
	var jpgs [][]byte
	r := rand.New(rand.NewPCG(7, 11))
	for range 32 {
		im := image.NewRGBA(image.Rect(0, 0, 320, 240))
		c0 := color.RGBA{uint8(r.IntN(256)), uint8(r.IntN(256)), uint8(r.IntN(256)), 255}
		for y := range 240 {
			for x := range 320 {
				im.SetRGBA(x, y, color.RGBA{c0.R + uint8(x/4), c0.G + uint8(y/4), c0.B, 255})
			}
		}
		for range 4 {
			x0, y0 := r.IntN(280), r.IntN(200)
			c := color.RGBA{uint8(r.IntN(256)), uint8(r.IntN(256)), uint8(r.IntN(256)), 255}
			for y := y0; y < y0+40; y++ {
				for x := x0; x < x0+40; x++ {
					im.SetRGBA(x, y, c)
				}
			}
		}
		var buf bytes.Buffer
		if err := jpeg.Encode(&buf, im, &jpeg.Options{Quality: 80}); err != nil {
			b.Fatal(err)
		}
		jpgs = append(jpgs, buf.Bytes())
	}
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for w := range 4 {
		wg.Go(func() {
			for i := w; i < n; i += 4 {
				key := fmt.Sprintf("photos/img-%05d.jpg", i)
				info, err := st.PutObject(ctx, testUpload, key, bytes.NewReader(jpgs[i%len(jpgs)]), objstore.PutOptions{ContentType: "image/jpeg"})
				if err != nil {
					errs <- err
					return
				}
				d := map[string]any{}
				for k, v := range docs[i%len(docs)] {
					d[k] = v
				}
				d["Source"] = map[string]any{"Bucket": testUpload, "Key": key, "ETag": info.ETag, "Size": info.Size}
				d["Image"] = map[string]any{"Width": 320, "Height": 240, "Format": "jpeg", "OrientationCorrection": "ROTATE_0"}
				body, _ := json.MarshalIndent(d, "", "  ")
				if _, err := st.PutObject(ctx, testResult, key+".json", bytes.NewReader(body), objstore.PutOptions{ContentType: "application/json"}); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		b.Fatal(err)
	}
}

var indexedRE = regexp.MustCompile(`console: result bucket indexed" results=(\d+) duration_ms=(\d+)`)

// BenchmarkConsoleFirstPaint10k opens the gallery over 10,000 results in
// Debian's Chromium and reports the time to first paint (FCP) and until
// the first screen of thumbnails has painted, cold (thumbnails made on the
// server as the page asks) and warm (made already, browser cache empty),
// plus how long serve took to index the result bucket at start:
//
//	go test -run '^$' -bench ConsoleFirstPaint10k -benchtime 1x ./cmd/imagerec
func BenchmarkConsoleFirstPaint10k(b *testing.B) {
	needModels(b)
	node, modules := needBrowser(b)
	const n = 10000
	data := b.TempDir()
	t0 := time.Now()
	seedResults(b, data, n)
	b.Logf("seeded %d uploads and documents in %s", n, time.Since(t0).Round(time.Second))
	s := startServer(b, data)
	deadline := time.Now().Add(5 * time.Minute)
	var m []string
	for m == nil && time.Now().Before(deadline) {
		m = indexedRE.FindStringSubmatch(s.logs.String())
		time.Sleep(100 * time.Millisecond)
	}
	if m == nil {
		b.Fatalf("the result bucket was not indexed:\n%s", tail(s.logs.String(), 3000))
	}
	if m[1] != strconv.Itoa(n) {
		b.Fatalf("indexed %s results, want %d", m[1], n)
	}
	indexMs, _ := strconv.ParseFloat(m[2], 64)
	for b.Loop() {
		report := runConsole(b, node, modules, "firstpaint", map[string]any{
			"base": s.endpoint, "accessKeyId": "imagerec", "secretAccessKey": "imagerec-local-secret", "runs": 3,
			"screenshots": screenshotDir(b),
		})
		runs, _ := report["runs"].([]any)
		if len(runs) != 3 {
			b.Fatalf("report: %v", report)
		}
		get := func(i int, k string) float64 { v, _ := runs[i].(map[string]any)[k].(float64); return v }
		b.ReportMetric(get(0, "fcpMs"), "fcp-cold-ms")
		b.ReportMetric(get(0, "wallMs"), "thumbs-cold-ms")
		b.ReportMetric((get(1, "fcpMs")+get(2, "fcpMs"))/2, "fcp-warm-ms")
		b.ReportMetric((get(1, "wallMs")+get(2, "wallMs"))/2, "thumbs-warm-ms")
		b.ReportMetric(get(1, "resultsApiMs"), "results-api-ms")
	}
	b.ReportMetric(indexMs, "index-10k-ms")
}

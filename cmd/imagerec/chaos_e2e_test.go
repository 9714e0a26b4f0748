package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
)

// TestServeChaos is issue 9's hostile user, bounded to about two minutes:
// SIGKILL rounds with uploads in flight, and between them a damaged queue
// block, a truncated execution file and a removed queue directory, plus
// keys at and over the document-name limit. After the last restart every
// accepted upload has exactly one document, the server is up and healthy
// enough to say what it repaired, the queue is drained, and the log names
// each damaged item.
func TestServeChaos(t *testing.T) {
	needModels(t)
	if testing.Short() {
		t.Skip("slow")
	}
	start := time.Now()
	data := t.TempDir()
	img := photo(t, "chelsea.jpg")
	args := []string{"--features", "labels", "--workers", "2", "--reconcile-interval", "3s"}
	var (
		mu       sync.Mutex
		accepted = map[string]bool{}
		servers  []*testServer
	)
	queueDir := filepath.Join(data, "queue")
	blocks := func() []string {
		b, _ := filepath.Glob(filepath.Join(queueDir, "jetstream", "$G", "streams", "IMAGEREC", "msgs", "*.blk"))
		return b
	}
	// Each round: uploads in flight from three writers; SIGKILL once this
	// round has 15 accepted; then the damage for the next start.
	damages := []struct {
		name   string
		damage func(t *testing.T) string // returns what the log must name
	}{
		{"damaged queue block", func(t *testing.T) string {
			b := blocks()
			if len(b) == 0 {
				t.Fatal("no queue block to damage")
			}
			f := b[len(b)-1]
			body, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			for i := len(body) / 2; i < len(body)/2+64 && i < len(body); i++ {
				body[i] ^= 0xff
			}
			if err := os.WriteFile(f, body, 0o600); err != nil {
				t.Fatal(err)
			}
			return "queue lost"
		}},
		{"truncated execution file", func(t *testing.T) string {
			files, _ := filepath.Glob(filepath.Join(data, "executions", "*.json"))
			if len(files) == 0 {
				t.Fatal("no execution file to truncate")
			}
			f := files[len(files)/2]
			info, err := os.Stat(f)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.Truncate(f, info.Size()/2); err != nil {
				t.Fatal(err)
			}
			return f
		}},
		{"removed queue directory", func(t *testing.T) string {
			if err := os.RemoveAll(queueDir); err != nil {
				t.Fatal(err)
			}
			return "queue directory " + queueDir + " was missing"
		}},
	}
	var mustName []string
	for round := 0; round <= len(damages); round++ {
		s := startServer(t, data, args...)
		servers = append(servers, s)
		c := s.client()
		ctx, cancel := context.WithCancel(t.Context())
		var wg sync.WaitGroup
		n := 0
		enough := make(chan struct{})
		for w := range 3 {
			wg.Go(func() {
				for i := 0; ctx.Err() == nil; i++ {
					key := fmt.Sprintf("chaos/r%d-w%d-%03d.jpg", round, w, i)
					_, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(testUpload), Key: aws.String(key), Body: bytes.NewReader(img)})
					if err != nil {
						continue
					}
					mu.Lock()
					accepted[key] = true
					if n++; n == 15 {
						close(enough)
					}
					mu.Unlock()
				}
			})
		}
		if round == len(damages) {
			// Keys at the limits, through the same SDK.
			longest := strings.Repeat("k", 1013-len(".jpg")) + ".jpg"
			if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(testUpload), Key: aws.String(longest), Body: bytes.NewReader(img)}); err != nil {
				t.Errorf("1013-byte key: %v", err)
			} else {
				mu.Lock()
				accepted[longest] = true
				mu.Unlock()
			}
			_, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(testUpload), Key: aws.String(strings.Repeat("k", 1024)), Body: bytes.NewReader(img)})
			var ae smithy.APIError
			if !errors.As(err, &ae) || ae.ErrorCode() != "KeyTooLongError" {
				t.Errorf("1024-byte key: %v, want KeyTooLongError", err)
			}
		}
		select {
		case <-enough:
		case <-time.After(time.Minute):
			t.Fatalf("round %d: fewer than 15 uploads accepted in a minute", round)
		}
		s.kill() // uploads and executions in flight
		cancel()
		wg.Wait()
		if round < len(damages) {
			mustName = append(mustName, damages[round].damage(t))
		}
	}

	// The last restart: every accepted upload gets exactly one document.
	s := startServer(t, data, args...)
	servers = append(servers, s)
	c := s.client()
	t.Logf("%d uploads accepted in %d rounds (%s)", len(accepted), len(damages)+1, time.Since(start).Round(time.Second))
	deadline := time.Now().Add(3 * time.Minute)
	for {
		docs := resultDocuments(t, c)
		missing, double := 0, 0
		for k := range accepted {
			switch docs[k] {
			case 0:
				missing++
			case 1:
			default:
				double++
			}
		}
		if double > 0 {
			t.Fatalf("%d uploads have two documents", double)
		}
		if missing == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d accepted uploads have no document", missing, len(accepted))
		}
		time.Sleep(500 * time.Millisecond)
	}
	// Nothing stuck in the queue, and the server says what it repaired.
	waitMetric(t, s.endpoint, "imagerec_queue_pending 0", time.Minute)
	resp, err := http.Get(s.endpoint + "/_imagerec/healthz")
	if err != nil {
		t.Fatalf("server down after the last restart: %v", err)
	}
	health, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.HasPrefix(string(health), "degraded\n") || !strings.Contains(string(health), "quarantine") {
		t.Errorf("healthz after the damage: %q", health)
	}
	var logs strings.Builder
	for _, srv := range servers {
		logs.WriteString(srv.logs.String())
	}
	for _, name := range mustName {
		if !strings.Contains(logs.String(), name) {
			t.Errorf("the log never names %q", name)
		}
	}
	if !strings.Contains(logs.String(), "reconcile: upload had no document") {
		t.Error("no upload was reconciled after the queue damage")
	}
	t.Logf("chaos test took %s", time.Since(start).Round(time.Second))
}

// resultDocuments counts documents per upload key in the result bucket.
func resultDocuments(t *testing.T, c *s3.Client) map[string]int {
	t.Helper()
	docs := map[string]int{}
	p := s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: aws.String(testResult)})
	for p.HasMorePages() {
		out, err := p.NextPage(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range out.Contents {
			k := *o.Key
			if strings.HasPrefix(k, "_imagerec/") {
				continue
			}
			if b, ok := strings.CutSuffix(k, ".error.json"); ok {
				docs[b]++
			} else if b, ok := strings.CutSuffix(k, ".json"); ok {
				docs[b]++
			}
		}
	}
	return docs
}

// waitMetric polls the metrics until a line is there.
func waitMetric(t *testing.T, endpoint, line string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		resp, err := http.Get(endpoint + "/_imagerec/metrics")
		if err != nil {
			t.Fatal(err)
		}
		text, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if strings.Contains(string(text), "\n"+line+"\n") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("metrics lack %q", line)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

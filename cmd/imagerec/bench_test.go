package main

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// BenchmarkPipeline uploads photos concurrently to a running `imagerec
// serve` and measures until every result document exists: images/s and the
// p50/p99 latency from a PUT's 200 to its document. Compare with
// ../shared/research/perf-anchors.md (2 cores: ~9-17 img/s for decode +
// one detector; this runs four analyses per image).
//
//	go test -run '^$' -bench Pipeline -benchtime 1x ./cmd/imagerec/
func BenchmarkPipeline(b *testing.B) {
	needModels(b)
	s := startServer(b, b.TempDir())
	c := s.client()
	ctx := b.Context()
	photos := map[string][]byte{}
	for _, n := range []string{"dog.jpg", "person.jpg", "astronaut.jpg", "coffee.jpg", "text.png"} {
		photos[n] = photo(b, n)
	}
	// Warm up: first image loads lazily-initialised state.
	putObject(ctx, b, c, "warmup.jpg", photos["dog.jpg"])
	waitDocument(ctx, b, c, "warmup.jpg", 2*time.Minute)

	const perRound = 40
	b.ResetTimer()
	var lat []time.Duration
	var total time.Duration
	for round := range b.N {
		l, d := pipelineRound(ctx, b, c, round, perRound, photos)
		lat = append(lat, l...)
		total += d
	}
	b.StopTimer()
	slices.Sort(lat)
	n := len(lat)
	b.ReportMetric(float64(n)/total.Seconds(), "images/s")
	b.ReportMetric(float64(lat[n/2].Milliseconds()), "p50_ms")
	b.ReportMetric(float64(lat[min(n-1, n*99/100)].Milliseconds()), "p99_ms")
}

func pipelineRound(ctx context.Context, b *testing.B, c *s3.Client, round, count int, photos map[string][]byte) ([]time.Duration, time.Duration) {
	names := make([]string, 0, len(photos))
	for n := range photos {
		names = append(names, n)
	}
	slices.Sort(names)
	start := time.Now()
	var mu sync.Mutex
	var lat []time.Duration
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for i := range count {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			name := names[i%len(names)]
			key := fmt.Sprintf("bench/%d/%d-%s", round, i, name)
			_, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(testUpload), Key: aws.String(key), Body: bytes.NewReader(photos[name])})
			<-sem
			if err != nil {
				b.Error(err)
				return
			}
			put := time.Now()
			for {
				_, err1 := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(testResult), Key: aws.String(key + ".json")})
				_, err2 := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(testResult), Key: aws.String(key + ".error.json")})
				if err1 == nil || err2 == nil {
					break
				}
				if time.Since(put) > 5*time.Minute {
					b.Errorf("%s: no document", key)
					return
				}
				time.Sleep(20 * time.Millisecond)
			}
			mu.Lock()
			lat = append(lat, time.Since(put))
			mu.Unlock()
		}()
	}
	wg.Wait()
	return lat, time.Since(start)
}

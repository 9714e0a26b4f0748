package queue_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/imagerec/imagerec/internal/queue"
)

// collect consumes until want distinct messages were handled or the
// deadline passes, and returns how often each message was handled.
func collect(t *testing.T, q *queue.Queue, want int, h func(data string, n int) error) map[string]int {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	var mu sync.Mutex
	seen := map[string]int{}
	done := 0
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		_ = q.Consume(ctx, 3, func(_ context.Context, data []byte) error {
			mu.Lock()
			seen[string(data)]++
			n := seen[string(data)]
			mu.Unlock()
			err := h(string(data), n)
			if err == nil {
				mu.Lock()
				done++
				if done == want {
					cancel()
				}
				mu.Unlock()
			}
			return err
		})
	}()
	<-ctx.Done()
	<-stopped
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Fatalf("timed out; handled %v", seen)
	}
	mu.Lock()
	defer mu.Unlock()
	return seen
}

func TestDeduplicatesAndDelivers(t *testing.T) {
	dir := t.TempDir()
	q, err := queue.Open(t.Context(), queue.Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	for i := range 50 {
		for range 2 { // every event published twice, like a duplicate S3 event
			if err := q.Publish(t.Context(), fmt.Sprint("id-", i), []byte(fmt.Sprint("msg-", i))); err != nil {
				t.Fatal(err)
			}
		}
	}
	seen := collect(t, q, 50, func(string, int) error { return nil })
	if len(seen) != 50 {
		t.Fatalf("handled %d distinct messages, want 50", len(seen))
	}
	for k, n := range seen {
		if n != 1 {
			t.Errorf("%s handled %d times", k, n)
		}
	}
}

func TestRedeliversAfterErrorAndRestart(t *testing.T) {
	dir := t.TempDir()
	q, err := queue.Open(t.Context(), queue.Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if err := q.Publish(t.Context(), fmt.Sprint(i), []byte(fmt.Sprint("m", i))); err != nil {
			t.Fatal(err)
		}
	}
	q.Close() // "crash" before anything was consumed

	q, err = queue.Open(t.Context(), queue.Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	if n, err := q.Pending(t.Context()); err != nil || n != 5 {
		t.Fatalf("pending after restart = %d, %v; want 5", n, err)
	}
	seen := collect(t, q, 5, func(data string, n int) error {
		if data == "m3" && n == 1 {
			return errors.New("transient")
		}
		return nil
	})
	if seen["m3"] != 2 {
		t.Errorf("m3 handled %d times, want 2 (fail, then redelivered)", seen["m3"])
	}
	if n, err := q.Pending(t.Context()); err != nil || n != 0 {
		t.Errorf("pending after consuming = %d, %v; want 0", n, err)
	}
}

// TestRedeliversMessageHeldByDeadWorker: a worker fetched a message and the
// process stopped before acking; after a restart the message comes back
// within AckWait.
func TestRedeliversMessageHeldByDeadWorker(t *testing.T) {
	dir := t.TempDir()
	cfg := queue.Config{Dir: dir, AckWait: 2 * time.Second}
	q, err := queue.Open(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := q.Publish(t.Context(), "held", []byte("held")); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	got := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		_ = q.Consume(ctx, 1, func(hctx context.Context, _ []byte) error {
			close(got)
			<-hctx.Done() // never finishes: the process "dies" holding it
			return hctx.Err()
		})
	}()
	<-got
	q.Close()
	cancel()
	<-stopped

	q, err = queue.Open(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	start := time.Now()
	seen := collect(t, q, 1, func(string, int) error { return nil })
	if seen["held"] != 1 {
		t.Fatalf("seen = %v", seen)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("redelivered after %s, want within about AckWait", d)
	}
}

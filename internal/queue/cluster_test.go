package queue_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/imagerec/imagerec/internal/natstest"
	"github.com/imagerec/imagerec/internal/queue"
)

func openCluster(t *testing.T, c *natstest.Cluster, cfg queue.Config) *queue.Queue {
	t.Helper()
	if testing.Verbose() {
		cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil)).With("process", cfg.Name)
	}
	cfg.Servers = c.URLs()
	cfg.Replicas = 3
	q, err := queue.Open(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(q.Close)
	return q
}

// Two processes' queues on one three-node cluster share the stream and
// the consumer: every event (published twice, as a duplicate S3 event
// would be) is stored once and handled by one of them, both take part,
// and with one node stopped in the middle every event is still handled
// and acked. Delivery is at least once: an ack lost in the failover
// brings a message back (the pipeline's execution names make that a
// duplicate, not a second run).
func TestClusterSharesWorkOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a nats cluster")
	}
	c := natstest.Start(t, 3)
	a := openCluster(t, c, queue.Config{Name: "a", AckWait: 3 * time.Second})
	b := openCluster(t, c, queue.Config{Name: "b", AckWait: 3 * time.Second}) // the stream exists: created idempotently
	if !a.External() {
		t.Fatal("queue with Servers is not external")
	}
	checkReplicas(t, c, 3, false)
	const n = 60
	publish := func(from, to int) {
		for i := from; i < to; i++ {
			q := a
			if i%2 == 1 {
				q = b
			}
			for range 2 {
				if err := q.Publish(t.Context(), fmt.Sprint("id-", i), []byte(fmt.Sprint("msg-", i))); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	publish(0, n/2)
	if p, err := b.Pending(t.Context()); err != nil || p != n/2 {
		t.Fatalf("pending = %d, %v after publishing %d events twice; want %d", p, err, n/2, n/2)
	}
	var mu sync.Mutex
	by := map[string]map[string]int{"a": {}, "b": {}}
	done := 0
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for name, q := range map[string]*queue.Queue{"a": a, "b": b} {
		wg.Go(func() {
			_ = q.Consume(ctx, 2, func(_ context.Context, data []byte) error {
				time.Sleep(20 * time.Millisecond) // both get a share
				mu.Lock()
				defer mu.Unlock()
				if by["a"][string(data)]+by["b"][string(data)] == 0 {
					done++
				}
				by[name][string(data)]++
				return nil
			})
		})
	}
	// Both take part before a node stops.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		mu.Lock()
		both := len(by["a"]) > 0 && len(by["b"]) > 0
		mu.Unlock()
		if both {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("not both processes handled a message")
		}
	}
	checkReplicas(t, c, 3, true) // both processes created the consumer: one, on three servers
	c.StopNode(2)
	publish(n/2, n)
	// Every event handled and the stream empty (acks confirmed).
	for {
		mu.Lock()
		all := done == n
		mu.Unlock()
		if p, err := a.Pending(ctx); all && err == nil && p == 0 {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("timed out: %d of %d handled", done, n)
		}
		time.Sleep(100 * time.Millisecond)
	}
	cancel()
	wg.Wait()
	again := 0
	for i := range n {
		m := fmt.Sprint("msg-", i)
		switch got := by["a"][m] + by["b"][m]; {
		case got == 0:
			t.Errorf("%s never handled", m)
		case got > 2:
			t.Errorf("%s handled %d times", m, got)
		case got == 2:
			again++
		}
	}
	t.Logf("a handled %d, b %d; %d delivered again after the failover", len(by["a"]), len(by["b"]), again)
	c.StartNode(2)
}

// checkReplicas checks that the stream is kept by want servers, and so
// is the consumer once a process consumes.
func checkReplicas(t *testing.T, c *natstest.Cluster, want int, consumer bool) {
	t.Helper()
	nc, err := nats.Connect(strings.Join(c.URLs(), ","))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	st, err := js.Stream(t.Context(), "IMAGEREC")
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if info.Config.Replicas != want || info.Cluster == nil || len(info.Cluster.Replicas)+1 != want {
		t.Errorf("stream replicas: config %d, cluster %+v; want %d", info.Config.Replicas, info.Cluster, want)
	}
	if !consumer {
		return
	}
	cons, err := st.Consumer(t.Context(), "workers")
	if err != nil {
		t.Fatal(err)
	}
	ci, err := cons.Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if ci.Config.Replicas != want || ci.Cluster == nil || len(ci.Cluster.Replicas)+1 != want {
		t.Errorf("consumer replicas: config %d, cluster %+v; want %d", ci.Config.Replicas, ci.Cluster, want)
	}
}

// A message held by a process that dies (it never acks) goes to the other
// process after AckWait.
func TestClusterRedeliversToAnotherProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a nats cluster")
	}
	c := natstest.Start(t, 3)
	cfg := queue.Config{AckWait: 2 * time.Second}
	a, err := queue.Open(t.Context(), queue.Config{Servers: c.URLs(), Replicas: 3, AckWait: cfg.AckWait, Name: "dies"})
	if err != nil {
		t.Fatal(err)
	}
	b := openCluster(t, c, queue.Config{AckWait: cfg.AckWait, Name: "survives"})
	if err := a.Publish(t.Context(), "held", []byte("held")); err != nil {
		t.Fatal(err)
	}
	got := make(chan struct{})
	actx, acancel := context.WithCancel(t.Context())
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		_ = a.Consume(actx, 1, func(hctx context.Context, _ []byte) error {
			close(got)
			<-hctx.Done()
			return hctx.Err()
		})
	}()
	<-got
	a.Close() // the connection goes: no ack, no more progress signals
	acancel()
	<-stopped
	if held, err := b.Has(t.Context(), "held"); err != nil || !held {
		t.Fatalf("Has(held) = %v, %v while unacked", held, err)
	}
	start := time.Now()
	seen := collect(t, b, 1, func(string, int) error { return nil })
	if seen["held"] != 1 {
		t.Fatalf("seen = %v", seen)
	}
	if d := time.Since(start); d > 15*time.Second {
		t.Errorf("redelivered after %s, want about AckWait", d)
	}
	// The ack is confirmed by the consumer's leader; the stream's
	// replicas remove the message a moment later.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		held, err := b.Has(t.Context(), "held")
		if err == nil && !held {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Has(held) = %v, %v 5s after the ack", held, err)
		}
	}
}

// Replicas a single server cannot keep are refused at once, saying why.
func TestExternalReplicasOnOneServer(t *testing.T) {
	if testing.Short() {
		t.Skip("starts nats-server")
	}
	c := natstest.Start(t, 1)
	start := time.Now()
	_, err := queue.Open(t.Context(), queue.Config{Servers: c.URLs(), Replicas: 3})
	if err == nil || !strings.Contains(err.Error(), "Replicas 3 needs a JetStream cluster of at least 3 servers") {
		t.Fatalf("err = %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("refused after %s: retried a permanent error", d)
	}
}

func TestExternalBadConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  queue.Config
		want string
	}{
		{"nobody listening", queue.Config{Servers: []string{"nats://127.0.0.1:1"}}, "connect to nats nats://127.0.0.1:1"},
		{"password hidden", queue.Config{Servers: []string{"nats://u:secret@127.0.0.1:1"}}, "REDACTED"},
		{"certificate without key", queue.Config{Servers: []string{"nats://127.0.0.1:1"}, TLSCert: "c.pem"}, "give both"},
		{"missing credentials file", queue.Config{Servers: []string{"nats://127.0.0.1:1"}, CredsFile: "/nonexistent/x.creds"}, "nats credentials"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := queue.Open(t.Context(), tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "secret") {
				t.Errorf("error shows the password: %v", err)
			}
		})
	}
}

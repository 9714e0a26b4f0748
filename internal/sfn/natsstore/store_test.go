package natsstore_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/imagerec/imagerec/internal/natstest"
	"github.com/imagerec/imagerec/internal/sfn"
	"github.com/imagerec/imagerec/internal/sfn/natsstore"
)

func open(t *testing.T, urls []string, opts natsstore.Options) *natsstore.State {
	t.Helper()
	nc, err := nats.Connect(strings.Join(urls, ","), nats.MaxReconnects(-1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	st, err := natsstore.Open(t.Context(), js, opts)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func record(arn string, start time.Time, status string) *sfn.Record {
	return &sfn.Record{Execution: sfn.Execution{ExecutionArn: arn, Name: arn[strings.LastIndex(arn, ":")+1:], Status: status, StartDate: start,
		Input: json.RawMessage(`{"k":"v"}`)}, History: []sfn.Event{{ID: 1, Type: "ExecutionStarted"}}}
}

// Records written by one process are read by another; List is one
// machine's records (not its sub-stores' nor another machine's), newest
// first.
func TestStore(t *testing.T) {
	if testing.Short() {
		t.Skip("starts nats-server")
	}
	c := natstest.Start(t, 1)
	a := open(t, c.URLs(), natsstore.Options{}).Store("imagerec")
	b := open(t, c.URLs(), natsstore.Options{}).Store("imagerec") // the buckets exist: opened idempotently
	t0 := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	arn := func(n string) string { return "arn:aws:states:us-east-1:123456789012:execution:imagerec:" + n }
	for i, n := range []string{"one", "two", "three"} {
		if err := a.Put(record(arn(n), t0.Add(time.Duration(i)*time.Second), sfn.StatusRunning)); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.Put(record(arn("two"), t0.Add(time.Second), sfn.StatusSucceeded)); err != nil {
		t.Fatal(err)
	}
	sub, err := a.Sub("mapRun/label:1")
	if err != nil {
		t.Fatal(err)
	}
	if err := sub.Put(record(arn("child"), t0, sfn.StatusSucceeded)); err != nil {
		t.Fatal(err)
	}
	other := open(t, c.URLs(), natsstore.Options{}).Store("other")
	if err := other.Put(record(arn("elsewhere"), t0, sfn.StatusSucceeded)); err != nil {
		t.Fatal(err)
	}
	got, err := b.Get(arn("two"))
	if err != nil || got.Execution.Status != sfn.StatusSucceeded || string(got.Execution.Input) != `{"k":"v"}` || len(got.History) != 1 {
		t.Fatalf("Get = %+v, %v", got, err)
	}
	if _, err := b.Get(arn("missing")); !errors.Is(err, sfn.ErrExecutionDoesNotExist) {
		t.Errorf("Get(missing) = %v, want ErrExecutionDoesNotExist", err)
	}
	list, err := b.List()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range list {
		names = append(names, r.Execution.Name)
	}
	if fmt.Sprint(names) != "[three two one]" {
		t.Errorf("List = %v, want [three two one]", names)
	}
	subList, err := sub.List()
	if err != nil || len(subList) != 1 || subList[0].Execution.Name != "child" {
		t.Errorf("sub List = %v, %v", subList, err)
	}
	empty, err := open(t, c.URLs(), natsstore.Options{}).Store("nothing").List()
	if err != nil || len(empty) != 0 {
		t.Errorf("empty List = %v, %v", empty, err)
	}
}

func TestLease(t *testing.T) {
	if testing.Short() {
		t.Skip("starts nats-server")
	}
	c := natstest.Start(t, 1)
	const ttl = 1500 * time.Millisecond
	a := open(t, c.URLs(), natsstore.Options{LeaseTTL: ttl, Owner: "a"})
	b := open(t, c.URLs(), natsstore.Options{LeaseTTL: ttl, Owner: "b"})
	la, err := a.Acquire(t.Context(), "x")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Acquire(t.Context(), "x"); !errors.Is(err, sfn.ErrLeaseHeld) {
		t.Fatalf("second Acquire = %v, want ErrLeaseHeld", err)
	}
	// Renewed: still held after several TTLs.
	time.Sleep(3 * ttl)
	if _, err := b.Acquire(t.Context(), "x"); !errors.Is(err, sfn.ErrLeaseHeld) {
		t.Fatalf("Acquire after 3 TTLs of renewals = %v, want ErrLeaseHeld", err)
	}
	select {
	case <-la.Lost():
		t.Fatal("renewed lease lost")
	default:
	}
	la.Release()
	la.Release() // idempotent
	lb, err := b.Acquire(t.Context(), "x")
	if err != nil {
		t.Fatalf("Acquire after Release = %v", err)
	}
	lb.Release()
}

// A lease whose holder stops renewing (its process died: here its
// connection is gone) expires after its TTL and another takes it; the
// first holder's lease is then lost.
func TestLeaseExpiresAndIsLost(t *testing.T) {
	if testing.Short() {
		t.Skip("starts nats-server")
	}
	c := natstest.Start(t, 1)
	const ttl = 1500 * time.Millisecond
	nc, err := nats.Connect(c.URLs()[0])
	if err != nil {
		t.Fatal(err)
	}
	js, _ := jetstream.New(nc)
	dying, err := natsstore.Open(t.Context(), js, natsstore.Options{LeaseTTL: ttl, Owner: "dying", Patience: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	b := open(t, c.URLs(), natsstore.Options{LeaseTTL: ttl, Owner: "b"})
	l, err := dying.Acquire(t.Context(), "x")
	if err != nil {
		t.Fatal(err)
	}
	nc.Close()
	start := time.Now()
	var lb sfn.Lease
	for lb == nil {
		lb, err = b.Acquire(t.Context(), "x")
		if err != nil && !errors.Is(err, sfn.ErrLeaseHeld) {
			t.Fatal(err)
		}
		if time.Since(start) > 4*ttl {
			t.Fatalf("lease not free %s after its holder went", time.Since(start))
		}
		time.Sleep(100 * time.Millisecond)
	}
	defer lb.Release()
	if d := time.Since(start); d < ttl/2 {
		t.Errorf("taken over after %s, before the TTL %s", d, ttl)
	}
	select {
	case <-l.Lost():
	case <-time.After(2 * ttl):
		t.Fatal("the first holder's lease is not lost")
	}
	l.Release()
	if _, err := b.Acquire(t.Context(), "x"); !errors.Is(err, sfn.ErrLeaseHeld) {
		t.Errorf("the old holder's Release freed the new lease: %v", err)
	}
}

const def = `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:123456789012:function:work","Next":"Done"},"Done":{"Type":"Pass","End":true}}}`

// Two executors on one shared state (two workers): the execution that
// both are handed runs once; when the process running it stops in the
// middle, the other takes it over at its checkpoint and ends it; both
// see the one record.
func TestSharedExecutors(t *testing.T) {
	if testing.Short() {
		t.Skip("starts nats-server")
	}
	c := natstest.Start(t, 1)
	const ttl = 1500 * time.Millisecond
	var calls atomic.Int32
	release := make(chan struct{})
	started := make(chan struct{}, 8)
	newExec := func(owner string) *sfn.Executor {
		st := open(t, c.URLs(), natsstore.Options{LeaseTTL: ttl, Owner: owner})
		reg := sfn.NewRegistry()
		reg.RegisterFunction("work", sfn.TaskFunc(func(ctx context.Context, in json.RawMessage) (json.RawMessage, error) {
			calls.Add(1)
			started <- struct{}{}
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-release:
			}
			return json.RawMessage(`{"by":"` + owner + `"}`), nil
		}))
		x, err := sfn.New([]byte(def), reg, sfn.Options{Store: st.Store("imagerec"), Leaser: st})
		if err != nil {
			t.Fatal(err)
		}
		return x
	}
	a, b := newExec("a"), newExec("b")
	defer b.Close()
	type result struct {
		ex  sfn.Execution
		err error
	}
	ra, rb := make(chan result, 1), make(chan result, 1)
	go func() {
		ex, err := a.Run(t.Context(), "job", json.RawMessage(`{"n":1}`))
		ra <- result{ex, err}
	}()
	<-started // a runs it
	go func() {
		ex, err := b.Run(t.Context(), "job", json.RawMessage(`{"n":1}`)) // the same job, redelivered to b
		rb <- result{ex, err}
	}()
	select {
	case <-started:
		t.Fatal("b ran the task while a holds the execution")
	case <-time.After(2 * ttl):
	}
	a.Close() // a stops: its run is interrupted, the record stays RUNNING
	r := <-ra
	if !errors.Is(r.err, sfn.ErrExecutionInterrupted) && !errors.Is(r.err, sfn.ErrExecutorClosed) {
		t.Errorf("a's Run = %+v, %v; want it interrupted", r.ex, r.err)
	}
	select {
	case <-started: // b takes over
	case <-time.After(4 * ttl):
		t.Fatal("b did not take the execution over")
	}
	close(release)
	r = <-rb
	if r.err != nil || r.ex.Status != sfn.StatusSucceeded || string(r.ex.Output) != `{"by":"b"}` {
		t.Fatalf("b's Run = %+v, %v", r.ex, r.err)
	}
	// Once more to b: a duplicate, returned as it is, not run.
	ex, err := b.Run(t.Context(), "job", json.RawMessage(`{"n":1}`))
	if err != nil || ex.Status != sfn.StatusSucceeded || calls.Load() != 2 {
		t.Errorf("duplicate Run = %+v, %v; task calls %d, want 2", ex, err, calls.Load())
	}
	hist, err := b.History(t.Context(), ex.ExecutionArn)
	if err != nil {
		t.Fatal(err)
	}
	ends := 0
	for _, e := range hist {
		if e.Type == "ExecutionSucceeded" || e.Type == "ExecutionFailed" {
			ends++
		}
	}
	if ends != 1 {
		t.Errorf("history has %d ends, want 1: %v", ends, hist)
	}
	// A third process (a gateway) lists it.
	g := open(t, c.URLs(), natsstore.Options{}).Store("imagerec")
	list, err := g.List()
	if err != nil || len(list) != 1 || list[0].Execution.Status != sfn.StatusSucceeded {
		t.Errorf("gateway List = %v, %v", list, err)
	}
}

// Many executions started at once through two executors all end once.
func TestSharedExecutorsMany(t *testing.T) {
	if testing.Short() {
		t.Skip("starts nats-server")
	}
	c := natstest.Start(t, 1)
	var mu sync.Mutex
	runs := map[string]int{}
	newExec := func() *sfn.Executor {
		st := open(t, c.URLs(), natsstore.Options{LeaseTTL: 3 * time.Second})
		reg := sfn.NewRegistry()
		reg.RegisterFunction("work", sfn.TaskFunc(func(_ context.Context, in json.RawMessage) (json.RawMessage, error) {
			mu.Lock()
			runs[string(in)]++
			mu.Unlock()
			time.Sleep(5 * time.Millisecond)
			return in, nil
		}))
		x, err := sfn.New([]byte(def), reg, sfn.Options{Store: st.Store("imagerec"), Leaser: st})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { x.Close() })
		return x
	}
	xs := []*sfn.Executor{newExec(), newExec()}
	const n = 20
	var wg sync.WaitGroup
	for i := range n {
		for _, x := range xs { // each job to both, as duplicate events would be
			wg.Go(func() {
				ex, err := x.Run(t.Context(), fmt.Sprint("job-", i), json.RawMessage(fmt.Sprintf(`{"n":%d}`, i)))
				if err != nil || ex.Status != sfn.StatusSucceeded {
					t.Errorf("job-%d: %+v, %v", i, ex, err)
				}
			})
		}
	}
	wg.Wait()
	for i := range n {
		if got := runs[fmt.Sprintf(`{"n":%d}`, i)]; got != 1 {
			t.Errorf("job-%d ran %d times", i, got)
		}
	}
}

// An execution no queue message stands for (started through the API) is
// left RUNNING by a process that stops; Recover in another process takes
// it up once its lease is free, and not while its process runs it.
func TestSharedRecoverAdopts(t *testing.T) {
	if testing.Short() {
		t.Skip("starts nats-server")
	}
	c := natstest.Start(t, 1)
	release := make(chan struct{})
	started := make(chan string, 4)
	newExec := func(owner string) *sfn.Executor {
		st := open(t, c.URLs(), natsstore.Options{LeaseTTL: 2 * time.Second, Owner: owner})
		reg := sfn.NewRegistry()
		reg.RegisterFunction("work", sfn.TaskFunc(func(ctx context.Context, _ json.RawMessage) (json.RawMessage, error) {
			started <- owner
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-release:
			}
			return json.RawMessage(`{"by":"` + owner + `"}`), nil
		}))
		x, err := sfn.New([]byte(def), reg, sfn.Options{Store: st.Store("imagerec"), Leaser: st})
		if err != nil {
			t.Fatal(err)
		}
		return x
	}
	a, b := newExec("a"), newExec("b")
	defer b.Close()
	arn, err := a.Start(t.Context(), "api-job", json.RawMessage(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	<-started
	if got, err := b.Recover(t.Context()); err != nil || len(got) != 0 {
		t.Fatalf("Recover while a runs it = %v, %v; want nothing", got, err)
	}
	a.Close() // stops: the record stays RUNNING, the lease is given up
	got, err := b.Recover(t.Context())
	if err != nil || len(got) != 1 || got[0] != arn {
		t.Fatalf("Recover after a stopped = %v, %v; want [%s]", got, err, arn)
	}
	if who := <-started; who != "b" {
		t.Fatalf("task run again by %s", who)
	}
	close(release)
	ex, err := b.Wait(t.Context(), arn)
	if err != nil || ex.Status != sfn.StatusSucceeded || string(ex.Output) != `{"by":"b"}` {
		t.Fatalf("adopted execution: %+v, %v", ex, err)
	}
	if again, err := b.Recover(t.Context()); err != nil || len(again) != 0 {
		t.Errorf("Recover after it ended = %v, %v", again, err)
	}
}

// A gateway's executor with Dispatch stores what Start and Rerun start
// and hands the ARNs over; a worker's runs them with RunExisting; the
// gateway runs none of them and describes them as the worker left them.
func TestSharedDispatch(t *testing.T) {
	if testing.Short() {
		t.Skip("starts nats-server")
	}
	c := natstest.Start(t, 1)
	var mu sync.Mutex
	ran := map[string]int{}
	type handed struct {
		arn   string
		again bool
	}
	queue := make(chan handed, 4)
	newExec := func(owner string, dispatch func(context.Context, string, bool) error) *sfn.Executor {
		st := open(t, c.URLs(), natsstore.Options{LeaseTTL: 2 * time.Second, Owner: owner})
		reg := sfn.NewRegistry()
		reg.RegisterFunction("work", sfn.TaskFunc(func(_ context.Context, in json.RawMessage) (json.RawMessage, error) {
			mu.Lock()
			ran[owner]++
			mu.Unlock()
			return in, nil
		}))
		x, err := sfn.New([]byte(def), reg, sfn.Options{Store: st.Store("imagerec"), Leaser: st, Dispatch: dispatch})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { x.Close() })
		return x
	}
	gw := newExec("gateway", func(_ context.Context, arn string, again bool) error {
		queue <- handed{arn, again}
		return nil
	})
	w := newExec("worker", nil)
	arn, err := gw.Start(t.Context(), "api-job", json.RawMessage(`{"k":1}`))
	if err != nil {
		t.Fatal(err)
	}
	if h := <-queue; h.arn != arn || h.again {
		t.Fatalf("dispatched %+v, want %s", h, arn)
	}
	if ex, err := gw.Describe(t.Context(), arn); err != nil || ex.Status != sfn.StatusRunning {
		t.Fatalf("gateway Describe before the worker = %+v, %v", ex, err)
	}
	ex, err := w.RunExisting(t.Context(), arn)
	if err != nil || ex.Status != sfn.StatusSucceeded || string(ex.Output) != `{"k":1}` {
		t.Fatalf("worker RunExisting = %+v, %v", ex, err)
	}
	if again, err := w.RunExisting(t.Context(), arn); err != nil || again.Status != sfn.StatusSucceeded {
		t.Fatalf("RunExisting of an ended execution = %+v, %v", again, err)
	}
	if got, err := gw.Describe(t.Context(), arn); err != nil || got.Status != sfn.StatusSucceeded {
		t.Errorf("gateway Describe after = %+v, %v", got, err)
	}
	// Same name and input: the existing execution, not dispatched again.
	if again, err := gw.Start(t.Context(), "api-job", json.RawMessage(`{"k":1}`)); err != nil || again != arn || len(queue) != 0 {
		t.Errorf("Start again = %s, %v; %d dispatched", again, err, len(queue))
	}
	if _, err := gw.Rerun(t.Context(), "api-job"); err != nil {
		t.Fatal(err)
	}
	if h := <-queue; h.arn != arn || !h.again {
		t.Fatalf("rerun dispatched %+v", h)
	}
	if ex, err := w.RunExisting(t.Context(), arn); err != nil || ex.Status != sfn.StatusSucceeded {
		t.Fatalf("worker RunExisting of the re-run = %+v, %v", ex, err)
	}
	if _, err := w.RunExisting(t.Context(), "arn:aws:states:us-east-1:123456789012:execution:imagerec:none"); !errors.Is(err, sfn.ErrExecutionDoesNotExist) {
		t.Errorf("RunExisting of nothing = %v, want ErrExecutionDoesNotExist", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if ran["gateway"] != 0 || ran["worker"] != 2 {
		t.Errorf("task runs %v, want the worker's two only", ran)
	}
}

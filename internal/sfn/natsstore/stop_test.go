package natsstore_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/imagerec/imagerec/internal/natstest"
	"github.com/imagerec/imagerec/internal/sfn"
	"github.com/imagerec/imagerec/internal/sfn/natsstore"
)

// stopNode is an executor of def on its own connection to the shared
// state; its task "work" reports who runs it and blocks until its context
// ends, then reports why.
type stopNode struct {
	x         *sfn.Executor
	started   chan string
	cancelled chan error
}

func newStopNode(t *testing.T, c *natstest.Cluster, owner string) *stopNode {
	t.Helper()
	st := open(t, c.URLs(), natsstore.Options{LeaseTTL: 2 * time.Second, Owner: owner})
	n := &stopNode{started: make(chan string, 4), cancelled: make(chan error, 4)}
	reg := sfn.NewRegistry()
	reg.RegisterFunction("work", sfn.TaskFunc(func(ctx context.Context, _ json.RawMessage) (json.RawMessage, error) {
		n.started <- owner
		<-ctx.Done()
		n.cancelled <- ctx.Err()
		return nil, ctx.Err()
	}))
	x, err := sfn.New([]byte(def), reg, sfn.Options{Store: st.Store("imagerec"), Leaser: st})
	if err != nil {
		t.Fatal(err)
	}
	n.x = x
	return n
}

// checkAborted checks that ex and its history (read by x) end ABORTED
// once, with errName and cause.
func checkAborted(t *testing.T, x *sfn.Executor, ex sfn.Execution, errName, cause string) {
	t.Helper()
	if ex.Status != sfn.StatusAborted || ex.Error != errName || ex.Cause != cause || ex.StopDate == nil {
		t.Errorf("execution = %s error %q cause %q stop %v; want ABORTED %q %q", ex.Status, ex.Error, ex.Cause, ex.StopDate, errName, cause)
	}
	hist, err := x.History(context.Background(), ex.ExecutionArn)
	if err != nil {
		t.Fatal(err)
	}
	ends, aborted := 0, 0
	for _, e := range hist {
		switch e.Type {
		case "ExecutionSucceeded", "ExecutionFailed", "ExecutionTimedOut":
			ends++
		case "ExecutionAborted":
			ends++
			aborted++
			gotErr, _ := e.Details["error"].(string)
			gotCause, _ := e.Details["cause"].(string)
			if gotErr != errName || gotCause != cause {
				t.Errorf("ExecutionAborted details = %v; want error %q cause %q", e.Details, errName, cause)
			}
		}
	}
	if ends != 1 || aborted != 1 {
		t.Errorf("history has %d ends (%d aborted), want one ExecutionAborted: %v", ends, aborted, hist)
	}
}

// Stop in a process that does not run the execution (StopExecution on a
// gateway) aborts it where it runs: the task's context is cancelled, and
// the execution ends ABORTED with the error and cause, once.
func TestStopFromAnotherProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("starts nats-server")
	}
	c := natstest.Start(t, 1)
	a, b := newStopNode(t, c, "a"), newStopNode(t, c, "b")
	defer a.x.Close()
	defer b.x.Close()
	arn, err := a.x.Start(t.Context(), "long", json.RawMessage(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	if who := <-a.started; who != "a" {
		t.Fatalf("task started by %s", who)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	begun := time.Now()
	ex, err := b.x.Stop(ctx, arn, "Operator", "stopped from b")
	if err != nil {
		t.Fatalf("Stop through b: %v", err)
	}
	t.Logf("stopped in %v", time.Since(begun))
	select {
	case err := <-a.cancelled:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("a's task context ended with %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a's task context was not cancelled")
	}
	checkAborted(t, b.x, ex, "Operator", "stopped from b")
	got, err := a.x.Wait(ctx, arn)
	if err != nil {
		t.Fatal(err)
	}
	checkAborted(t, a.x, got, "Operator", "stopped from b")
	select {
	case who := <-b.started:
		t.Errorf("the task ran again in %s", who)
	default:
	}
	// Stopping it again, from either, returns it as it ended.
	for _, x := range []*sfn.Executor{a.x, b.x} {
		again, err := x.Stop(ctx, arn, "Other", "again")
		if err != nil || again.Status != sfn.StatusAborted || again.Cause != "stopped from b" {
			t.Errorf("second Stop = %s %q, %v", again.Status, again.Cause, err)
		}
	}
	// An unknown execution is ExecutionDoesNotExist.
	if _, err := b.x.Stop(ctx, b.x.ExecutionArn("nope"), "", ""); !errors.Is(err, sfn.ErrExecutionDoesNotExist) {
		t.Errorf("Stop of an unknown execution: %v", err)
	}
	// The request is done with: a redrive runs to the task again and is
	// not aborted by it.
	if _, err := b.x.Redrive(ctx, arn); err != nil {
		t.Fatal(err)
	}
	select {
	case <-b.started:
	case <-time.After(5 * time.Second):
		t.Fatal("the redriven execution did not reach its task")
	}
	time.Sleep(time.Second) // a few stop polls
	if ex, err := b.x.Describe(ctx, arn); err != nil || ex.Status != sfn.StatusRunning {
		t.Errorf("redriven execution = %s, %v; want RUNNING", ex.Status, err)
	}
	if ex, err := a.x.Stop(ctx, arn, "", ""); err != nil || ex.Status != sfn.StatusAborted || ex.HasError || ex.HasCause {
		t.Errorf("Stop of the redrive from a = %+v, %v", ex, err)
	}
}

// An execution whose process stopped (its lease is free) is ended ABORTED
// by the process that stops it, from its last checkpoint, without running
// its task again.
func TestStopAbandonedExecution(t *testing.T) {
	if testing.Short() {
		t.Skip("starts nats-server")
	}
	c := natstest.Start(t, 1)
	a, b := newStopNode(t, c, "a"), newStopNode(t, c, "b")
	defer b.x.Close()
	arn, err := a.x.Start(t.Context(), "orphan", json.RawMessage(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	<-a.started
	a.x.Close() // the record stays RUNNING, its lease is given up
	if ex, err := b.x.Describe(t.Context(), arn); err != nil || ex.Status != sfn.StatusRunning {
		t.Fatalf("after a closed: %s, %v", ex.Status, err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	ex, err := b.x.Stop(ctx, arn, "", "nobody runs it")
	if err != nil {
		t.Fatal(err)
	}
	checkAborted(t, b.x, ex, "", "nobody runs it")
	select {
	case who := <-b.started:
		t.Errorf("the task ran again in %s", who)
	default:
	}
}

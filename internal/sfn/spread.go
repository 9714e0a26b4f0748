package sfn

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/imagerec/imagerec/internal/asl"
)

// In a cluster (Options.MapDispatch with a Leaser) a Distributed Map does
// not run its child executions itself: it stores each one RUNNING, in
// Step Functions' shape and under its deterministic name, and hands its
// ARN to MapDispatch (the queue). Whichever process gets it runs it with
// RunExisting under its lease, and a process that dies mid-child leaves it
// to the next one at its last checkpoint, as for any execution. The parent
// polls the children's stored records, so MaxConcurrency bounds the
// children queued at once, and a taken-over parent finds the children it
// had stored and creates none again. A child runs as long as its Map Run
// does: the process running it reads the parent's record and aborts it
// once the parent has ended or stored its Map Run's end (a Stop, a
// timeout, the tolerated failures exceeded).

// childPoll is how often a spread Distributed Map reads its children's
// records, and a spread child its parent's.
const childPoll = 200 * time.Millisecond

// childPickup is how long a spread child may wait for another process
// before its parent's process runs it (or waits on its lease).
const childPickup = 3 * time.Second

// errParentEnded ends a spread child whose Map Run has ended: it is
// ABORTED, as a child the parent's own process cancels.
var errParentEnded = errors.New("the parent execution's Map Run has ended")

// handChild is runChild for a spread Distributed Map: it stores child
// execution name (unless a previous run of the parent did), hands it to
// dispatch (the parent's Options.MapDispatch) and waits for its end. A child that already
// succeeded is returned as it is; one that failed, timed out or was
// aborted is redriven. ended is called once ctx ends other than by this
// process stopping (the parent stopped, timed out or is over its
// tolerance): it stores the Map Run's end, which stops the child where it
// runs, and the wait goes on until the child has ended. When this process
// stops, the child is returned RUNNING.
func (x *Executor) handChild(ctx context.Context, dispatch func(context.Context, string, bool) error, name string, input any, mapRunArn, parent string, ended func()) (Execution, error) {
	arn := x.ExecutionArn(name)
	rec, err := x.opts.Store.Get(arn)
	if err != nil && !errors.Is(err, ErrExecutionDoesNotExist) {
		return Execution{}, fmt.Errorf("child execution %s: %w", arn, err)
	}
	if err != nil {
		rec = nil
	}
	again := false
	switch {
	case rec != nil && rec.Execution.Status == StatusSucceeded:
		return rec.Execution, nil
	case rec != nil && rec.Execution.Status == StatusRunning:
		// Stored and queued by a run of the parent that stopped. It is
		// queued again under the same id: the queue drops a duplicate
		// within its window, and a duplicate delivery finds the child
		// running or ended; this covers a stop between store and queue.
	default:
		again = rec != nil
		if err := x.opts.Store.Put(x.childRecord(name, input, mapRunArn, parent, rec)); err != nil {
			return Execution{}, fmt.Errorf("child execution %s: %w", arn, err)
		}
	}
	if err := dispatch(ctx, arn, again); err != nil {
		if ctx.Err() != nil {
			return x.awaitChild(ctx, arn, ended)
		}
		x.log.Warn("queue child execution failed: it runs here", "execution", name, "err", err)
		ex, rerr := x.runShared(ctx, arn, nil, nil)
		if rerr == nil {
			return ex, nil
		}
		return x.awaitChild(ctx, arn, ended)
	}
	return x.awaitChild(ctx, arn, ended)
}

// childRecord is the stored record of a child handed to the queue: new, or
// prev redriven (from the state it ended in, with its history, as runChild
// and Redrive do).
func (x *Executor) childRecord(name string, input any, mapRunArn, parent string, prev *Record) *Record {
	now := x.opts.Clock.Now().UTC()
	x.mu.Lock()
	def := string(x.def)
	x.mu.Unlock()
	ex := Execution{
		ExecutionArn: x.ExecutionArn(name), StateMachineArn: x.smArn, Name: name, Status: StatusRunning,
		StartDate: now, Input: json.RawMessage(asl.Marshal(input)), MapRunArn: mapRunArn,
	}
	rec := &Record{Execution: ex, Definition: def, Parent: parent}
	if prev == nil {
		return rec
	}
	rec.Execution.StartDate = prev.Execution.StartDate
	rec.Execution.RedriveCount = prev.Execution.RedriveCount + 1
	rec.Execution.RedriveDate = &now
	if prev.Definition != "" {
		rec.Definition = prev.Definition
	}
	if loadResume(prev) == nil {
		return rec // it ended before its first state: it starts again
	}
	rec.Resume = prev.Resume
	rec.Callbacks = map[string]*CallbackOutcome{}
	for k, o := range prev.Callbacks {
		if o.Status == StatusSucceeded {
			rec.Callbacks[k] = o
		}
	}
	h := &history{clock: x.opts.Clock, events: append([]Event(nil), prev.History...)}
	h.add(-1, "ExecutionRedriven", map[string]any{"redriveCount": rec.Execution.RedriveCount})
	rec.History = h.snapshot()
	return rec
}

// awaitChild polls the stored child arn until it has ended. A child still
// running after childPickup is run with runShared: it waits while another
// process holds the child's lease, and runs the child here when none does
// (no process took it up: every queue slot may be taken by parents
// waiting for their children). When ctx ends because this process stops
// (it closes, or lost its parent's lease) the child is returned RUNNING;
// otherwise ended is called and the wait goes on until the child has
// ended.
func (x *Executor) awaitChild(ctx context.Context, arn string, ended func()) (Execution, error) {
	t := time.NewTicker(childPoll)
	defer t.Stop()
	pickup := time.After(childPickup)
	last := Execution{ExecutionArn: arn, Status: StatusRunning}
	for {
		rec, err := x.opts.Store.Get(arn)
		switch {
		case err == nil && rec.Execution.Status != StatusRunning:
			return rec.Execution, nil
		case err == nil:
			last = rec.Execution
		default:
			x.log.Warn("read child execution", "execution", arn, "err", err)
		}
		select {
		case <-ctx.Done():
			if x.ctx.Err() != nil || errors.Is(context.Cause(ctx), errLeaseLost) {
				return last, nil
			}
			ended()
			ctx = x.ctx
		case <-pickup:
			if ex, err := x.runShared(ctx, arn, nil, nil); err == nil {
				return ex, nil
			}
		case <-t.C:
		}
	}
}

// watchParent aborts the spread child a once its parent has ended or
// stored the end of a's Map Run, until stop is closed.
func (x *Executor) watchParent(a *active, stop <-chan struct{}) {
	t := time.NewTicker(childPoll)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		rec, err := x.parentStore.Get(a.parent)
		if err != nil || !mapRunEnded(rec, a.exec.MapRunArn) {
			continue
		}
		x.mu.Lock()
		abort := a.stop
		x.mu.Unlock()
		if abort != nil {
			x.log.Info("aborting a child execution: its Map Run has ended", "execution", a.exec.Name)
			abort(errParentEnded)
			return
		}
	}
}

// mapRunEnded reports whether the parent record rec has ended, or has
// stored the end of its Map Run mapRunArn.
func mapRunEnded(rec *Record, mapRunArn string) bool {
	if rec.Execution.Status != StatusRunning {
		return true
	}
	for _, m := range rec.MapRuns {
		if m.MapRunArn == mapRunArn {
			return m.Status != StatusRunning && m.Status != ""
		}
	}
	return false
}

// HandlesExecution reports whether arn is an execution of this state
// machine or a child execution of one of its Distributed Maps (which
// RunExisting runs too).
func (x *Executor) HandlesExecution(arn string) bool {
	base := x.ExecutionArn("")
	return strings.HasPrefix(arn, base) || strings.HasPrefix(arn, strings.TrimSuffix(base, ":")+"/")
}

// childOf returns the executor of the Distributed Map child arn and true,
// or false when arn is not a child execution of this machine's. The
// child's Map state is found in the definition its parent runs (the parent
// is named in the child's record).
func (x *Executor) childOf(arn string) (*Executor, bool, error) {
	base := strings.TrimSuffix(x.ExecutionArn(""), ":") + "/"
	rest, ok := strings.CutPrefix(arn, base)
	i := strings.LastIndex(rest, ":")
	if !ok || i <= 0 {
		return nil, false, nil
	}
	label := rest[:i]
	if strings.Contains(label, "/") {
		// Nested Distributed Maps run their children in their
		// parent's process: none is queued.
		return nil, false, nil
	}
	store, err := subStore(x.opts.Store, label)
	if err != nil {
		return nil, true, err
	}
	rec, err := store.Get(arn)
	if err != nil {
		return nil, true, err
	}
	if rec.Parent == "" {
		return nil, true, fmt.Errorf("run execution %s: the child execution names no parent", arn)
	}
	def := x.Definition()
	if prec, err := x.opts.Store.Get(rec.Parent); err == nil && prec.Definition != "" {
		def = []byte(prec.Definition)
	} else if err != nil && !errors.Is(err, ErrExecutionDoesNotExist) {
		return nil, true, fmt.Errorf("run execution %s: parent: %w", arn, err)
	}
	sm, err := asl.Parse(def)
	if err != nil {
		return nil, true, fmt.Errorf("run execution %s: parent definition: %w", arn, err)
	}
	st := findDistributed(sm, label)
	if st == nil {
		return nil, true, fmt.Errorf("run execution %s: the parent's definition has no Distributed Map labelled %q", arn, label)
	}
	c, err := x.childExecutor(label, st)
	return c, true, err
}

// findDistributed returns the Distributed Map state labelled label (its
// Label, else its name) in sm, its branches and item processors.
func findDistributed(sm *asl.StateMachine, label string) *asl.State {
	for _, name := range sm.Order {
		st := sm.States[name]
		if st.Distributed && (st.Label == label || st.Label == "" && st.Name == label) {
			return st
		}
		for _, b := range st.Branches {
			if f := findDistributed(b, label); f != nil {
				return f
			}
		}
		if st.ItemProcessor != nil && !st.Distributed {
			if f := findDistributed(st.ItemProcessor, label); f != nil {
				return f
			}
		}
	}
	return nil
}

package sfn

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/imagerec/imagerec/internal/asl"
)

// A cluster of imagerec processes shares one Store: every node sees every
// record. Options.Leaser makes that safe (docs/adr/0015): an execution
// runs in the one process that holds its lease, which it renews while it
// runs. A process that dies loses its leases after their time-to-live;
// whoever is handed the execution next (the queue redelivers its message)
// takes the lease and goes on at the execution's last checkpoint, as
// Recover does after a restart. With a Leaser, Recover takes up only the
// RUNNING records whose lease is free (adopt): executions no queue
// message stands for (started through the API on a process that died)
// are taken up by the next Recover anywhere.

// Lease is one process's right to run one execution.
type Lease interface {
	// Lost is closed when the lease could not be kept: another process
	// may run the execution now.
	Lost() <-chan struct{}
	// Release gives the lease up (idempotent).
	Release()
}

// Leaser hands out execution leases.
type Leaser interface {
	// Acquire takes the lease of the execution arn, or returns
	// ErrLeaseHeld when another process holds it.
	Acquire(ctx context.Context, arn string) (Lease, error)
}

// ErrLeaseHeld is returned by Leaser.Acquire when another process runs the
// execution.
var ErrLeaseHeld = errors.New("the execution runs in another process")

// ErrExecutionInterrupted is returned by Run when the
// execution did not end here: this process is stopping, or it lost the
// execution's lease. The caller leaves the work to be delivered again.
var ErrExecutionInterrupted = errors.New("execution interrupted before its end")

// errLeaseLost is the cause an execution's context ends with when its
// lease is lost.
var errLeaseLost = errors.New("execution lease lost")

// sharedPoll is how often Run looks at an execution another process runs.
const sharedPoll = 250 * time.Millisecond

// Run runs the execution name with input to its end and returns it: it
// starts it (as Start), or, with a Leaser, takes over the one a stopped
// process left RUNNING, or waits for the one another process runs. An
// execution that has ended is returned as it is (a duplicate). It is the
// queue worker's entry point.
func (x *Executor) Run(ctx context.Context, name string, input []byte) (Execution, error) {
	if x.opts.Leaser == nil {
		arn, err := x.Start(ctx, name, input)
		if err != nil {
			return Execution{}, err
		}
		ex, err := x.Wait(ctx, arn)
		if err == nil && ex.Status == StatusRunning {
			return ex, ErrExecutionInterrupted
		}
		return ex, err
	}
	v, ex, err := x.prepare(name, input)
	if err != nil {
		return Execution{}, err
	}
	return x.runShared(ctx, ex.ExecutionArn, &ex, v)
}

// RunExisting runs the stored execution arn (stored RUNNING by a Start or
// Rerun with Options.Dispatch in another process, or a child execution a
// Distributed Map handed to Options.MapDispatch) to its end, as Run does:
// from its start, or from its last checkpoint when a process that ran it
// stopped.
func (x *Executor) RunExisting(ctx context.Context, arn string) (Execution, error) {
	if x.opts.Leaser == nil {
		return Execution{}, fmt.Errorf("run execution %s: the executor has no Leaser", arn)
	}
	c, child, err := x.childOf(arn)
	switch {
	case err != nil:
		return Execution{}, err
	case child:
		return c.runShared(ctx, arn, nil, nil)
	}
	return x.runShared(ctx, arn, nil, nil)
}

// dispatch stores a's record RUNNING and hands its ARN to
// Options.Dispatch; x.mu is held. It leaves x.running: it runs elsewhere.
// A failed dispatch is logged, not returned: the record is stored, and a
// Recover with a Leaser takes it up.
func (x *Executor) dispatch(ctx context.Context, a *active, again bool) error {
	err := x.persist(a)
	delete(x.running, a.exec.ExecutionArn)
	close(a.done)
	if err != nil {
		return err
	}
	if err := x.opts.Dispatch(ctx, a.exec.ExecutionArn, again); err != nil {
		x.log.Warn("dispatch execution failed: it is stored RUNNING, and a worker's recovery takes it up", "execution", a.exec.Name, "err", err)
	}
	return nil
}

// runShared is Run with a Leaser: fresh (with its input v) is the
// execution to create when there is no record; nil means the record must
// exist (RunExisting).
func (x *Executor) runShared(ctx context.Context, arn string, fresh *Execution, v any) (Execution, error) {
	for {
		x.mu.Lock()
		a, local := x.running[arn]
		closing := x.closing
		x.mu.Unlock()
		if closing {
			return Execution{}, fmt.Errorf("run execution %s: %w", arn, ErrExecutorClosed)
		}
		if local {
			if err := waitDone(ctx, a); err != nil {
				return Execution{}, err
			}
			if ex, done, err := x.ended(arn, fresh); done || err != nil {
				return ex, err
			}
			continue
		}
		if ex, done, err := x.ended(arn, fresh); done || err != nil {
			return ex, err
		}
		lease, err := x.opts.Leaser.Acquire(ctx, arn)
		if errors.Is(err, ErrLeaseHeld) {
			// Another process runs it: wait for its end, or for its lease
			// to lapse (it died) and take over.
			select {
			case <-ctx.Done():
				return Execution{}, ctx.Err()
			case <-time.After(sharedPoll):
			}
			continue
		}
		if err != nil {
			return Execution{}, fmt.Errorf("run execution %s: %w", arn, err)
		}
		a, err = x.takeOver(arn, fresh, v, lease, nil)
		if err != nil || a == nil {
			lease.Release()
			if err != nil {
				return Execution{}, err
			}
			continue // it ended meanwhile: ended() returns it
		}
		if err := waitDone(ctx, a); err != nil {
			return Execution{}, err
		}
		ex, done, err := x.ended(arn, fresh)
		if done || err != nil {
			return ex, err
		}
		if x.ctx.Err() != nil {
			return ex, ErrExecutionInterrupted
		}
		// The lease was lost: whoever has it now ends it; wait for that.
	}
}

func waitDone(ctx context.Context, a *active) error {
	select {
	case <-a.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// ended returns the stored execution arn when it has ended (done).
// fresh, when set, must have the stored input (else it is
// ErrExecutionAlreadyExists, as Start says).
func (x *Executor) ended(arn string, fresh *Execution) (Execution, bool, error) {
	rec, err := x.opts.Store.Get(arn)
	switch {
	case errors.Is(err, ErrExecutionDoesNotExist):
		if fresh == nil {
			return Execution{}, false, err
		}
		return Execution{}, false, nil
	case err != nil:
		return Execution{}, false, fmt.Errorf("run execution %s: %w", arn, err)
	}
	if fresh != nil {
		if _, err := x.existing(*fresh, rec.Execution.Input); err != nil {
			return Execution{}, false, err
		}
	}
	if rec.Execution.Status == StatusRunning {
		return rec.Execution, false, nil
	}
	return rec.Execution, true, nil
}

// takeOver starts arn in this process under lease: fresh when there is no
// record, else from its record (at its last checkpoint, as Recover). A
// record that has ended meanwhile returns nil. stop, when set, is a Stop
// made before the run: it ends ABORTED before any state runs.
func (x *Executor) takeOver(arn string, fresh *Execution, v any, lease Lease, stop *stopError) (*active, error) {
	rec, err := x.opts.Store.Get(arn)
	if err != nil && !errors.Is(err, ErrExecutionDoesNotExist) {
		return nil, fmt.Errorf("run execution %s: %w", arn, err)
	}
	if err != nil && fresh == nil {
		return nil, err
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.closing {
		return nil, fmt.Errorf("run execution %s: %w", arn, ErrExecutorClosed)
	}
	if _, ok := x.running[arn]; ok {
		return nil, nil
	}
	var a *active
	if rec == nil {
		a = x.begin(*fresh)
		a.lease = lease
		if err := x.persist(a); err != nil {
			delete(x.running, arn)
			return nil, fmt.Errorf("run execution %s: %w", arn, err)
		}
	} else {
		if rec.Execution.Status != StatusRunning {
			return nil, nil
		}
		if v, err = asl.Decode(rec.Execution.Input); err != nil {
			return nil, fmt.Errorf("run execution %s: stored input: %w", arn, err)
		}
		a = x.resumeLocked(rec)
		a.lease = lease
		x.log.Info("taking up an execution", "execution", rec.Execution.Name, "resume", a.from != nil)
	}
	a.stopReq = stop
	x.goRun(a, v)
	return a, nil
}

// adopt takes over, under a lease of its own, each RUNNING record whose
// lease is free (its process died) and that does not run here. It returns
// their ARNs.
func (x *Executor) adopt(ctx context.Context) ([]string, error) {
	recs, err := x.opts.Store.List()
	if err != nil {
		return nil, fmt.Errorf("recover executions: %w", err)
	}
	var arns []string
	for _, rec := range recs {
		arn := rec.Execution.ExecutionArn
		if rec.Execution.Status != StatusRunning {
			continue
		}
		x.mu.Lock()
		_, local := x.running[arn]
		x.mu.Unlock()
		if local {
			continue
		}
		lease, err := x.opts.Leaser.Acquire(ctx, arn)
		if errors.Is(err, ErrLeaseHeld) {
			continue // it runs elsewhere
		}
		if err != nil {
			return arns, fmt.Errorf("recover execution %s: %w", arn, err)
		}
		a, err := x.takeOver(arn, nil, nil, lease, nil)
		if err != nil || a == nil {
			lease.Release()
			if err != nil {
				x.log.Error("recover execution", "execution", rec.Execution.Name, "err", err)
			}
			continue
		}
		arns = append(arns, arn)
	}
	return arns, nil
}

// goRun runs a in the background, under its lease if it has one: the
// lease ends the run when it is lost, and is released at the end.
func (x *Executor) goRun(a *active, v any) {
	x.wg.Add(1)
	go func() {
		defer x.wg.Done()
		ctx := x.ctx
		if a.lease != nil {
			var cancel context.CancelCauseFunc
			ctx, cancel = context.WithCancelCause(x.ctx)
			stop := make(chan struct{})
			defer close(stop)
			go func() {
				select {
				case <-a.lease.Lost():
					cancel(errLeaseLost)
				case <-stop:
				}
			}()
			defer cancel(nil)
			defer a.lease.Release()
			if a.parent != "" && x.parentStore != nil {
				go x.watchParent(a, stop)
			}
			if sr, ok := x.opts.Leaser.(StopRequester); ok {
				ex := a.exec
				var stopped atomic.Bool
				go func() {
					if x.watchStop(a, sr, ex, stop) {
						stopped.Store(true)
					}
				}()
				defer func() {
					// The request this run honoured is done with.
					if stopped.Load() {
						x.clearStop(sr, ex.ExecutionArn)
					}
				}()
			}
		}
		x.run(ctx, a, v)
	}()
}

// resumeLocked registers rec's execution to go on at its last checkpoint
// (its history, answered task tokens and Map Runs taken up, the definition
// it started with); x.mu must be held.
func (x *Executor) resumeLocked(rec *Record) *active {
	a := x.begin(rec.Execution)
	a.parent = rec.Parent
	if from := loadResume(rec); from != nil {
		a.from = from
		a.hist.events = append(a.hist.events, rec.History...)
	}
	a.callbacks = newCallbacks(rec.Callbacks, a.callbacks.persist)
	x.mrMu.Lock()
	for _, m := range rec.MapRuns {
		if _, ok := x.mapRuns[m.MapRunArn]; !ok {
			x.mapRuns[m.MapRunArn] = &mapRun{info: m}
		}
		a.mapRuns = append(a.mapRuns, m.MapRunArn)
	}
	x.mrMu.Unlock()
	if rec.Definition != "" && rec.Definition != string(a.def) {
		if sm, perr := asl.Parse([]byte(rec.Definition)); perr == nil {
			a.sm, a.def = sm, []byte(rec.Definition)
		}
	}
	return a
}

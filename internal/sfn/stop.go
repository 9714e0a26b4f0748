package sfn

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// In a cluster, StopExecution reaches a gateway or a worker that does not
// run the execution. With a Leaser that is also a StopRequester, Stop
// stores a stop request beside the record; the process that holds the
// execution's lease reads it (every stopPoll) and aborts the execution as
// a local Stop does: it alone writes the ExecutionAborted event and the
// ABORTED record. When no process holds the lease (its process died, or
// no worker has taken it up yet), the stopping process takes the lease
// and ends the execution itself, ABORTED from its last checkpoint, without
// running another state (docs/adr/0015).

// StopRequest is a Stop made in a process that does not run the
// execution.
type StopRequest struct {
	Error string `json:"error,omitempty"`
	Cause string `json:"cause,omitempty"`
	// StartDate and RedriveCount name the run it stops: a later re-run or
	// redrive of the same ARN ignores it.
	StartDate    time.Time `json:"startDate"`
	RedriveCount int       `json:"redriveCount"`
}

// StopRequester keeps the stop requests of a cluster's executions. A
// Leaser that implements it lets Stop work from any process.
type StopRequester interface {
	// RequestStop records req for the execution arn.
	RequestStop(ctx context.Context, arn string, req StopRequest) error
	// StopRequested returns the stop request of arn, nil if there is none.
	StopRequested(ctx context.Context, arn string) (*StopRequest, error)
	// ClearStop deletes the stop request of arn, if any.
	ClearStop(ctx context.Context, arn string) error
}

// stopPoll is how often the process running an execution under a lease
// reads its stop request.
const stopPoll = 500 * time.Millisecond

// Stop aborts a running execution, as StopExecution does, recording
// errName and cause (either may be empty) on its ExecutionAborted event. It
// waits for the execution to end and returns it; an execution that had
// already ended is returned as it is. With a Leaser that is a
// StopRequester, an execution another process runs is stopped there.
func (x *Executor) Stop(ctx context.Context, arn, errName, cause string) (Execution, error) {
	req := &stopError{err: errName, cause: cause}
	if x.stopLocal(arn, req) {
		return x.Wait(ctx, arn)
	}
	sr, ok := x.opts.Leaser.(StopRequester)
	if !ok {
		return x.Wait(ctx, arn)
	}
	return x.stopShared(ctx, sr, arn, req)
}

// stopLocal stops arn if it runs in this process.
func (x *Executor) stopLocal(arn string, req *stopError) bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	a, ok := x.running[arn]
	if ok {
		a.stopReq = req
		if a.stop != nil {
			a.stop(req)
		}
	}
	return ok
}

// stopShared is Stop of an execution that does not run here: it stores
// the request for the lease holder and waits for the end, taking the
// execution over (stopped) when nobody holds its lease.
func (x *Executor) stopShared(ctx context.Context, sr StopRequester, arn string, req *stopError) (Execution, error) {
	rec, err := x.opts.Store.Get(arn)
	if err != nil {
		return Execution{}, err
	}
	if rec.Execution.Status != StatusRunning {
		return rec.Execution, nil
	}
	sreq := StopRequest{Error: req.err, Cause: req.cause, StartDate: rec.Execution.StartDate, RedriveCount: rec.Execution.RedriveCount}
	if err := sr.RequestStop(ctx, arn, sreq); err != nil {
		return Execution{}, fmt.Errorf("stop execution %s: %w", arn, err)
	}
	for {
		if x.stopLocal(arn, req) {
			return x.Wait(ctx, arn)
		}
		rec, err := x.opts.Store.Get(arn)
		if err != nil {
			return Execution{}, err
		}
		if rec.Execution.Status != StatusRunning {
			x.clearStop(sr, arn)
			return rec.Execution, nil
		}
		if rec.Parent == "" {
			// A Distributed Map's child is left to its lease holder (or
			// its parent's process): only it knows the child's Map state.
			lease, err := x.opts.Leaser.Acquire(ctx, arn)
			switch {
			case err == nil:
				a, err := x.takeOver(arn, nil, nil, lease, req)
				if err != nil || a == nil {
					lease.Release()
					if err != nil {
						return Execution{}, fmt.Errorf("stop execution %s: %w", arn, err)
					}
				}
				continue // it runs here now, stopped: stopLocal waits for it
			case !errors.Is(err, ErrLeaseHeld):
				return Execution{}, fmt.Errorf("stop execution %s: %w", arn, err)
			}
		}
		select {
		case <-ctx.Done():
			return Execution{}, ctx.Err()
		case <-time.After(sharedPoll):
		}
	}
}

// clearStop deletes arn's stop request once the execution has ended (a
// request left behind is ignored by a later run: it names its run).
func (x *Executor) clearStop(sr StopRequester, arn string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := sr.ClearStop(ctx, arn); err != nil {
		x.log.Warn("delete stop request", "execution", arn, "err", err)
	}
}

// watchStop aborts a, which runs here under a lease, once a stop request
// for its run is stored, until stop is closed. It reports whether it
// aborted a. ex is a's execution as the run starts.
func (x *Executor) watchStop(a *active, sr StopRequester, ex Execution, stop <-chan struct{}) bool {
	t := time.NewTicker(stopPoll)
	defer t.Stop()
	for {
		ctx, cancel := context.WithTimeout(x.ctx, 2*stopPoll)
		req, err := sr.StopRequested(ctx, ex.ExecutionArn)
		cancel()
		if err != nil && x.ctx.Err() == nil {
			x.log.Warn("read stop request", "execution", ex.Name, "err", err)
		}
		if req != nil && req.StartDate.Equal(ex.StartDate) && req.RedriveCount == ex.RedriveCount {
			x.mu.Lock()
			a.stopReq = &stopError{err: req.Error, cause: req.Cause}
			if a.stop != nil {
				a.stop(a.stopReq)
			}
			x.mu.Unlock()
			x.log.Info("stopping an execution: another process asked", "execution", ex.Name)
			return true
		}
		select {
		case <-stop:
			return false
		case <-t.C:
		}
	}
}

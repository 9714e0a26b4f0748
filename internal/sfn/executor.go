package sfn

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/imagerec/imagerec/internal/asl"
)

// Execution statuses.
const (
	StatusRunning   = "RUNNING"
	StatusSucceeded = "SUCCEEDED"
	StatusFailed    = "FAILED"
	StatusTimedOut  = "TIMED_OUT"
	StatusAborted   = "ABORTED"
)

// Execution describes one execution, like DescribeExecution.
type Execution struct {
	ExecutionArn    string          `json:"executionArn"`
	StateMachineArn string          `json:"stateMachineArn"`
	Name            string          `json:"name"`
	Status          string          `json:"status"`
	StartDate       time.Time       `json:"startDate"`
	StopDate        *time.Time      `json:"stopDate,omitempty"`
	Input           json.RawMessage `json:"input"`
	Output          json.RawMessage `json:"output,omitempty"`
	// Error and Cause are set for FAILED and TIMED_OUT. HasError and
	// HasCause tell an absent value from an empty one.
	Error    string `json:"error,omitempty"`
	Cause    string `json:"cause,omitempty"`
	HasError bool   `json:"hasError,omitempty"`
	HasCause bool   `json:"hasCause,omitempty"`
	// MapRunArn is set for the child executions of a Distributed Map.
	MapRunArn string `json:"mapRunArn,omitempty"`
	// RedriveCount counts RedriveExecution calls; RedriveDate is the last.
	RedriveCount int        `json:"redriveCount,omitempty"`
	RedriveDate  *time.Time `json:"redriveDate,omitempty"`
}

// RedriveStatus is DescribeExecution's redriveStatus and its reason.
func RedriveStatus(ex Execution) (string, string) {
	switch ex.Status {
	case StatusFailed, StatusAborted, StatusTimedOut:
		if ex.MapRunArn != "" {
			return "NOT_REDRIVABLE", "Execution is a child of a Map Run: redrive the parent execution"
		}
		return "REDRIVABLE", ""
	case StatusRunning:
		return "NOT_REDRIVABLE", "Execution is RUNNING and cannot be redriven"
	}
	return "NOT_REDRIVABLE", "Execution is " + ex.Status + " and cannot be redriven"
}

// ErrExecutionAlreadyExists is returned by Start for a name already used
// with a different input.
var ErrExecutionAlreadyExists = errors.New("ExecutionAlreadyExists")

// ErrInvalidExecutionInput is returned for input that is not JSON or is
// over the payload limit.
var ErrInvalidExecutionInput = errors.New("InvalidExecutionInput")

// Options configure an Executor. The zero value is usable.
type Options struct {
	// Clock defaults to the wall clock.
	Clock Clock
	// Logger defaults to a logger that discards.
	Logger *slog.Logger
	// Store defaults to an in-memory store.
	Store Store
	// StateMachineName defaults to "imagerec"; Region to "us-east-1";
	// Account to "123456789012". They make the ARNs.
	StateMachineName string
	Region           string
	Account          string
	// RoleArn is $$.Execution.RoleArn.
	RoleArn string
	// Type is STANDARD (default) or EXPRESS; EXPRESS executions have no
	// $$.Execution.RedriveCount, as on AWS.
	Type string
	// MaxPayloadBytes defaults to 256 KiB; negative disables the check.
	MaxPayloadBytes int
	// OnComplete, if set, is called after an execution (started by Start,
	// RunSync or Recover) ends and is stored.
	OnComplete func(Execution)
	// OnEvent, if set, is called with each history event as it is
	// recorded (ExecutionStarted, each state entered and exited, task
	// events, the execution's end), in the goroutine that records it:
	// it must be quick and safe for concurrent use (Map and Parallel
	// branches record at once). Details may hold values not yet encoded:
	// read Type, ID, Timestamp and the "name" detail of state events.
	OnEvent func(arn string, e Event)
	// Objects serves Distributed Map's ItemReader and ResultWriter.
	Objects Objects
	// checkpointAll persists after every top-level state instead of at
	// most once a second (Distributed Map child executions, so a restart
	// repeats no finished task).
	checkpointAll bool
	// CloseGrace is how long Close lets running executions finish before
	// it cancels them (default 0: at once). A cancelled execution stays
	// RUNNING and Recover re-runs it from the start, repeating the side
	// effects it had already had (a notification sent twice): a grace
	// makes a clean stop finish what it started instead.
	CloseGrace time.Duration
	// Leaser, for a Store shared by several processes, makes an execution
	// run in one process at a time (shared.go); Recover then does
	// nothing.
	Leaser Leaser
	// Dispatch, if set, is given the ARN of each execution Start or Rerun
	// stored RUNNING, instead of running it here: another process (a
	// worker, handed it by the queue) runs it with RunExisting, under a
	// Leaser. again says the ARN was dispatched before (a re-run). A
	// stored record whose dispatch failed is still taken up by a Recover
	// with a Leaser (shared.go).
	Dispatch func(ctx context.Context, arn string, again bool) error
	// MapDispatch, if set with a Leaser, spreads the child executions of
	// Distributed Maps: each is stored RUNNING and its ARN handed to
	// MapDispatch (again: it ran before, a redrive or a re-queue) instead
	// of running here; whoever gets it runs it with RunExisting on this
	// executor, and the Map waits for its stored end (spread.go).
	MapDispatch func(ctx context.Context, arn string, again bool) error
}

// ErrExecutorClosed is returned by Start and Recover after Close.
var ErrExecutorClosed = errors.New("executor closed")

// Executor runs executions of one state machine.
type Executor struct {
	sm     *asl.StateMachine
	def    []byte
	reg    *Registry
	opts   Options
	log    *slog.Logger
	smArn  string
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	running map[string]*active
	closing bool
	// mapRuns are the Map Runs of this process's executions (and those
	// read back by Recover); children are the executors of Distributed
	// Map child executions, by label.
	mapRuns  map[string]*mapRun
	children map[string]*Executor
	// mrMu guards mapRuns and every active.mapRuns (persist, called with
	// mu held, reads them).
	mrMu sync.Mutex
	// parentStore, for the executor of a Distributed Map's children, is
	// the store of their parent executions.
	parentStore Store
}

type active struct {
	done chan struct{}
	hist *history
	exec Execution
	// sm and def are the definition the execution runs (a later
	// UpdateStateMachine does not change it).
	sm  *asl.StateMachine
	def []byte
	// stop ends the execution as ABORTED (StopExecution); set by run.
	// stopReq is a Stop that came before run set stop.
	stop    context.CancelCauseFunc
	stopReq *stopError
	// callbacks are its task tokens.
	callbacks *callbacks
	// mapRuns are the ARNs of the Map Runs it started.
	mapRuns []string
	// resume is the top-level state it is in (guarded by mrMu); from,
	// set for a redrive, is where it starts again.
	resume *resumeAt
	from   *ResumePoint
	// redrive tells a redrive (ExecutionRedriven) from a recovery, both
	// of which start at from and go on with the stored history.
	redrive bool
	// lease is its Options.Leaser lease, if any.
	lease Lease
	// parent is the ARN of the execution whose Distributed Map handed
	// this child to the queue (Options.MapDispatch), else empty.
	parent string
}

// stopError is the cause of an execution stopped by Stop.
type stopError struct{ err, cause string }

func (e *stopError) Error() string { return "execution stopped: " + e.err + ": " + e.cause }

// New parses def and returns an executor for it.
func New(def []byte, reg *Registry, opts Options) (*Executor, error) {
	sm, err := asl.Parse(def)
	if err != nil {
		return nil, err
	}
	if opts.Clock == nil {
		opts.Clock = RealClock{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Store == nil {
		opts.Store = NewMemStore()
	}
	if opts.StateMachineName == "" {
		opts.StateMachineName = "imagerec"
	}
	if opts.Region == "" {
		opts.Region = "us-east-1"
	}
	if opts.Account == "" {
		opts.Account = "123456789012"
	}
	if opts.RoleArn == "" {
		opts.RoleArn = fmt.Sprintf("arn:aws:iam::%s:role/imagerec-local", opts.Account)
	}
	if opts.MaxPayloadBytes == 0 {
		opts.MaxPayloadBytes = MaxPayloadBytes
	}
	if reg == nil {
		reg = NewRegistry()
	}
	ctx, cancel := context.WithCancel(context.Background())
	x := &Executor{
		sm: sm, def: def, reg: reg, opts: opts, ctx: ctx, cancel: cancel,
		log:      opts.Logger.With("component", "sfn"),
		smArn:    fmt.Sprintf("arn:aws:states:%s:%s:stateMachine:%s", opts.Region, opts.Account, opts.StateMachineName),
		running:  map[string]*active{},
		mapRuns:  map[string]*mapRun{},
		children: map[string]*Executor{},
	}
	return x, nil
}

// StateMachineArn returns the ARN executions report.
func (x *Executor) StateMachineArn() string { return x.smArn }

// Definition returns the definition new executions run.
func (x *Executor) Definition() []byte {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.def
}

// SetDefinition replaces the definition of new executions (running ones
// keep theirs), as UpdateStateMachine does.
func (x *Executor) SetDefinition(def []byte) error {
	sm, err := asl.Parse(def)
	if err != nil {
		return err
	}
	x.mu.Lock()
	x.sm, x.def = sm, def
	x.mu.Unlock()
	return nil
}

// ExecutionArn returns the ARN of the execution with the given name.
func (x *Executor) ExecutionArn(name string) string {
	return fmt.Sprintf("arn:aws:states:%s:%s:execution:%s:%s", x.opts.Region, x.opts.Account, x.opts.StateMachineName, name)
}

// Close lets running executions finish for up to Options.CloseGrace, then
// cancels the others and waits for their goroutines. The cancelled
// executions stay RUNNING in the store, so Recover re-runs them.
func (x *Executor) Close() error {
	x.mu.Lock()
	x.closing = true
	x.mu.Unlock()
	if x.opts.CloseGrace > 0 {
		done := make(chan struct{})
		go func() {
			x.wg.Wait()
			close(done)
		}()
		t := time.NewTimer(x.opts.CloseGrace)
		select {
		case <-done:
		case <-t.C:
		}
		t.Stop()
	}
	x.cancel()
	x.wg.Wait()
	return nil
}

func validName(name string) error {
	if name == "" || len(name) > 80 {
		return fmt.Errorf("%w: invalid execution name %q: 1 to 80 characters", ErrInvalidName, name)
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f || bytes.ContainsRune([]byte(" <>{}[]?*\"#%\\^|~`$&,;:/"), r) {
			return fmt.Errorf("%w: invalid execution name %q: character %q is not allowed", ErrInvalidName, name, r)
		}
	}
	return nil
}

func (x *Executor) prepare(name string, input json.RawMessage) (any, Execution, error) {
	if err := validName(name); err != nil {
		return nil, Execution{}, err
	}
	if len(bytes.TrimSpace(input)) == 0 {
		input = json.RawMessage("{}")
	}
	v, err := asl.Decode(input)
	if err != nil {
		return nil, Execution{}, fmt.Errorf("%w: %w", ErrInvalidExecutionInput, err)
	}
	if x.opts.MaxPayloadBytes > 0 && len(input) > x.opts.MaxPayloadBytes {
		return nil, Execution{}, fmt.Errorf("%w: input is %d bytes, over the %d byte limit", ErrInvalidExecutionInput, len(input), x.opts.MaxPayloadBytes)
	}
	ex := Execution{
		ExecutionArn:    x.ExecutionArn(name),
		StateMachineArn: x.smArn,
		Name:            name,
		Status:          StatusRunning,
		StartDate:       x.opts.Clock.Now().UTC(),
		Input:           json.RawMessage(asl.Marshal(v)),
	}
	return v, ex, nil
}

// Start starts an execution in the background and returns its ARN. A name
// already used returns the existing execution's ARN when the input is
// equal, and ErrExecutionAlreadyExists otherwise, like StartExecution.
//
// With Options.Leaser it runs here under its lease.
func (x *Executor) Start(ctx context.Context, name string, input json.RawMessage) (string, error) {
	v, ex, err := x.prepare(name, input)
	if err != nil {
		return "", err
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.closing {
		return "", fmt.Errorf("start execution %q: %w", name, ErrExecutorClosed)
	}
	if a, ok := x.running[ex.ExecutionArn]; ok {
		return x.existing(ex, a.exec.Input)
	}
	if rec, err := x.opts.Store.Get(ex.ExecutionArn); err == nil {
		return x.existing(ex, rec.Execution.Input)
	} else if !errors.Is(err, ErrExecutionDoesNotExist) {
		return "", fmt.Errorf("start execution %q: %w", name, err)
	}
	a := x.begin(ex)
	if x.opts.Dispatch != nil {
		if err := x.dispatch(ctx, a, false); err != nil {
			return "", fmt.Errorf("start execution %q: %w", name, err)
		}
		return ex.ExecutionArn, nil
	}
	if x.opts.Leaser != nil {
		lease, err := x.opts.Leaser.Acquire(ctx, ex.ExecutionArn)
		if errors.Is(err, ErrLeaseHeld) {
			// Another process started it a moment ago.
			delete(x.running, ex.ExecutionArn)
			close(a.done)
			return ex.ExecutionArn, nil
		}
		if err != nil {
			delete(x.running, ex.ExecutionArn)
			close(a.done)
			return "", fmt.Errorf("start execution %q: %w", name, err)
		}
		a.lease = lease
	}
	if err := x.persist(a); err != nil {
		delete(x.running, ex.ExecutionArn)
		if a.lease != nil {
			a.lease.Release()
		}
		return "", fmt.Errorf("start execution %q: %w", name, err)
	}
	x.goRun(a, v)
	return ex.ExecutionArn, nil
}

func (x *Executor) existing(ex Execution, stored json.RawMessage) (string, error) {
	a, err1 := asl.Decode(stored)
	b, err2 := asl.Decode(ex.Input)
	if err1 == nil && err2 == nil && asl.Equal(a, b) {
		return ex.ExecutionArn, nil
	}
	return "", fmt.Errorf("%w: Execution Already Exists: '%s'", ErrExecutionAlreadyExists, ex.ExecutionArn)
}

// begin registers a running execution; x.mu must be held.
func (x *Executor) begin(ex Execution) *active {
	a := &active{done: make(chan struct{}), hist: &history{clock: x.opts.Clock}, exec: ex, sm: x.sm, def: x.def}
	if f := x.opts.OnEvent; f != nil {
		arn := ex.ExecutionArn
		a.hist.onAdd = func(e Event) { f(arn, e) }
	}
	a.callbacks = newCallbacks(nil, func() error { return x.persist(a) })
	x.running[ex.ExecutionArn] = a
	return a
}

func (x *Executor) persist(a *active) error {
	if a.lease != nil {
		select {
		case <-a.lease.Lost():
			// Another process may own the record now.
			return errLeaseLost
		default:
		}
	}
	rec := &Record{Execution: a.exec, Definition: string(a.def), History: a.hist.snapshot(), Callbacks: a.callbacks.snapshot(), Parent: a.parent}
	x.mrMu.Lock()
	arns := append([]string(nil), a.mapRuns...)
	rec.Resume = a.resume.point()
	if rec.Resume == nil {
		rec.Resume = a.from
	}
	x.mrMu.Unlock()
	for _, arn := range arns {
		if mr, ok := x.describeMapRun(arn); ok {
			rec.MapRuns = append(rec.MapRuns, mr)
		}
	}
	return x.opts.Store.Put(rec)
}

// RunSync runs an execution to its end in the calling goroutine, like
// StartSyncExecution. Its name must be unique too.
func (x *Executor) RunSync(ctx context.Context, name string, input json.RawMessage) (Execution, error) {
	v, ex, err := x.prepare(name, input)
	if err != nil {
		return Execution{}, err
	}
	x.mu.Lock()
	if _, ok := x.running[ex.ExecutionArn]; ok {
		x.mu.Unlock()
		return Execution{}, fmt.Errorf("%w: Execution Already Exists: '%s'", ErrExecutionAlreadyExists, ex.ExecutionArn)
	}
	a := x.begin(ex)
	x.mu.Unlock()
	x.run(ctx, a, v)
	return a.exec, nil
}

// run executes and records the result.
func (x *Executor) run(ctx context.Context, a *active, input any) {
	outer := ctx
	ex := a.exec
	log := x.log.With("execution", ex.Name)
	log.Debug("execution started")
	ctxInput := input
	if a.from != nil {
		// A redrive: the machine restarts at a.from with its input;
		// $$.Execution.Input stays the execution's.
		ctxInput, _ = asl.Decode(ex.Input)
		input, _ = asl.Decode(a.from.Input)
	}
	r := &runner{
		reg: x.reg, clock: x.opts.Clock, hist: a.hist, limit: payloadLimit(x.opts.MaxPayloadBytes),
		arn: ex.ExecutionArn, name: ex.Name, smArn: x.smArn, smName: x.opts.StateMachineName,
		roleArn: x.opts.RoleArn, start: ex.StartDate, input: ctxInput, express: x.opts.Type == "EXPRESS",
		callbacks: a.callbacks, x: x, resume: a.from, redriveCount: ex.RedriveCount,
		topState: func(p *resumeAt) {
			x.mrMu.Lock()
			a.resume = p
			x.mrMu.Unlock()
		},
		mapRunStarted: func(arn string) {
			x.mrMu.Lock()
			defer x.mrMu.Unlock()
			for _, m := range a.mapRuns {
				if m == arn {
					return
				}
			}
			a.mapRuns = append(a.mapRuns, arn)
		},
	}
	switch {
	case a.redrive:
		a.hist.add(-1, "ExecutionRedriven", map[string]any{"redriveCount": ex.RedriveCount})
	case a.from != nil: // recovered: it goes on where it was
	default:
		a.hist.add(0, "ExecutionStarted", map[string]any{"input": string(ex.Input), "inputDetails": map[string]any{"truncated": false}, "roleArn": x.opts.RoleArn})
	}
	ctx, abort := context.WithCancelCause(ctx)
	defer abort(nil)
	x.mu.Lock()
	a.stop = abort
	if a.stopReq != nil {
		abort(a.stopReq)
	}
	x.mu.Unlock()
	limit := time.Duration(a.sm.TimeoutSeconds) * time.Second
	if x.opts.Type == TypeExpress && (limit == 0 || limit > maxExpressDuration) {
		limit = maxExpressDuration
	}
	if limit > 0 {
		var cancel context.CancelFunc
		ctx, cancel = withDeadline(ctx, x.opts.Clock, limit)
		defer cancel()
	}
	last := x.opts.Clock.Now()
	r.save = func() {
		if err := x.persist(a); err != nil {
			log.Warn("checkpoint execution", "err", err)
		}
	}
	r.checkpoint = func() {
		// Persist progress at most once a second (on the executor's
		// clock), so the history of a running execution can be read by
		// another process.
		now := x.opts.Clock.Now()
		if now.Sub(last) < time.Second && !x.opts.checkpointAll {
			return
		}
		last = now
		if err := x.persist(a); err != nil {
			log.Warn("checkpoint execution", "err", err)
		}
	}
	out, err := r.runMachine(ctx, a.sm, input, &frame{scope: newScope(nil), top: true})
	lost := errors.Is(context.Cause(outer), errLeaseLost)
	if err == errCanceled && (x.ctx.Err() != nil || lost) {
		// Executor closing: leave the execution RUNNING for Recover (or
		// the next process it is handed to), with its latest resume point
		// and history. A lost lease: whoever has it now owns the record.
		if !lost {
			if perr := x.persist(a); perr != nil {
				log.Warn("checkpoint execution", "err", perr)
			}
		}
		x.mu.Lock()
		delete(x.running, ex.ExecutionArn)
		x.mu.Unlock()
		close(a.done)
		if lost {
			log.Warn("execution lease lost: another process goes on with it")
		} else {
			log.Info("execution interrupted; it stays RUNNING for recovery")
		}
		return
	}
	stop := x.opts.Clock.Now().UTC()
	ex.StopDate = &stop
	var stopped *stopError
	errors.As(context.Cause(ctx), &stopped)
	recordEnd(&ex, a.hist, out, err, ctx.Err() != nil, stopped)
	a.exec = ex
	if perr := x.persist(a); perr != nil {
		log.Error("store execution", "err", perr)
	}
	x.mu.Lock()
	delete(x.running, ex.ExecutionArn)
	x.mu.Unlock()
	close(a.done)
	log.Debug("execution ended", "status", ex.Status)
	if x.opts.OnComplete != nil {
		x.opts.OnComplete(ex)
	}
}

// recordEnd sets an execution's final status, output or error from the
// run's outcome, and adds the history's last event. ctxDone tells a
// States.Timeout of the execution's own deadline from a task's.
func recordEnd(ex *Execution, hist *history, out any, err *asl.Error, ctxDone bool, stopped *stopError) {
	switch {
	case err == nil:
		ex.Status = StatusSucceeded
		ex.Output = json.RawMessage(asl.Marshal(out))
		hist.add(-1, "ExecutionSucceeded", map[string]any{"output": string(ex.Output), "outputDetails": map[string]any{"truncated": false}})
	case err.Name == asl.ErrNameTimeout && ctxDone:
		ex.Status = StatusTimedOut
		ex.Error, ex.HasError = err.Name, true
		ex.Cause, ex.HasCause = err.Cause, true
		hist.add(-1, "ExecutionTimedOut", map[string]any{"error": err.Name, "cause": err.Cause})
	case err == errCanceled:
		ex.Status = StatusAborted
		var d map[string]any
		if stopped != nil {
			d = map[string]any{}
			if stopped.err != "" {
				d["error"] = stopped.err
				ex.Error, ex.HasError = stopped.err, true
			}
			if stopped.cause != "" {
				d["cause"] = stopped.cause
				ex.Cause, ex.HasCause = stopped.cause, true
			}
		}
		hist.add(-1, "ExecutionAborted", d)
	default:
		ex.Status = StatusFailed
		d := map[string]any{}
		if err.Name != "" {
			ex.Error, ex.HasError = err.Name, true
			d["error"] = err.Name
		}
		if !err.NoCause {
			ex.Cause, ex.HasCause = err.Cause, true
			d["cause"] = err.Cause
		}
		hist.add(-1, "ExecutionFailed", d)
	}
}

// loadResume returns a record's resume point with its variables decoded
// (nil: none, or one that cannot be read).
func loadResume(rec *Record) *ResumePoint {
	if rec.Resume == nil || rec.Resume.State == "" {
		return nil
	}
	from := *rec.Resume
	if len(from.Vars) > 0 {
		v, err := asl.Decode(from.Vars)
		o, ok := v.(*asl.Object)
		if err != nil || !ok {
			return nil
		}
		from.vars = map[string]any{}
		for _, k := range o.Keys() {
			from.vars[k] = o.Val(k)
		}
	}
	return &from
}

// maxExpressDuration is how long an EXPRESS execution may run, as on AWS.
const maxExpressDuration = 5 * time.Minute

// redriveWindow is how long after its end an execution can be redriven.
const redriveWindow = 14 * 24 * time.Hour

// Redrive restarts a FAILED, ABORTED or TIMED_OUT execution from the
// top-level state it ended in, with that state's input and the variables
// then, as RedriveExecution does: states that had succeeded are not run
// again, nor are the child executions of a Distributed Map that
// succeeded. It returns the redrive date.
func (x *Executor) Redrive(ctx context.Context, arn string) (time.Time, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.closing {
		return time.Time{}, fmt.Errorf("redrive execution: %w", ErrExecutorClosed)
	}
	if _, ok := x.running[arn]; ok {
		return time.Time{}, fmt.Errorf("%w: Execution is RUNNING and cannot be redriven", ErrExecutionNotRedrivable)
	}
	rec, err := x.opts.Store.Get(arn)
	if err != nil {
		return time.Time{}, err
	}
	ex := rec.Execution
	now := x.opts.Clock.Now().UTC()
	status, reason := RedriveStatus(ex)
	switch {
	case status != "REDRIVABLE":
		return time.Time{}, fmt.Errorf("%w: %s", ErrExecutionNotRedrivable, reason)
	case x.opts.Type == TypeExpress:
		return time.Time{}, fmt.Errorf("%w: Express executions cannot be redriven", ErrExecutionNotRedrivable)
	case ex.StopDate != nil && now.Sub(*ex.StopDate) > redriveWindow:
		return time.Time{}, fmt.Errorf("%w: the execution ended more than 14 days ago", ErrExecutionNotRedrivable)
	}
	from := loadResume(rec)
	if from == nil {
		// It ended before its first state: start again from the start.
		from = &ResumePoint{Input: ex.Input}
	}
	ex.Status, ex.StopDate, ex.Output = StatusRunning, nil, nil
	ex.Error, ex.Cause, ex.HasError, ex.HasCause = "", "", false, false
	ex.RedriveCount++
	ex.RedriveDate = &now
	a := x.begin(ex)
	if rec.Definition != "" && rec.Definition != string(a.def) {
		if sm, perr := asl.Parse([]byte(rec.Definition)); perr == nil {
			a.sm, a.def = sm, []byte(rec.Definition)
		}
	}
	if from.State == "" {
		from.State = a.sm.StartAt
	}
	a.from, a.redrive = from, true
	a.hist.events = append(a.hist.events, rec.History...)
	// Answered tokens are kept; the failed and timed-out ones may be
	// waited for again.
	kept := map[string]*CallbackOutcome{}
	for k, o := range rec.Callbacks {
		if o.Status == StatusSucceeded {
			kept[k] = o
		}
	}
	a.callbacks = newCallbacks(kept, a.callbacks.persist)
	x.mrMu.Lock()
	for _, m := range rec.MapRuns {
		if _, ok := x.mapRuns[m.MapRunArn]; !ok {
			x.mapRuns[m.MapRunArn] = &mapRun{info: m}
		}
		a.mapRuns = append(a.mapRuns, m.MapRunArn)
	}
	x.mrMu.Unlock()
	if err := x.leaseFor(ctx, a); err != nil {
		delete(x.running, arn)
		return time.Time{}, fmt.Errorf("redrive execution: %w", err)
	}
	if err := x.persist(a); err != nil {
		delete(x.running, arn)
		if a.lease != nil {
			a.lease.Release()
		}
		return time.Time{}, fmt.Errorf("redrive execution: %w", err)
	}
	x.goRun(a, nil)
	return now, nil
}

// leaseFor takes a's lease when the executor has a Leaser.
func (x *Executor) leaseFor(ctx context.Context, a *active) error {
	if x.opts.Leaser == nil {
		return nil
	}
	lease, err := x.opts.Leaser.Acquire(ctx, a.exec.ExecutionArn)
	if err != nil {
		return err
	}
	a.lease = lease
	return nil
}

// RoleArn is $$.Execution.RoleArn of this machine's executions.
func (x *Executor) RoleArn() string { return x.opts.RoleArn }

// ExecutionDefinition returns the definition an execution runs.
func (x *Executor) ExecutionDefinition(_ context.Context, arn string) ([]byte, error) {
	x.mu.Lock()
	if a, ok := x.running[arn]; ok {
		x.mu.Unlock()
		return a.def, nil
	}
	x.mu.Unlock()
	rec, err := x.opts.Store.Get(arn)
	if err != nil {
		return nil, err
	}
	if rec.Definition == "" {
		return x.Definition(), nil
	}
	return []byte(rec.Definition), nil
}

// runningArns returns the ARNs of the executions running now.
func (x *Executor) runningArns() []string {
	x.mu.Lock()
	defer x.mu.Unlock()
	out := make([]string, 0, len(x.running))
	for arn := range x.running {
		out = append(out, arn)
	}
	return out
}

// Describe returns an execution, running or finished.
func (x *Executor) Describe(_ context.Context, arn string) (Execution, error) {
	x.mu.Lock()
	if a, ok := x.running[arn]; ok {
		ex := a.exec
		x.mu.Unlock()
		return ex, nil
	}
	x.mu.Unlock()
	rec, err := x.opts.Store.Get(arn)
	if err != nil {
		return Execution{}, err
	}
	return rec.Execution, nil
}

// List returns all stored executions, newest first.
func (x *Executor) List(_ context.Context) ([]Execution, error) {
	recs, err := x.opts.Store.List()
	if err != nil {
		return nil, err
	}
	out := make([]Execution, len(recs))
	for i, r := range recs {
		out[i] = r.Execution
	}
	return out, nil
}

// History returns an execution's events.
func (x *Executor) History(_ context.Context, arn string) ([]Event, error) {
	x.mu.Lock()
	if a, ok := x.running[arn]; ok {
		x.mu.Unlock()
		return materialize(a.hist.snapshot()), nil
	}
	x.mu.Unlock()
	rec, err := x.opts.Store.Get(arn)
	if err != nil {
		return nil, err
	}
	return materialize(rec.History), nil
}

// Wait blocks until the execution ends (or ctx is done) and returns it.
func (x *Executor) Wait(ctx context.Context, arn string) (Execution, error) {
	x.mu.Lock()
	a, ok := x.running[arn]
	x.mu.Unlock()
	if ok {
		select {
		case <-a.done:
		case <-ctx.Done():
			return Execution{}, ctx.Err()
		}
	}
	return x.Describe(ctx, arn)
}

// Rerun runs a stored, finished execution again from its input under the
// same name (the new run replaces the stored record, as a re-run by
// Recover does). A running execution is left as it is. It returns the ARN.
func (x *Executor) Rerun(ctx context.Context, name string) (string, error) {
	arn := x.ExecutionArn(name)
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.closing {
		return "", fmt.Errorf("rerun execution %q: %w", name, ErrExecutorClosed)
	}
	if _, ok := x.running[arn]; ok {
		return arn, nil
	}
	rec, err := x.opts.Store.Get(arn)
	if err != nil {
		return "", fmt.Errorf("rerun execution %q: %w", name, err)
	}
	v, err := asl.Decode(rec.Execution.Input)
	if err != nil {
		return "", fmt.Errorf("rerun execution %q: stored input: %w", name, err)
	}
	ex := Execution{
		ExecutionArn: arn, StateMachineArn: x.smArn, Name: name, Status: StatusRunning,
		StartDate: x.opts.Clock.Now().UTC(), Input: rec.Execution.Input,
	}
	a := x.begin(ex)
	if x.opts.Dispatch != nil {
		x.log.Info("running a finished execution again elsewhere", "execution", name)
		if err := x.dispatch(ctx, a, true); err != nil {
			return "", fmt.Errorf("rerun execution %q: %w", name, err)
		}
		return arn, nil
	}
	if err := x.leaseFor(ctx, a); err != nil {
		delete(x.running, arn)
		return "", fmt.Errorf("rerun execution %q: %w", name, err)
	}
	if err := x.persist(a); err != nil {
		delete(x.running, arn)
		if a.lease != nil {
			a.lease.Release()
		}
		return "", fmt.Errorf("rerun execution %q: %w", name, err)
	}
	x.log.Info("running a finished execution again", "execution", name)
	x.goRun(a, v)
	return arn, nil
}

// Recover runs again the stored executions left RUNNING by a process that
// stopped: each goes on at the last top-level state it checkpointed, with
// its history (from the start when it had none; tasks are idempotent).
// It returns their ARNs.
func (x *Executor) Recover(ctx context.Context) ([]string, error) {
	if x.opts.Leaser != nil {
		// Shared store: an execution another process runs is RUNNING
		// too; only those whose lease is free are taken up (shared.go).
		return x.adopt(ctx)
	}
	recs, err := x.opts.Store.List()
	if err != nil {
		return nil, fmt.Errorf("recover executions: %w", err)
	}
	var arns []string
	for _, rec := range recs {
		ex := rec.Execution
		if ex.Status != StatusRunning || ex.StateMachineArn != x.smArn {
			continue
		}
		x.mu.Lock()
		if x.closing {
			x.mu.Unlock()
			return arns, fmt.Errorf("recover executions: %w", ErrExecutorClosed)
		}
		if _, ok := x.running[ex.ExecutionArn]; ok {
			x.mu.Unlock()
			continue
		}
		v, derr := asl.Decode(ex.Input)
		if derr != nil {
			x.mu.Unlock()
			x.log.Error("recover execution: bad stored input", "execution", ex.Name, "err", derr)
			continue
		}
		// It goes on at the last top-level state it checkpointed, with
		// its history; task tokens answered before the stop are replayed;
		// its Map Runs are taken up again.
		a := x.resumeLocked(rec)
		x.mu.Unlock()
		x.log.Info("re-running execution left running", "execution", ex.Name)
		x.goRun(a, v)
		arns = append(arns, ex.ExecutionArn)
	}
	return arns, nil
}

package sfn

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/imagerec/imagerec/internal/asl"
)

// MaxPayloadBytes is Step Functions' limit on state input and output.
const MaxPayloadBytes = 256 * 1024

// runner runs one execution. It is the interpreter: the control flow of
// every state, the same for JSONPath and JSONata states, with the data
// flow left to an evaluator (eval.go).
type runner struct {
	reg     *Registry
	clock   Clock
	hist    *history
	limit   payloadLimit
	arn     string
	name    string
	smArn   string
	smName  string
	roleArn string
	start   time.Time
	input   any
	express bool

	// checkpoint, if set, is called between top-level states to persist
	// progress.
	checkpoint func()
	// save persists progress now (a spread Distributed Map's Map Run
	// status, which its children read).
	save func()
	// callbacks holds the execution's task tokens (.waitForTaskToken).
	callbacks *callbacks
	// x is the executor running the execution (Distributed Map child
	// executions, object access); mapRunStarted records a Map Run it
	// starts.
	x             *Executor
	mapRunStarted func(arn string)
	// topState records each top-level state as it starts (the resume
	// point of a redrive); resume, set for a redrive, is where to start.
	topState func(*resumeAt)
	resume   *ResumePoint
	// redriveCount is $$.Execution.RedriveCount.
	redriveCount int
	// occ counts how often each state (by path) was entered, so that a
	// re-run after a restart gives each task the same token.
	occMu sync.Mutex
	occ   map[string]int

	ctxOnce sync.Once
	ctxExec *asl.Object
	ctxSM   *asl.Object
}

// frame is what a state needs besides its input: the variable scope and,
// inside a Map iteration, the item.
type frame struct {
	scope *scope
	item  *mapItem
	// path locates the frame in the execution: "" at the top,
	// "/Map[3]" in iteration 3 of Map, "/P{1}" in branch 1 of P.
	path string
	// top is set for the execution's own states (not branches or
	// iterations); checkpoints happen between them.
	top bool
}

// evaluator returns the evaluator of the state's query language.
func (r *runner) evaluator(st *asl.State) evaluator {
	if st.JSONata {
		return jsonataEval{}
	}
	return jsonPathEval{limit: r.limit}
}

// runMachine runs a state machine (or branch, or iteration) to its end.
func (r *runner) runMachine(ctx context.Context, sm *asl.StateMachine, input any, f *frame) (any, *asl.Error) {
	name := sm.StartAt
	if f.top && r.resume != nil {
		// A redrive: start at the state that failed, with its input and
		// the variables and entry counts it had.
		name = r.resume.State
		for k, v := range r.resume.vars {
			f.scope.set(k, v)
		}
		r.occ = map[string]int{"/" + name: r.resume.Previous}
		r.resume = nil
	}
	enter := func() {
		if f.top && r.topState != nil {
			r.occMu.Lock()
			prev := r.occ["/"+name]
			r.occMu.Unlock()
			r.topState(&resumeAt{state: name, input: input, scope: f.scope, previous: prev})
		}
	}
	enter()
	for {
		if err := cause(ctx); err != nil {
			return nil, ctxError(err)
		}
		st := sm.States[name]
		out, next, err := r.runState(ctx, st, input, f)
		if err != nil {
			return nil, err
		}
		if next == "" {
			return out, nil
		}
		input, name = out, next
		// The resume point moves to the next state before the checkpoint
		// writes it: a re-run after a restart starts there.
		enter()
		if f.top && r.checkpoint != nil {
			r.checkpoint()
		}
	}
}

// ResumePoint is where a redrive starts: the top-level state last
// entered, its input, the variables then, and how often it had been
// entered before (so its Map Run and task tokens are found again).
type ResumePoint struct {
	State    string          `json:"state"`
	Input    json.RawMessage `json:"input"`
	Vars     json.RawMessage `json:"vars,omitempty"`
	Previous int             `json:"previousEntries,omitempty"`

	vars map[string]any
}

// resumeAt is a resume point as the run holds it: marshalled only when the
// record is written.
type resumeAt struct {
	state    string
	input    any
	scope    *scope
	previous int
}

func (p *resumeAt) point() *ResumePoint {
	if p == nil {
		return nil
	}
	rp := &ResumePoint{State: p.state, Input: json.RawMessage(asl.Marshal(p.input)), Previous: p.previous}
	if vars := p.scope.all(); len(vars) > 0 {
		o := asl.NewObject(len(vars))
		for k, v := range vars {
			o.Set(k, v)
		}
		rp.Vars = json.RawMessage(asl.Marshal(o))
	}
	return rp
}

// errCanceled marks a run stopped because its context ended (another
// branch failed, or the executor is closing).
var errCanceled = &asl.Error{Name: "States.Canceled", Cause: "the execution was stopped"}

func ctxError(err error) *asl.Error {
	if errors.Is(err, context.DeadlineExceeded) {
		return &asl.Error{Name: asl.ErrNameTimeout, Cause: "the execution timed out"}
	}
	return errCanceled
}

// stateError prefixes a data-flow error with the state and its entered
// event id, as Step Functions does.
func stateError(st *asl.State, entered int64, e *asl.Error) *asl.Error {
	switch e.Name {
	case asl.ErrNameRuntime, asl.ErrNameIntrinsicFailure, asl.ErrNameParameterPathFailure, asl.ErrNameResultPathMatchFailure, asl.ErrNameQueryEvaluationError:
		return &asl.Error{Name: e.Name, Cause: fmt.Sprintf("An error occurred while executing the state '%s' (entered at the event id #%d). %s", st.Name, entered, e.Cause)}
	}
	return e
}

// runState runs one state and returns its output and the next state ("" at
// the end).
func (r *runner) runState(ctx context.Context, st *asl.State, raw any, f *frame) (any, string, *asl.Error) {
	entered := r.clock.Now()
	s := &step{st: st, ev: r.evaluator(st), f: f, raw: raw, entered: entered, occurrence: r.occurrence(f.path + "/" + st.Name)}
	s.enteredID = r.hist.add(-1, st.Type+"StateEntered", map[string]any{"name": st.Name, "input": lazyJSON{raw}, "inputDetails": map[string]any{"truncated": false}})
	s.ctxObj = r.contextObject(st, entered, f, 0)
	if st.Type == "Fail" {
		e, err := s.ev.failure(s)
		if err != nil {
			return nil, "", s.fail(err)
		}
		return nil, "", e
	}
	input, err := s.ev.input(s)
	if err != nil {
		return nil, "", s.fail(err)
	}
	result, next := input, st.Next
	switch st.Type {
	case "Pass":
		result, err = s.ev.arguments(s, input)
	case "Succeed":
	case "Wait":
		err = r.wait(ctx, s, input)
	case "Choice":
		next, err = r.choose(s, input)
	case "Task", "Parallel", "Map":
		return r.runWithRetry(ctx, s, input)
	default:
		err = &asl.Error{Name: asl.ErrNameRuntime, Cause: "unsupported state type " + st.Type}
	}
	if err != nil {
		return nil, "", s.fail(err)
	}
	out, err := r.finish(s, result)
	if err != nil {
		return nil, "", s.fail(err)
	}
	r.exited(st, out)
	return out, next, nil
}

// occurrence counts the entries of the state at path.
func (r *runner) occurrence(path string) int {
	r.occMu.Lock()
	defer r.occMu.Unlock()
	if r.occ == nil {
		r.occ = map[string]int{}
	}
	r.occ[path]++
	return r.occ[path]
}

func (r *runner) exited(st *asl.State, out any) {
	r.hist.add(-1, st.Type+"StateExited", map[string]any{"name": st.Name, "output": lazyJSON{out}, "outputDetails": map[string]any{"truncated": false}})
}

// payloadLimit is the largest state result or output, in bytes; 0 or
// negative: no limit.
type payloadLimit int

// check returns States.DataLimitExceeded when v is over the limit.
func (l payloadLimit) check(st *asl.State, v any) *asl.Error {
	if l <= 0 || asl.Size(v, int(l)) <= int(l) {
		return nil
	}
	return &asl.Error{Name: asl.ErrNameDataLimitExceeded, Cause: fmt.Sprintf("The state/task '%s' returned a result with a size exceeding the maximum number of bytes service limit.", st.Name)}
}

// finish makes the state's output from its result, holds it to the
// payload limit and then sets the variables the state assigns.
func (r *runner) finish(s *step, result any) (any, *asl.Error) {
	out, vars, err := s.ev.output(s, result)
	if err != nil {
		return nil, err
	}
	if err := r.limit.check(s.st, out); err != nil {
		return nil, err
	}
	vars.set(s.f.scope)
	return out, nil
}

// choose returns the next state of a Choice state, remembering the rule
// taken.
func (r *runner) choose(s *step, input any) (string, *asl.Error) {
	rule, err := s.ev.choose(s, input)
	switch {
	case err != nil:
		return "", err
	case rule != nil:
		s.rule = rule
		return rule.Next, nil
	case s.st.Default == "":
		return "", &asl.Error{Name: asl.ErrNameNoChoiceMatched, Cause: fmt.Sprintf("No Choice Rules matched in the state '%s', and no Default state was specified.", s.st.Name)}
	}
	return s.st.Default, nil
}

// wait sleeps for a Wait state, on the executor's clock.
func (r *runner) wait(ctx context.Context, s *step, input any) *asl.Error {
	w, err := s.ev.wait(s, input)
	if err != nil {
		return err
	}
	d := w.d
	if w.until {
		d = w.at.Sub(r.clock.Now())
	}
	if d > 0 {
		if err := r.clock.Sleep(ctx, d); err != nil {
			return ctxError(err)
		}
	}
	return nil
}

// runWithRetry runs a Task, Parallel or Map state with its Retry and
// Catch policies.
func (r *runner) runWithRetry(ctx context.Context, s *step, input any) (any, string, *asl.Error) {
	st := s.st
	counts := make([]int, len(st.Retry))
	for attempt := 0; ; attempt++ {
		s.ctxObj = r.contextObject(st, s.entered, s.f, attempt)
		s.attempt = attempt
		out, err := r.attempt(ctx, s, input)
		if err == nil {
			r.exited(st, out)
			return out, st.Next, nil
		}
		if err == errCanceled {
			return nil, "", err
		}
		delay, ok := r.retryDelay(st, err, counts)
		if !ok {
			return r.catch(s, err)
		}
		if e := r.clock.Sleep(ctx, delay); e != nil {
			return nil, "", ctxError(e)
		}
	}
}

// catch hands err to the first catcher that matches it; without one the
// state fails with err.
func (r *runner) catch(s *step, err *asl.Error) (any, string, *asl.Error) {
	for i := range s.st.Catch {
		c := &s.st.Catch[i]
		if !asl.MatchesError(c.ErrorEquals, err.Name) {
			continue
		}
		out, vars, cerr := s.ev.caught(s, c, errorObject(err))
		if cerr != nil {
			return nil, "", s.fail(cerr)
		}
		vars.set(s.f.scope)
		r.exited(s.st, out)
		return out, c.Next, nil
	}
	return nil, "", err
}

func errorObject(e *asl.Error) *asl.Object {
	o := asl.NewObject(2)
	o.Set("Error", e.Name)
	if !e.NoCause {
		o.Set("Cause", e.Cause)
	}
	return o
}

// retryDelay picks the first retrier matching err; ok is false when none
// matches or its attempts are used up.
func (r *runner) retryDelay(st *asl.State, err *asl.Error, counts []int) (time.Duration, bool) {
	for i, rt := range st.Retry {
		if !asl.MatchesError(rt.ErrorEquals, err.Name) {
			continue
		}
		if counts[i] >= rt.MaxAttempts {
			return 0, false
		}
		d := RetryDelay(rt, counts[i], rand.Float64)
		counts[i]++
		return d, true
	}
	return 0, false
}

// RetryDelay is the wait before retry number n+1 (n retries done so far):
// IntervalSeconds * BackoffRate^n, capped by MaxDelaySeconds, and with
// JitterStrategy FULL a uniformly random duration up to that.
func RetryDelay(rt asl.Retrier, n int, random func() float64) time.Duration {
	secs := rt.IntervalSeconds * math.Pow(rt.BackoffRate, float64(n))
	if rt.MaxDelaySeconds > 0 && secs > rt.MaxDelaySeconds {
		secs = rt.MaxDelaySeconds
	}
	if rt.JitterFull {
		secs *= random()
	}
	return time.Duration(secs * float64(time.Second))
}

// attempt runs a Task, Parallel or Map state once: its body, then result
// selection, the payload limit and the output.
func (r *runner) attempt(ctx context.Context, s *step, input any) (any, *asl.Error) {
	var (
		result any
		err    *asl.Error
	)
	switch s.st.Type {
	case "Task":
		result, err = r.task(ctx, s, input)
	case "Parallel":
		result, err = r.parallel(ctx, s, input)
	case "Map":
		result, err = r.mapState(ctx, s, input)
	}
	if err != nil {
		return nil, err
	}
	result, err = s.ev.selectResult(s, result)
	if err != nil {
		return nil, s.fail(err)
	}
	if err := r.limit.check(s.st, result); err != nil {
		return nil, err
	}
	out, err := r.finish(s, result)
	if err != nil {
		return nil, s.fail(err)
	}
	return out, nil
}

package sfn

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"

	"github.com/imagerec/imagerec/internal/asl"
)

// MaxPayloadBytes is Step Functions' limit on state input and output.
const MaxPayloadBytes = 256 * 1024

// runner runs one execution.
type runner struct {
	reg     *Registry
	clock   Clock
	hist    *history
	limit   int
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

	ctxOnce sync.Once
	ctxExec *asl.Object
	ctxSM   *asl.Object
}

type mapItem struct {
	index int
	value any
}

// frame is what a state needs besides its input: the variable scope and,
// inside a Map iteration, the item.
type frame struct {
	scope *scope
	item  *mapItem
	// top is set for the execution's own states (not branches or
	// iterations); checkpoints happen between them.
	top bool
}

func (r *runner) contextObject(st *asl.State, entered time.Time, f *frame, retry int) *asl.Object {
	r.ctxOnce.Do(r.buildContext)
	s := asl.NewObject(3)
	s.Set("EnteredTime", formatTime(entered))
	s.Set("Name", st.Name)
	if st.Type == "Task" {
		s.Set("RetryCount", json.Number(strconv.Itoa(retry)))
	}
	c := asl.NewObject(4)
	c.Set("Execution", r.ctxExec)
	c.Set("StateMachine", r.ctxSM)
	c.Set("State", s)
	if f.item != nil {
		it := asl.NewObject(2)
		it.Set("Index", json.Number(strconv.Itoa(f.item.index)))
		it.Set("Value", f.item.value)
		m := asl.NewObject(1)
		m.Set("Item", it)
		c.Set("Map", m)
	}
	return c
}

// buildContext makes the parts of the context object that do not change
// during the execution.
func (r *runner) buildContext() {
	ex := asl.NewObject(6)
	ex.Set("Id", r.arn)
	ex.Set("Input", r.input)
	ex.Set("StartTime", formatTime(r.start))
	ex.Set("Name", r.name)
	ex.Set("RoleArn", r.roleArn)
	if !r.express {
		ex.Set("RedriveCount", json.Number("0"))
	}
	sm := asl.NewObject(2)
	sm.Set("Id", r.smArn)
	sm.Set("Name", r.smName)
	r.ctxExec, r.ctxSM = ex, sm
}

func formatTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

func (f *frame) env(input, ctxObj any) *asl.Env {
	return &asl.Env{Input: input, Context: ctxObj, Var: f.scope.get}
}

// runMachine runs a state machine (or branch, or iteration) to its end.
func (r *runner) runMachine(ctx context.Context, sm *asl.StateMachine, input any, f *frame) (any, *asl.Error) {
	name := sm.StartAt
	for {
		if err := ctx.Err(); err != nil {
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
		if f.top && r.checkpoint != nil {
			r.checkpoint()
		}
		input, name = out, next
	}
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

func jsonText(v any) string { return asl.MarshalString(v) }

// runState runs one state and returns its output and the next state ("" at
// the end).
func (r *runner) runState(ctx context.Context, st *asl.State, raw any, f *frame) (any, string, *asl.Error) {
	entered := r.clock.Now()
	enteredID := r.hist.add(-1, st.Type+"StateEntered", map[string]any{"name": st.Name, "input": lazyJSON{raw}, "inputDetails": map[string]any{"truncated": false}})
	if st.JSONata {
		return r.runJSONataState(ctx, st, raw, f, entered, enteredID)
	}
	ctxObj := r.contextObject(st, entered, f, 0)
	fail := func(e *asl.Error) (any, string, *asl.Error) {
		return nil, "", stateError(st, enteredID, e)
	}

	if st.Type == "Fail" {
		return r.failState(st, raw, ctxObj, f, enteredID)
	}

	// InputPath.
	input := raw
	if st.InputPathNull {
		input = asl.NewObject(0)
	} else if st.InputPath != nil {
		v, err := st.InputPath.EvalPath(f.env(raw, ctxObj))
		if err != nil {
			return fail(err)
		}
		input = v
	}

	var (
		result any
		next   = st.Next
		assign = st.Assign
		err    *asl.Error
	)
	switch st.Type {
	case "Pass":
		switch {
		case st.HasResult:
			result = asl.Clone(st.Result)
		case st.Parameters != nil:
			result, err = st.Parameters.Eval(f.env(input, ctxObj))
		default:
			result = input
		}
		if err == nil && r.tooBig(result) {
			return nil, "", r.dataLimit(st)
		}
	case "Succeed":
		result = input
	case "Wait":
		result = input
		err = r.wait(ctx, st, input, f, ctxObj)
	case "Choice":
		result = input
		next, assign, err = r.choose(st, input, f, ctxObj)
	case "Task", "Parallel", "Map":
		return r.runWithRetry(ctx, st, raw, input, f, entered, enteredID)
	default:
		err = &asl.Error{Name: asl.ErrNameRuntime, Cause: "unsupported state type " + st.Type}
	}
	if err != nil {
		return fail(err)
	}
	out, err := r.finish(st, raw, result, ctxObj, f, assign)
	if err != nil {
		return fail(err)
	}
	r.exited(st, out)
	return out, next, nil
}

func (r *runner) exited(st *asl.State, out any) {
	r.hist.add(-1, st.Type+"StateExited", map[string]any{"name": st.Name, "output": lazyJSON{out}, "outputDetails": map[string]any{"truncated": false}})
}

func (r *runner) tooBig(v any) bool {
	return r.limit > 0 && asl.Size(v, r.limit) > r.limit
}

func (r *runner) dataLimit(st *asl.State) *asl.Error {
	return &asl.Error{Name: asl.ErrNameDataLimitExceeded, Cause: fmt.Sprintf("The state/task '%s' returned a result with a size exceeding the maximum number of bytes service limit.", st.Name)}
}

// finish applies ResultPath, OutputPath and Assign. Pass, Task, Parallel
// and Map use ResultPath; the others pass result (their effective input)
// straight to OutputPath.
func (r *runner) finish(st *asl.State, raw, result any, ctxObj *asl.Object, f *frame, assign *asl.Template) (any, *asl.Error) {
	var assigned *asl.Object
	if assign != nil {
		v, err := assign.Eval(f.env(result, ctxObj))
		if err != nil {
			return nil, err
		}
		assigned = v.(*asl.Object)
	}
	out := result
	switch st.Type {
	case "Pass", "Task", "Parallel", "Map":
		var err *asl.Error
		out, err = applyResultPath(raw, st.ResultPath, st.ResultPathNull, result)
		if err != nil {
			return nil, err
		}
	}
	if st.OutputPathNull {
		out = asl.NewObject(0)
	} else if st.OutputPath != nil {
		v, err := st.OutputPath.EvalPath(f.env(out, ctxObj))
		if err != nil {
			return nil, err
		}
		out = v
	}
	if r.tooBig(out) {
		return nil, r.dataLimit(st)
	}
	if assigned != nil {
		for _, k := range assigned.Keys() {
			v, _ := assigned.Get(k)
			f.scope.set(k, v)
		}
	}
	return out, nil
}

// applyResultPath places result into raw at the reference path.
func applyResultPath(raw any, rp *asl.Ref, null bool, result any) (any, *asl.Error) {
	switch {
	case null:
		return raw, nil
	case rp == nil || rp.Path().IsRoot():
		return result, nil
	}
	out, err := asl.SetPath(raw, rp.Path(), result)
	if err != nil {
		return nil, &asl.Error{Name: asl.ErrNameResultPathMatchFailure, Cause: fmt.Sprintf("Unable to apply ResultPath '%s' to input '%s': %v", rp, jsonText(raw), err)}
	}
	return out, nil
}

func (r *runner) failState(st *asl.State, raw any, ctxObj *asl.Object, f *frame, enteredID int64) (any, string, *asl.Error) {
	e := &asl.Error{Name: st.Error, Cause: st.Cause, NoCause: !st.HasCause}
	env := f.env(raw, ctxObj)
	if st.ErrorPath != nil {
		v, err := st.ErrorPath.Eval(env, "ErrorPath")
		if err != nil {
			return nil, "", stateError(st, enteredID, err)
		}
		s, ok := v.(string)
		if !ok {
			s = jsonText(v)
		}
		e.Name = s
	}
	if st.CausePath != nil {
		v, err := st.CausePath.Eval(env, "CausePath")
		if err != nil {
			return nil, "", stateError(st, enteredID, err)
		}
		s, ok := v.(string)
		if !ok {
			s = jsonText(v)
		}
		e.Cause, e.NoCause = s, false
	}
	return nil, "", e
}

func (r *runner) choose(st *asl.State, input any, f *frame, ctxObj *asl.Object) (string, *asl.Template, *asl.Error) {
	env := f.env(input, ctxObj)
	for _, rule := range st.Choices {
		ok, err := rule.Eval(env)
		if err != nil {
			return "", nil, err
		}
		if ok {
			if rule.Assign != nil {
				return rule.Next, rule.Assign, nil
			}
			return rule.Next, st.Assign, nil
		}
	}
	if st.Default == "" {
		return "", nil, &asl.Error{Name: asl.ErrNameNoChoiceMatched, Cause: fmt.Sprintf("No Choice Rules matched in the state '%s', and no Default state was specified.", st.Name)}
	}
	return st.Default, st.Assign, nil
}

func (r *runner) wait(ctx context.Context, st *asl.State, input any, f *frame, ctxObj *asl.Object) *asl.Error {
	env := f.env(input, ctxObj)
	var d time.Duration
	switch {
	case st.Seconds != nil:
		d = time.Duration(*st.Seconds) * time.Second
	case st.SecondsPath != nil:
		v, ok := st.SecondsPath.Eval(env)
		if !ok {
			return &asl.Error{Name: asl.ErrNameRuntime, Cause: fmt.Sprintf("The SecondsPath parameter does not reference an existing value: %s", st.SecondsPath)}
		}
		n, isInt := integerOf(v)
		if !isInt {
			return &asl.Error{Name: asl.ErrNameRuntime, Cause: fmt.Sprintf("The SecondsPath parameter cannot be parsed as a long value: %s == %s", st.SecondsPath, plain(v))}
		}
		if n < 0 {
			return &asl.Error{Name: asl.ErrNameRuntime, Cause: fmt.Sprintf("The SecondsPath parameter references a negative value: %s == %s", st.SecondsPath, plain(v))}
		}
		d = time.Duration(n) * time.Second
	case st.Timestamp != "" || st.TimestampPath != nil:
		ts := st.Timestamp
		if st.TimestampPath != nil {
			v, ok := st.TimestampPath.Eval(env)
			s, isStr := v.(string)
			if !ok || !isStr {
				return &asl.Error{Name: asl.ErrNameRuntime, Cause: fmt.Sprintf("The TimestampPath parameter does not reference a valid ISO-8601 extended offset date-time format string: %s == %s", st.TimestampPath, plain(v))}
			}
			ts = s
		}
		t, ok := asl.ParseTimestamp(ts)
		if !ok {
			return &asl.Error{Name: asl.ErrNameRuntime, Cause: fmt.Sprintf("The TimestampPath parameter does not reference a valid ISO-8601 extended offset date-time format string: %s == %s", st.TimestampPath, ts)}
		}
		d = t.Sub(r.clock.Now())
	}
	if d > 0 {
		if err := r.clock.Sleep(ctx, d); err != nil {
			return ctxError(err)
		}
	}
	return nil
}

// plain prints a value for messages: strings bare, others as JSON.
func plain(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	return jsonText(v)
}

// integerOf accepts integral JSON numbers (no fraction).
func integerOf(v any) (int64, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, false
	}
	if i, err := strconv.ParseInt(string(n), 10, 64); err == nil {
		return i, true
	}
	return 0, false
}

// runWithRetry runs a Task, Parallel or Map state with its Retry and
// Catch policies.
func (r *runner) runWithRetry(ctx context.Context, st *asl.State, raw, input any, f *frame, entered time.Time, enteredID int64) (any, string, *asl.Error) {
	counts := make([]int, len(st.Retry))
	attempt := 0
	for {
		ctxObj := r.contextObject(st, entered, f, attempt)
		out, err := r.attempt(ctx, st, raw, input, f, ctxObj, enteredID)
		if err == nil {
			r.exited(st, out)
			return out, st.Next, nil
		}
		if err == errCanceled {
			return nil, "", err
		}
		if delay, ok := r.retryDelay(st, err, counts); ok {
			if e := r.clock.Sleep(ctx, delay); e != nil {
				return nil, "", ctxError(e)
			}
			attempt++
			continue
		}
		for _, c := range st.Catch {
			if !asl.MatchesError(c.ErrorEquals, err.Name) {
				continue
			}
			errObj := asl.NewObject(2)
			errObj.Set("Error", err.Name)
			if !err.NoCause {
				errObj.Set("Cause", err.Cause)
			}
			if c.Assign != nil {
				v, aerr := c.Assign.Eval(f.env(errObj, ctxObj))
				if aerr != nil {
					return nil, "", stateError(st, enteredID, aerr)
				}
				o := v.(*asl.Object)
				for _, k := range o.Keys() {
					x, _ := o.Get(k)
					f.scope.set(k, x)
				}
			}
			out, rerr := applyResultPath(raw, c.ResultPath, c.ResultPathNull, errObj)
			if rerr != nil {
				return nil, "", stateError(st, enteredID, rerr)
			}
			r.exited(st, out)
			return out, c.Next, nil
		}
		return nil, "", err
	}
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

// attempt runs the body of a Task, Parallel or Map state once.
func (r *runner) attempt(ctx context.Context, st *asl.State, raw, input any, f *frame, ctxObj *asl.Object, enteredID int64) (any, *asl.Error) {
	var result any
	var err *asl.Error
	switch st.Type {
	case "Task":
		result, err = r.task(ctx, st, input, f, ctxObj, enteredID)
	case "Parallel":
		result, err = r.parallel(ctx, st, input, f, ctxObj, enteredID)
	case "Map":
		result, err = r.mapState(ctx, st, input, f, ctxObj, enteredID)
	}
	if err != nil {
		return nil, err
	}
	if st.ResultSelector != nil {
		result, err = st.ResultSelector.Eval(f.env(result, ctxObj))
		if err != nil {
			return nil, stateError(st, enteredID, err)
		}
	}
	if r.tooBig(result) {
		return nil, r.dataLimit(st)
	}
	out, err := r.finish(st, raw, result, ctxObj, f, st.Assign)
	if err != nil {
		return nil, stateError(st, enteredID, err)
	}
	return out, nil
}

package sfn

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/imagerec/imagerec/internal/asl"
)

// JSONata states: $states.input, $states.context, $states.result and
// $states.errorOutput replace the JSONPath data-flow fields; Arguments
// feeds the task, Output shapes the state output, Assign sets variables.

func (r *runner) jenv(f *frame, input, ctxObj any, extra ...any) *asl.JSONataEnv {
	st := asl.NewObject(4)
	st.Set("input", input)
	st.Set("context", ctxObj)
	for i := 0; i+1 < len(extra); i += 2 {
		st.Set(extra[i].(string), extra[i+1])
	}
	return &asl.JSONataEnv{States: st, Vars: f.scope.all()}
}

// jassign evaluates an Assign block; the variables are set by the caller
// after the state's output is known, so Output sees the old values.
func jassign(a *asl.JSONataValue, env *asl.JSONataEnv) ([]string, []any, *asl.Error) {
	if a == nil {
		return nil, nil, nil
	}
	return a.EvalFields(env, "Assign")
}

func setVars(f *frame, keys []string, vals []any) {
	for i, k := range keys {
		f.scope.set(k, vals[i])
	}
}

// jfield evaluates an optional JSONata field, returning def when absent.
func jfield(v *asl.JSONataValue, env *asl.JSONataEnv, field string, def any) (any, *asl.Error) {
	if v == nil {
		return def, nil
	}
	return v.Eval(env, field)
}

func queryError(format string, args ...any) *asl.Error {
	return &asl.Error{Name: asl.ErrNameQueryEvaluationError, Cause: fmt.Sprintf(format, args...)}
}

// runJSONataState runs one state in JSONata mode.
func (r *runner) runJSONataState(ctx context.Context, st *asl.State, raw any, f *frame, entered time.Time, enteredID int64) (any, string, *asl.Error) {
	ctxObj := r.contextObject(st, entered, f, 0)
	fail := func(e *asl.Error) (any, string, *asl.Error) { return nil, "", stateError(st, enteredID, e) }
	env := r.jenv(f, raw, ctxObj)
	next := st.Next
	output, assign := st.JOutput, st.JAssign
	switch st.Type {
	case "Fail":
		e := &asl.Error{Name: st.Error, Cause: st.Cause, NoCause: !st.HasCause}
		for _, k := range []string{"Error", "Cause"} {
			x := st.JExpr[k]
			if x == nil {
				continue
			}
			v, err := x.Eval(env, k)
			if err != nil {
				return fail(err)
			}
			s, ok := v.(string)
			if !ok {
				s = jsonText(v)
			}
			if k == "Error" {
				e.Name = s
			} else {
				e.Cause, e.NoCause = s, false
			}
		}
		return nil, "", e
	case "Pass", "Succeed":
	case "Wait":
		if err := r.jwait(ctx, st, env); err != nil {
			return fail(err)
		}
	case "Choice":
		matched := false
		for _, rule := range st.Choices {
			v, err := rule.Condition.Eval(env, "Condition")
			if err != nil {
				return fail(err)
			}
			b, ok := v.(bool)
			if !ok {
				return fail(queryError("The JSONata expression '%s' specified for the field 'Condition' returned an unexpected result type. Expected 'boolean', but was '%s' for value: %s", rule.Condition.Expression(), jsonType(v), jsonText(v)))
			}
			if b {
				matched, next = true, rule.Next
				if rule.JOutput != nil {
					output = rule.JOutput
				}
				if rule.JAssign != nil {
					assign = rule.JAssign
				}
				break
			}
		}
		if !matched {
			if st.Default == "" {
				return nil, "", &asl.Error{Name: asl.ErrNameNoChoiceMatched, Cause: fmt.Sprintf("No Choice Rules matched in the state '%s', and no Default state was specified.", st.Name)}
			}
			next = st.Default
		}
	case "Task", "Parallel", "Map":
		return r.jRunWithRetry(ctx, st, raw, f, entered, enteredID)
	}
	keys, vals, err := jassign(assign, env)
	if err != nil {
		return fail(err)
	}
	out, err := jfield(output, env, "Output", raw)
	if err != nil {
		return fail(err)
	}
	if r.tooBig(out) {
		return nil, "", r.dataLimit(st)
	}
	setVars(f, keys, vals)
	r.exited(st, out)
	return out, next, nil
}

func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case string:
		return "string"
	case []any:
		return "array"
	case *asl.Object:
		return "object"
	}
	return "number"
}

func (r *runner) jwait(ctx context.Context, st *asl.State, env *asl.JSONataEnv) *asl.Error {
	var d time.Duration
	switch {
	case st.JExpr["Seconds"] != nil:
		v, err := st.JExpr["Seconds"].Eval(env, "Seconds")
		if err != nil {
			return err
		}
		n, ok := integerOf(v)
		if !ok || n < 0 {
			return queryError("The Seconds field must be a non-negative integer, but was: %s", jsonText(v))
		}
		d = time.Duration(n) * time.Second
	case st.Seconds != nil:
		d = time.Duration(*st.Seconds) * time.Second
	case st.JExpr["Timestamp"] != nil || st.Timestamp != "":
		ts := st.Timestamp
		if x := st.JExpr["Timestamp"]; x != nil {
			v, err := x.Eval(env, "Timestamp")
			if err != nil {
				return err
			}
			s, ok := v.(string)
			if !ok {
				s = jsonText(v)
			}
			ts = s
		}
		t, ok := asl.ParseTimestamp(ts)
		if !ok {
			return queryError("The Timestamp field cannot be parsed as an ISO-8601 extended offset date-time format string: %s", ts)
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

// jRunWithRetry runs a JSONata Task, Parallel or Map state with Retry and
// Catch.
func (r *runner) jRunWithRetry(ctx context.Context, st *asl.State, raw any, f *frame, entered time.Time, enteredID int64) (any, string, *asl.Error) {
	counts := make([]int, len(st.Retry))
	attempt := 0
	for {
		ctxObj := r.contextObject(st, entered, f, attempt)
		out, err := r.jattempt(ctx, st, raw, f, ctxObj, enteredID)
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
			errObj := errorObject(err)
			env := r.jenv(f, raw, ctxObj, "errorOutput", errObj)
			keys, vals, aerr := jassign(c.JAssign, env)
			if aerr != nil {
				return nil, "", stateError(st, enteredID, aerr)
			}
			out, oerr := jfield(c.JOutput, env, "Output", errObj)
			if oerr != nil {
				return nil, "", stateError(st, enteredID, oerr)
			}
			setVars(f, keys, vals)
			r.exited(st, out)
			return out, c.Next, nil
		}
		return nil, "", err
	}
}

func (r *runner) jattempt(ctx context.Context, st *asl.State, raw any, f *frame, ctxObj *asl.Object, enteredID int64) (any, *asl.Error) {
	env := r.jenv(f, raw, ctxObj)
	args, err := jfield(st.JArguments, env, "Arguments", raw)
	if err != nil {
		return nil, stateError(st, enteredID, err)
	}
	var result any
	switch st.Type {
	case "Task":
		result, err = r.invoke(ctx, st, args, st.TimeoutSeconds, st.JExpr["TimeoutSeconds"], env)
		if err != nil {
			return nil, stateErrorIf(st, enteredID, err)
		}
	case "Parallel":
		result, err = r.runBranches(ctx, st, args, f)
		if err != nil {
			return nil, err
		}
	case "Map":
		result, err = r.jmap(ctx, st, raw, f, ctxObj, env, enteredID)
		if err != nil {
			return nil, err
		}
	}
	if r.tooBig(result) {
		return nil, r.dataLimit(st)
	}
	renv := r.jenv(f, raw, ctxObj, "result", result)
	keys, vals, err := jassign(st.JAssign, renv)
	if err != nil {
		return nil, stateError(st, enteredID, err)
	}
	out, err := jfield(st.JOutput, renv, "Output", result)
	if err != nil {
		return nil, stateError(st, enteredID, err)
	}
	if r.tooBig(out) {
		return nil, r.dataLimit(st)
	}
	setVars(f, keys, vals)
	return out, nil
}

// stateErrorIf prefixes only data-flow errors, not task errors.
func stateErrorIf(st *asl.State, enteredID int64, e *asl.Error) *asl.Error {
	if e.Name == asl.ErrNameQueryEvaluationError {
		return stateError(st, enteredID, e)
	}
	return e
}

// jnumber evaluates a numeric Map field given as a literal or expression.
func jnumber(st *asl.State, field string, env *asl.JSONataEnv, literal float64, set bool) (float64, bool, *asl.Error) {
	x := st.JExpr[field]
	if x == nil {
		return literal, set, nil
	}
	v, err := x.Eval(env, field)
	if err != nil {
		return 0, false, err
	}
	f, ok := v.(json.Number)
	if !ok {
		return 0, false, queryError("The JSONata expression '%s' specified for the field '%s' returned an unexpected result type. Expected 'number', but was '%s' for value: %s", x.Expression(), field, jsonType(v), jsonText(v))
	}
	n, _ := strconv.ParseFloat(string(f), 64)
	return n, true, nil
}

func (r *runner) jmap(ctx context.Context, st *asl.State, raw any, f *frame, ctxObj *asl.Object, env *asl.JSONataEnv, enteredID int64) (any, *asl.Error) {
	fail := func(e *asl.Error) (any, *asl.Error) { return nil, stateError(st, enteredID, e) }
	var arr []any
	if st.JItems != nil {
		v, err := st.JItems.Eval(env, "Items")
		if err != nil {
			return fail(err)
		}
		a, ok := v.([]any)
		if !ok {
			return fail(queryError("The JSONata expression '%s' specified for the field 'Items' returned an unexpected result type. Expected 'array', but was '%s' for value: %s", st.JItems.Expression(), jsonType(v), jsonText(v)))
		}
		arr = a
	} else {
		a, ok := raw.([]any)
		if !ok {
			return fail(queryError("Map state input must be an array but was: %s", jsonText(raw)))
		}
		arr = a
	}
	mc, _, err := jnumber(st, "MaxConcurrency", env, float64(st.MaxConcurrency), true)
	if err != nil {
		return fail(err)
	}
	tc, tcSet, err := jnumber(st, "ToleratedFailureCount", env, float64(st.ToleratedFailureCount), st.ToleratedFailureCountSet)
	if err != nil {
		return fail(err)
	}
	tp, tpSet, err := jnumber(st, "ToleratedFailurePercentage", env, st.ToleratedFailurePercentage, st.ToleratedFailurePercentageSet)
	if err != nil {
		return fail(err)
	}
	tolCount, tolPct := int64(-1), -1.0
	if tcSet {
		tolCount = int64(math.Max(tc, 0))
	}
	if tpSet {
		tolPct = tp
	}
	inputs := make([]any, len(arr))
	for i, it := range arr {
		if st.JItemSelector == nil {
			inputs[i] = it
			continue
		}
		ic := asl.Clone(ctxObj).(*asl.Object)
		itemObj := asl.NewObject(2)
		itemObj.Set("Index", json.Number(strconv.Itoa(i)))
		itemObj.Set("Value", it)
		m := asl.NewObject(1)
		m.Set("Item", itemObj)
		ic.Set("Map", m)
		v, err := st.JItemSelector.Eval(r.jenv(f, raw, ic), "ItemSelector")
		if err != nil {
			return fail(err)
		}
		inputs[i] = v
	}
	return r.runIterations(ctx, st, arr, inputs, f, int64(mc), tolCount, tolPct)
}

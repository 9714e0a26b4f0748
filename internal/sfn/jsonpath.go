package sfn

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/imagerec/imagerec/internal/asl"
)

// jsonPathEval is the evaluator of JSONPath states: InputPath,
// Parameters, ResultSelector, ResultPath, OutputPath, Assign, the *Path
// fields and the context object as $$.
type jsonPathEval struct {
	// limit holds a Pass state's result to the payload limit, as JSONPath
	// states do before ResultPath.
	limit payloadLimit
}

var _ evaluator = jsonPathEval{}

// pathEnv is what paths and templates see: input as $, the context object
// as $$ and the variables.
func pathEnv(s *step, input any) *asl.Env {
	return &asl.Env{Input: input, Context: s.ctxObj, Var: s.f.scope.get}
}

func (jsonPathEval) input(s *step) (any, *asl.Error) {
	switch {
	case s.st.InputPathNull:
		return asl.NewObject(0), nil
	case s.st.InputPath == nil:
		return s.raw, nil
	}
	return s.st.InputPath.EvalPath(pathEnv(s, s.raw))
}

func (e jsonPathEval) arguments(s *step, input any) (any, *asl.Error) {
	st := s.st
	result := input
	switch {
	case st.Type == "Pass" && st.HasResult:
		result = asl.Clone(st.Result)
	case st.Parameters != nil:
		v, err := st.Parameters.Eval(pathEnv(s, input))
		if err != nil {
			return nil, err
		}
		result = v
	}
	if st.Type == "Pass" {
		if err := e.limit.check(st, result); err != nil {
			return nil, err
		}
	}
	return result, nil
}

func (jsonPathEval) selectResult(s *step, result any) (any, *asl.Error) {
	if s.st.ResultSelector == nil {
		return result, nil
	}
	return s.st.ResultSelector.Eval(pathEnv(s, result))
}

func (jsonPathEval) output(s *step, result any) (any, assignment, *asl.Error) {
	st := s.st
	assign := st.Assign
	if s.rule != nil && s.rule.Assign != nil {
		assign = s.rule.Assign
	}
	vars, err := pathAssign(assign, pathEnv(s, result))
	if err != nil {
		return nil, assignment{}, err
	}
	out := result
	switch st.Type {
	case "Pass", "Task", "Parallel", "Map":
		out, err = applyResultPath(s.raw, st.ResultPath, st.ResultPathNull, result)
		if err != nil {
			return nil, assignment{}, err
		}
	}
	switch {
	case st.OutputPathNull:
		out = asl.NewObject(0)
	case st.OutputPath != nil:
		out, err = st.OutputPath.EvalPath(pathEnv(s, out))
		if err != nil {
			return nil, assignment{}, err
		}
	}
	return out, vars, nil
}

func (jsonPathEval) caught(s *step, c *asl.Catcher, errOut *asl.Object) (any, assignment, *asl.Error) {
	vars, err := pathAssign(c.Assign, pathEnv(s, errOut))
	if err != nil {
		return nil, assignment{}, err
	}
	out, err := applyResultPath(s.raw, c.ResultPath, c.ResultPathNull, errOut)
	if err != nil {
		return nil, assignment{}, err
	}
	return out, vars, nil
}

// pathAssign evaluates an Assign block (nil: none).
func pathAssign(t *asl.Template, env *asl.Env) (assignment, *asl.Error) {
	if t == nil {
		return assignment{}, nil
	}
	v, err := t.Eval(env)
	if err != nil {
		return assignment{}, err
	}
	return assignObject(v.(*asl.Object)), nil
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

func (jsonPathEval) choose(s *step, input any) (*asl.ChoiceRule, *asl.Error) {
	env := pathEnv(s, input)
	for _, rule := range s.st.Choices {
		ok, err := rule.Eval(env)
		if err != nil {
			return nil, err
		}
		if ok {
			return rule, nil
		}
	}
	return nil, nil
}

func (jsonPathEval) failure(s *step) (*asl.Error, *asl.Error) {
	env := pathEnv(s, s.raw)
	paths := map[string]*asl.Expr{"Error": s.st.ErrorPath, "Cause": s.st.CausePath}
	return failError(s.st, func(name string) (any, bool, *asl.Error) {
		p := paths[name]
		if p == nil {
			return nil, false, nil
		}
		v, err := p.Eval(env, name+"Path")
		return v, true, err
	})
}

func (jsonPathEval) wait(s *step, input any) (wake, *asl.Error) {
	st := s.st
	env := pathEnv(s, input)
	switch {
	case st.Seconds != nil:
		return wake{d: time.Duration(*st.Seconds) * time.Second}, nil
	case st.SecondsPath != nil:
		v, ok := st.SecondsPath.Eval(env)
		if !ok {
			return wake{}, runtimeError("The SecondsPath parameter does not reference an existing value: %s", st.SecondsPath)
		}
		n, isInt := integerOf(v)
		if !isInt {
			return wake{}, runtimeError("The SecondsPath parameter cannot be parsed as a long value: %s == %s", st.SecondsPath, plain(v))
		}
		if n < 0 {
			return wake{}, runtimeError("The SecondsPath parameter references a negative value: %s == %s", st.SecondsPath, plain(v))
		}
		return wake{d: time.Duration(n) * time.Second}, nil
	case st.Timestamp != "" || st.TimestampPath != nil:
		ts := st.Timestamp
		if st.TimestampPath != nil {
			v, ok := st.TimestampPath.Eval(env)
			s, isStr := v.(string)
			if !ok || !isStr {
				return wake{}, runtimeError("The TimestampPath parameter does not reference a valid ISO-8601 extended offset date-time format string: %s == %s", st.TimestampPath, plain(v))
			}
			ts = s
		}
		t, ok := asl.ParseTimestamp(ts)
		if !ok {
			return wake{}, runtimeError("The TimestampPath parameter does not reference a valid ISO-8601 extended offset date-time format string: %s == %s", st.TimestampPath, ts)
		}
		return wake{at: t, until: true}, nil
	}
	return wake{}, nil
}

func (jsonPathEval) taskLimits(s *step, input any) (taskLimits, *asl.Error) {
	st := s.st
	lim := taskLimits{timeout: st.TimeoutSeconds, heartbeat: st.HeartbeatSeconds}
	for _, f := range []struct {
		name string
		ref  *asl.Ref
		dst  *int64
	}{{"TimeoutSecondsPath", st.TimeoutSecondsPath, &lim.timeout}, {"HeartbeatSecondsPath", st.HeartbeatSecsPath, &lim.heartbeat}} {
		if f.ref == nil {
			continue
		}
		v, ok := f.ref.Eval(pathEnv(s, input))
		n, isInt := integerOf(v)
		if !ok || !isInt || n <= 0 {
			return taskLimits{}, runtimeError("The %s parameter does not reference a positive integer: %s", f.name, f.ref)
		}
		*f.dst = n
	}
	return lim, nil
}

func (jsonPathEval) mapPlan(s *step, input any) (mapPlan, *asl.Error) {
	st := s.st
	env := pathEnv(s, input)
	p, err := pathMapLimits(st, env)
	if err != nil {
		return mapPlan{}, err
	}
	err = distributedPlan(st, &p, func(t *asl.Template, _ *asl.JSONataValue, _ string) (any, *asl.Error) {
		if t == nil {
			return asl.NewObject(0), nil
		}
		return t.Eval(env)
	}, func(lit int64, ref *asl.Ref, field string) (int64, *asl.Error) {
		if ref == nil {
			return lit, nil
		}
		return pathCount(field, ref, env)
	})
	if err != nil {
		return mapPlan{}, err
	}
	if p.reader == nil {
		items := input
		if st.ItemsPath != nil {
			v, err := st.ItemsPath.EvalPath(env)
			if err != nil {
				return mapPlan{}, err
			}
			items = v
		}
		arr, ok := items.([]any)
		if !ok {
			return mapPlan{}, runtimeError("Item selector must reference a JSON array, got %s at %s", jsonText(items), itemsPathText(st))
		}
		p.items = arr
	}
	if st.ItemSelector != nil {
		p.selector = func(ic *asl.Object) (any, *asl.Error) {
			env := pathEnv(s, input)
			env.Context = ic
			return st.ItemSelector.Eval(env)
		}
	}
	return p, nil
}

// pathMapLimits reads a Map state's MaxConcurrency and tolerated failures,
// each given as a value or a path.
func pathMapLimits(st *asl.State, env *asl.Env) (mapPlan, *asl.Error) {
	p := mapPlan{concurrency: st.MaxConcurrency, tolCount: -1, tolPct: -1}
	if st.MaxConcurrencyPath != nil {
		n, err := pathCount("MaxConcurrency", st.MaxConcurrencyPath, env)
		if err != nil {
			return p, err
		}
		p.concurrency = n
	}
	if st.ToleratedFailureCountSet {
		p.tolCount = st.ToleratedFailureCount
	}
	if st.ToleratedFailurePercentageSet {
		p.tolPct = st.ToleratedFailurePercentage
	}
	if st.ToleratedFailureCountPath != nil {
		n, err := pathCount("ToleratedFailureCount", st.ToleratedFailureCountPath, env)
		if err != nil {
			return p, err
		}
		p.tolCount = n
	}
	if st.ToleratedFailurePercentagePath != nil {
		f, err := pathFloat("ToleratedFailurePercentagePath", st.ToleratedFailurePercentagePath, env)
		if err != nil {
			return p, err
		}
		if f < 0 || f > 100 {
			return p, runtimeError("ToleratedFailurePercentage must be between 0 and 100.")
		}
		p.tolPct = f
	}
	return p, nil
}

func itemsPathText(st *asl.State) string {
	if st.ItemsPath == nil {
		return "$"
	}
	return st.ItemsPath.String()
}

func runtimeError(format string, args ...any) *asl.Error {
	return &asl.Error{Name: asl.ErrNameRuntime, Cause: fmt.Sprintf(format, args...)}
}

// pathNumber reads a number for MaxConcurrencyPath and the
// ToleratedFailure*Path fields: a JSON number or a string holding one,
// that parse accepts; kind names it in the error.
func pathNumber[T any](field, kind string, ref *asl.Ref, env *asl.Env, parse func(string) (T, error)) (T, *asl.Error) {
	var zero T
	v, ok := ref.Eval(env)
	if !ok {
		return zero, runtimeError("The %s field refers to a value that does not exist: %s", field, ref)
	}
	var text string
	switch t := v.(type) {
	case json.Number:
		text = string(t)
	case string:
		text = strings.TrimSpace(t)
	default:
		return zero, runtimeError("The %s field refers to value \"%s\" which is not a valid %s: %s", field, plain(v), kind, ref)
	}
	n, err := parse(text)
	if err != nil {
		return zero, runtimeError("The %s field refers to value \"%s\" which is not a valid %s: %s", field, plain(v), kind, ref)
	}
	return n, nil
}

func pathInt(field string, ref *asl.Ref, env *asl.Env) (int64, *asl.Error) {
	return pathNumber(field, "integer", ref, env, func(s string) (int64, error) { return strconv.ParseInt(s, 10, 64) })
}

// pathCount reads a non-negative integer for the field name+"Path".
func pathCount(name string, ref *asl.Ref, env *asl.Env) (int64, *asl.Error) {
	n, err := pathInt(name+"Path", ref, env)
	if err != nil {
		return 0, err
	}
	if n < 0 {
		return 0, runtimeError("%s cannot be negative.", name)
	}
	return n, nil
}

func pathFloat(field string, ref *asl.Ref, env *asl.Env) (float64, *asl.Error) {
	return pathNumber(field, "float", ref, env, func(s string) (float64, error) { return strconv.ParseFloat(s, 64) })
}

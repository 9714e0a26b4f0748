package sfn

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/imagerec/imagerec/internal/asl"
)

// jsonataEval is the evaluator of JSONata states: $states.input,
// $states.context, $states.result and $states.errorOutput replace the
// JSONPath data-flow fields; Arguments feeds the task, Output shapes the
// state output, Assign sets variables, and fields such as Seconds or
// MaxConcurrency may be "{% %}" expressions.
type jsonataEval struct{}

var _ evaluator = jsonataEval{}

// jenv is what expressions see: $states.input (the raw state input),
// $states.context, the extra $states fields given as name, value pairs,
// and the variables.
func jenv(s *step, extra ...any) *asl.JSONataEnv {
	st := asl.NewObject(4)
	st.Set("input", s.raw)
	st.Set("context", s.ctxObj)
	for i := 0; i+1 < len(extra); i += 2 {
		st.Set(extra[i].(string), extra[i+1])
	}
	return &asl.JSONataEnv{States: st, Vars: s.f.scope.all()}
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

func (jsonataEval) input(s *step) (any, *asl.Error) { return s.raw, nil }

func (jsonataEval) arguments(s *step, input any) (any, *asl.Error) {
	if s.st.JArguments == nil {
		return input, nil
	}
	return s.st.JArguments.Eval(jenv(s), "Arguments")
}

func (jsonataEval) selectResult(_ *step, result any) (any, *asl.Error) { return result, nil }

func (jsonataEval) output(s *step, result any) (any, assignment, *asl.Error) {
	st := s.st
	output, assign := st.JOutput, st.JAssign
	if s.rule != nil {
		if s.rule.JOutput != nil {
			output = s.rule.JOutput
		}
		if s.rule.JAssign != nil {
			assign = s.rule.JAssign
		}
	}
	var env *asl.JSONataEnv
	switch st.Type {
	case "Task", "Parallel", "Map":
		env = jenv(s, "result", result)
	default:
		env = jenv(s)
	}
	return joutput(env, output, assign, result)
}

func (jsonataEval) caught(s *step, c *asl.Catcher, errOut *asl.Object) (any, assignment, *asl.Error) {
	return joutput(jenv(s, "errorOutput", errOut), c.JOutput, c.JAssign, errOut)
}

// joutput evaluates Assign, then Output (def when absent).
func joutput(env *asl.JSONataEnv, output, assign *asl.JSONataValue, def any) (any, assignment, *asl.Error) {
	var vars assignment
	if assign != nil {
		names, values, err := assign.EvalFields(env, "Assign")
		if err != nil {
			return nil, assignment{}, err
		}
		vars = assignment{names: names, values: values}
	}
	out, err := jfield(output, env, "Output", def)
	if err != nil {
		return nil, assignment{}, err
	}
	return out, vars, nil
}

func (jsonataEval) choose(s *step, _ any) (*asl.ChoiceRule, *asl.Error) {
	env := jenv(s)
	for _, rule := range s.st.Choices {
		v, err := rule.Condition.Eval(env, "Condition")
		if err != nil {
			return nil, err
		}
		b, ok := v.(bool)
		if !ok {
			return nil, queryError("The JSONata expression '%s' specified for the field 'Condition' returned an unexpected result type. Expected 'boolean', but was '%s' for value: %s", rule.Condition.Expression(), jsonType(v), jsonText(v))
		}
		if b {
			return rule, nil
		}
	}
	return nil, nil
}

func (jsonataEval) failure(s *step) (*asl.Error, *asl.Error) {
	env := jenv(s)
	return failError(s.st, func(name string) (any, bool, *asl.Error) {
		x := s.st.JExpr[name]
		if x == nil {
			return nil, false, nil
		}
		v, err := x.Eval(env, name)
		return v, true, err
	})
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

func (jsonataEval) wait(s *step, _ any) (wake, *asl.Error) {
	st := s.st
	env := jenv(s)
	switch {
	case st.JExpr["Seconds"] != nil:
		v, err := st.JExpr["Seconds"].Eval(env, "Seconds")
		if err != nil {
			return wake{}, err
		}
		n, ok := integerOf(v)
		if !ok || n < 0 {
			return wake{}, queryError("The Seconds field must be a non-negative integer, but was: %s", jsonText(v))
		}
		return wake{d: time.Duration(n) * time.Second}, nil
	case st.Seconds != nil:
		return wake{d: time.Duration(*st.Seconds) * time.Second}, nil
	case st.JExpr["Timestamp"] != nil || st.Timestamp != "":
		ts := st.Timestamp
		if x := st.JExpr["Timestamp"]; x != nil {
			v, err := x.Eval(env, "Timestamp")
			if err != nil {
				return wake{}, err
			}
			ts = plain(v)
		}
		t, ok := asl.ParseTimestamp(ts)
		if !ok {
			return wake{}, queryError("The Timestamp field cannot be parsed as an ISO-8601 extended offset date-time format string: %s", ts)
		}
		return wake{at: t, until: true}, nil
	}
	return wake{}, nil
}

func (jsonataEval) taskLimits(s *step, _ any) (taskLimits, *asl.Error) {
	lim := taskLimits{timeout: s.st.TimeoutSeconds, heartbeat: s.st.HeartbeatSeconds}
	for _, f := range []struct {
		name string
		dst  *int64
	}{{"TimeoutSeconds", &lim.timeout}, {"HeartbeatSeconds", &lim.heartbeat}} {
		x := s.st.JExpr[f.name]
		if x == nil {
			continue
		}
		v, err := x.Eval(jenv(s), f.name)
		if err != nil {
			return taskLimits{}, err
		}
		n, ok := integerOf(v)
		if !ok || n <= 0 {
			return taskLimits{}, queryError("The %s field must be a positive integer, but was: %s", f.name, jsonText(v))
		}
		*f.dst = n
	}
	return lim, nil
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

// jsonataMapLimits reads a Map state's MaxConcurrency and tolerated
// failures, each given as a literal or an expression.
func jsonataMapLimits(st *asl.State, env *asl.JSONataEnv) (mapPlan, *asl.Error) {
	mc, _, err := jnumber(st, "MaxConcurrency", env, float64(st.MaxConcurrency), true)
	if err != nil {
		return mapPlan{}, err
	}
	tc, tcSet, err := jnumber(st, "ToleratedFailureCount", env, float64(st.ToleratedFailureCount), st.ToleratedFailureCountSet)
	if err != nil {
		return mapPlan{}, err
	}
	tp, tpSet, err := jnumber(st, "ToleratedFailurePercentage", env, st.ToleratedFailurePercentage, st.ToleratedFailurePercentageSet)
	if err != nil {
		return mapPlan{}, err
	}
	p := mapPlan{concurrency: int64(mc), tolCount: -1, tolPct: -1}
	if tcSet {
		p.tolCount = int64(math.Max(tc, 0))
	}
	if tpSet {
		p.tolPct = tp
	}
	return p, nil
}

func (jsonataEval) mapPlan(s *step, _ any) (mapPlan, *asl.Error) {
	st := s.st
	env := jenv(s)
	p, err := jsonataMapLimits(st, env)
	if err != nil {
		return mapPlan{}, err
	}
	err = distributedPlan(st, &p, func(_ *asl.Template, j *asl.JSONataValue, field string) (any, *asl.Error) {
		if j == nil {
			return asl.NewObject(0), nil
		}
		return j.Eval(env, field)
	}, func(lit int64, _ *asl.Ref, _ string) (int64, *asl.Error) { return lit, nil })
	if err != nil {
		return mapPlan{}, err
	}
	var arr []any
	switch {
	case p.reader != nil:
	case st.JItems != nil:
		v, err := st.JItems.Eval(env, "Items")
		if err != nil {
			return mapPlan{}, err
		}
		a, ok := v.([]any)
		if !ok {
			return mapPlan{}, queryError("The JSONata expression '%s' specified for the field 'Items' returned an unexpected result type. Expected 'array', but was '%s' for value: %s", st.JItems.Expression(), jsonType(v), jsonText(v))
		}
		arr = a
	default:
		a, ok := s.raw.([]any)
		if !ok {
			return mapPlan{}, queryError("Map state input must be an array but was: %s", jsonText(s.raw))
		}
		arr = a
	}
	p.items = arr
	if st.JItemSelector != nil {
		p.selector = func(ic *asl.Object) (any, *asl.Error) {
			env := jenv(s)
			env.States.Set("context", ic)
			return st.JItemSelector.Eval(env, "ItemSelector")
		}
	}
	return p, nil
}

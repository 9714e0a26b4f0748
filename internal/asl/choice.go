package asl

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// ChoiceRule is one rule of a Choice state (top-level rules have Next).
type ChoiceRule struct {
	Variable *Ref
	// Op is the comparison operator, e.g. "StringEquals" or "IsPresent";
	// empty for And/Or/Not.
	Op string
	// Value is the literal operand; ValuePath is set for the *Path forms.
	Value     any
	ValuePath *Ref
	And, Or   []*ChoiceRule
	Not       *ChoiceRule
	Next      string
	Assign    *Template
	match     *regexp.Regexp
	// JSONata rules.
	Condition *JSONataValue
	JOutput   *JSONataValue
	JAssign   *JSONataValue
}

var comparisonOps = map[string]string{
	// operator -> operand kind
	"StringEquals": "string", "StringLessThan": "string", "StringGreaterThan": "string",
	"StringLessThanEquals": "string", "StringGreaterThanEquals": "string", "StringMatches": "string",
	"NumericEquals": "number", "NumericLessThan": "number", "NumericGreaterThan": "number",
	"NumericLessThanEquals": "number", "NumericGreaterThanEquals": "number",
	"BooleanEquals":   "boolean",
	"TimestampEquals": "timestamp", "TimestampLessThan": "timestamp", "TimestampGreaterThan": "timestamp",
	"TimestampLessThanEquals": "timestamp", "TimestampGreaterThanEquals": "timestamp",
	"IsNull": "boolean", "IsPresent": "boolean", "IsNumeric": "boolean", "IsString": "boolean",
	"IsBoolean": "boolean", "IsTimestamp": "boolean",
}

func compileChoiceRule(o *Object, top bool, loc string, jsonataMode bool) (*ChoiceRule, error) {
	if jsonataMode {
		return compileJSONataRule(o, loc)
	}
	r := &ChoiceRule{}
	var ops []string
	for _, k := range o.keys {
		v := o.Val(k)
		switch k {
		case "Variable":
			s, ok := v.(string)
			if !ok {
				return nil, fmt.Errorf("%s.Variable: must be a string", loc)
			}
			ref, err := CompileRef(s)
			if err != nil {
				return nil, fmt.Errorf("%s.Variable: %w", loc, err)
			}
			r.Variable = ref
		case "Next":
			s, ok := v.(string)
			if !ok || !top {
				return nil, fmt.Errorf("%s.Next: only allowed as a string on top-level choice rules", loc)
			}
			r.Next = s
		case "Comment":
		case "Assign":
			if !top {
				return nil, fmt.Errorf("%s.Assign: only allowed on top-level choice rules", loc)
			}
			t, err := compileAssign(v)
			if err != nil {
				return nil, fmt.Errorf("%s.Assign: %w", loc, err)
			}
			r.Assign = t
		case "And", "Or":
			a, ok := v.([]any)
			if !ok || len(a) == 0 {
				return nil, fmt.Errorf("%s.%s: must be a non-empty array of rules", loc, k)
			}
			for i, x := range a {
				xo, ok := x.(*Object)
				if !ok {
					return nil, fmt.Errorf("%s.%s[%d]: must be an object", loc, k, i)
				}
				sub, err := compileChoiceRule(xo, false, fmt.Sprintf("%s.%s[%d]", loc, k, i), false)
				if err != nil {
					return nil, err
				}
				if k == "And" {
					r.And = append(r.And, sub)
				} else {
					r.Or = append(r.Or, sub)
				}
			}
			ops = append(ops, k)
		case "Not":
			xo, ok := v.(*Object)
			if !ok {
				return nil, fmt.Errorf("%s.Not: must be an object", loc)
			}
			sub, err := compileChoiceRule(xo, false, loc+".Not", false)
			if err != nil {
				return nil, err
			}
			r.Not = sub
			ops = append(ops, k)
		default:
			base := k
			isPath := strings.HasSuffix(k, "Path") && comparisonOps[strings.TrimSuffix(k, "Path")] != "" && !strings.HasPrefix(k, "Is")
			if isPath {
				base = strings.TrimSuffix(k, "Path")
			}
			kind, ok := comparisonOps[base]
			if !ok {
				return nil, fmt.Errorf("%s: unknown field %q", loc, k)
			}
			ops = append(ops, k)
			r.Op = base
			if isPath {
				s, ok := v.(string)
				if !ok {
					return nil, fmt.Errorf("%s.%s: must be a path string", loc, k)
				}
				ref, err := CompileRef(s)
				if err != nil {
					return nil, fmt.Errorf("%s.%s: %w", loc, k, err)
				}
				r.ValuePath = ref
				continue
			}
			if err := checkOperand(kind, v); err != nil {
				return nil, fmt.Errorf("%s.%s: %w", loc, k, err)
			}
			r.Value = v
			if base == "StringMatches" {
				r.match = compileWildcard(v.(string))
			}
		}
	}
	if len(ops) != 1 {
		return nil, fmt.Errorf("%s: a choice rule needs exactly one operator (And, Or, Not or a comparison), found %d", loc, len(ops))
	}
	if r.Op != "" && r.Variable == nil {
		return nil, fmt.Errorf("%s: comparison %s needs a Variable", loc, ops[0])
	}
	if top && r.Next == "" {
		return nil, fmt.Errorf("%s.Next: missing", loc)
	}
	return r, nil
}

func checkOperand(kind string, v any) error {
	switch kind {
	case "string":
		if _, ok := v.(string); !ok {
			return fmt.Errorf("must be a string, got %s", typeName(v))
		}
	case "number":
		if !isNumber(v) {
			return fmt.Errorf("must be a number, got %s", typeName(v))
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			return fmt.Errorf("must be a boolean, got %s", typeName(v))
		}
	case "timestamp":
		s, ok := v.(string)
		if !ok {
			return fmt.Errorf("must be a timestamp string, got %s", typeName(v))
		}
		if _, ok := ParseTimestamp(s); !ok {
			return fmt.Errorf("%q is not an RFC 3339 timestamp", s)
		}
	}
	return nil
}

// compileWildcard turns a StringMatches pattern ("*" any run, "\*" and
// "\\" escapes) into a regexp.
func compileWildcard(p string) *regexp.Regexp {
	var b strings.Builder
	b.WriteString("^")
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case c == '\\' && i+1 < len(p):
			i++
			b.WriteString(regexp.QuoteMeta(string(p[i])))
		case c == '*':
			b.WriteString("(?s:.*)")
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	b.WriteString("$")
	return regexp.MustCompile(b.String())
}

// ParseTimestamp parses an RFC 3339 timestamp with a mandatory zone.
func ParseTimestamp(s string) (time.Time, bool) {
	if len(s) < 20 || (s[10] != 'T' && s[10] != 't') {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, false
	}
	return t, true
}

// Eval evaluates the rule.
func (r *ChoiceRule) Eval(env *Env) (bool, *Error) {
	switch {
	case r.And != nil:
		for _, s := range r.And {
			ok, err := s.Eval(env)
			if err != nil || !ok {
				return false, err
			}
		}
		return true, nil
	case r.Or != nil:
		for _, s := range r.Or {
			ok, err := s.Eval(env)
			if err != nil || ok {
				return ok, err
			}
		}
		return false, nil
	case r.Not != nil:
		ok, err := r.Not.Eval(env)
		return !ok && err == nil, err
	}
	v, found := r.Variable.Eval(env)
	if r.Op == "IsPresent" {
		return found == r.Value.(bool), nil
	}
	if !found {
		return false, newError(ErrNameRuntime, "Invalid path '%s': The choice state's condition path references an invalid value.", r.Variable.src)
	}
	want := r.Value
	if r.ValuePath != nil {
		w, ok := r.ValuePath.Eval(env)
		if !ok {
			return false, newError(ErrNameRuntime, "Invalid path '%s': The choice state's condition path references an invalid value.", r.ValuePath.src)
		}
		want = w
	}
	switch r.Op {
	case "IsNull":
		return (v == nil) == want.(bool), nil
	case "IsNumeric":
		return isNumber(v) == want.(bool), nil
	case "IsString":
		_, ok := v.(string)
		return ok == want.(bool), nil
	case "IsBoolean":
		_, ok := v.(bool)
		return ok == want.(bool), nil
	case "IsTimestamp":
		s, ok := v.(string)
		if ok {
			_, ok = ParseTimestamp(s)
		}
		return ok == want.(bool), nil
	case "BooleanEquals":
		a, ok1 := v.(bool)
		b, ok2 := want.(bool)
		return ok1 && ok2 && a == b, nil
	case "StringMatches":
		s, ok := v.(string)
		if !ok {
			return false, nil
		}
		re := r.match
		if re == nil {
			p, ok := want.(string)
			if !ok {
				return false, nil
			}
			re = compileWildcard(p)
		}
		return re.MatchString(s), nil
	}
	var c int
	switch {
	case strings.HasPrefix(r.Op, "String"):
		a, ok1 := v.(string)
		b, ok2 := want.(string)
		if !ok1 || !ok2 {
			return false, nil
		}
		c = strings.Compare(a, b)
	case strings.HasPrefix(r.Op, "Numeric"):
		a, ok1 := numberFloat(v)
		b, ok2 := numberFloat(want)
		if !ok1 || !ok2 {
			return false, nil
		}
		c = cmpFloat(a, b)
	case strings.HasPrefix(r.Op, "Timestamp"):
		as, ok1 := v.(string)
		bs, ok2 := want.(string)
		if !ok1 || !ok2 {
			return false, nil
		}
		a, ok1 := ParseTimestamp(as)
		b, ok2 := ParseTimestamp(bs)
		if !ok1 || !ok2 {
			return false, nil
		}
		c = a.Compare(b)
	}
	switch {
	case strings.HasSuffix(r.Op, "GreaterThanEquals"):
		return c >= 0, nil
	case strings.HasSuffix(r.Op, "LessThanEquals"):
		return c <= 0, nil
	case strings.HasSuffix(r.Op, "GreaterThan"):
		return c > 0, nil
	case strings.HasSuffix(r.Op, "LessThan"):
		return c < 0, nil
	case strings.HasSuffix(r.Op, "Equals"):
		return c == 0, nil
	}
	return false, nil
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func compileJSONataRule(o *Object, loc string) (*ChoiceRule, error) {
	r := &ChoiceRule{}
	for i, k := range o.keys {
		v := o.vals[i]
		switch k {
		case "Condition":
			jv, err := CompileJSONataValue(v)
			if err != nil {
				return nil, fmt.Errorf("%s.Condition: %w", loc, err)
			}
			if _, ok := v.(bool); !ok && !jv.IsExpression() {
				return nil, fmt.Errorf("%s.Condition: must be a boolean or a {%% %%} expression", loc)
			}
			r.Condition = jv
		case "Next":
			s, ok := v.(string)
			if !ok {
				return nil, fmt.Errorf("%s.Next: must be a string", loc)
			}
			r.Next = s
		case "Comment":
		case "Output":
			jv, err := CompileJSONataValue(v)
			if err != nil {
				return nil, fmt.Errorf("%s.Output: %w", loc, err)
			}
			r.JOutput = jv
		case "Assign":
			p := &parser{}
			r.JAssign = jsonataAssign(v, loc+".Assign", p)
			if len(p.problems) > 0 {
				return nil, errors.New(strings.Join(p.problems, "; "))
			}
		default:
			return nil, fmt.Errorf("%s: field %q is not allowed in a JSONata choice rule (use Condition)", loc, k)
		}
	}
	if r.Condition == nil {
		return nil, fmt.Errorf("%s.Condition: missing", loc)
	}
	if r.Next == "" {
		return nil, fmt.Errorf("%s.Next: missing", loc)
	}
	return r, nil
}

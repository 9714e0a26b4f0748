package asl

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	mrand "math/rand/v2"
	"reflect"
	"sort"
	"strconv"
	"strings"

	jsonata "github.com/xiatechs/jsonata-go"
	"github.com/xiatechs/jsonata-go/jparse"
)

// JSONataValue is the value of a field of a JSONata state (Output,
// Arguments, Assign, Items, ItemSelector, Condition...): any JSON value in
// which a string of the form "{% expression %}" is a JSONata expression.
type JSONataValue struct {
	root jnode
}

type jkind int

const (
	jLit jkind = iota
	jExpr
	jObj
	jArr
)

type jnode struct {
	kind jkind
	lit  any
	expr string
	keys []string
	kids []jnode
}

// jsonataExpr returns the expression of a "{% ... %}" string.
func jsonataExpr(s string) (string, bool) {
	if strings.HasPrefix(s, "{%") && strings.HasSuffix(s, "%}") && len(s) >= 4 {
		return strings.TrimSpace(s[2 : len(s)-2]), true
	}
	return "", false
}

// CompileJSONataValue compiles a JSONata field value, checking the syntax
// of every expression in it.
func CompileJSONataValue(v any) (*JSONataValue, error) {
	n, err := compileJNode(v)
	if err != nil {
		return nil, err
	}
	return &JSONataValue{root: n}, nil
}

func compileJNode(v any) (jnode, error) {
	switch t := v.(type) {
	case string:
		if e, ok := jsonataExpr(t); ok {
			if _, err := compileJSONata(e); err != nil {
				return jnode{}, fmt.Errorf("invalid JSONata expression %q: %w", e, err)
			}
			if name := recursiveFunction(e); name != "" {
				return jnode{}, fmt.Errorf("JSONata expression %q: function $%s calls itself; recursive functions are not supported by the local executor (deep recursion would exhaust the stack)", e, name)
			}
			return jnode{kind: jExpr, expr: e}, nil
		}
	case *Object:
		n := jnode{kind: jObj, keys: t.keys, kids: make([]jnode, len(t.vals))}
		for i, x := range t.vals {
			c, err := compileJNode(x)
			if err != nil {
				return n, fmt.Errorf("field %q: %w", t.keys[i], err)
			}
			n.kids[i] = c
		}
		return n, nil
	case []any:
		n := jnode{kind: jArr, kids: make([]jnode, len(t))}
		for i, x := range t {
			c, err := compileJNode(x)
			if err != nil {
				return n, err
			}
			n.kids[i] = c
		}
		return n, nil
	}
	return jnode{kind: jLit, lit: v}, nil
}

// IsExpression reports whether the whole value is one expression.
func (j *JSONataValue) IsExpression() bool { return j.root.kind == jExpr }

// Expression returns the source of a whole-value expression.
func (j *JSONataValue) Expression() string { return j.root.expr }

// JSONataEnv is what JSONata expressions see: $states (input, context,
// result, errorOutput) and the workflow variables.
type JSONataEnv struct {
	States *Object
	Vars   map[string]any
}

// Eval evaluates the value; field names it in error messages ("Output",
// "Assign/name"...).
func (j *JSONataValue) Eval(env *JSONataEnv, field string) (any, *Error) {
	return j.root.eval(env, field)
}

// EvalFields evaluates an object value key by key (Assign), returning the
// keys and values.
func (j *JSONataValue) EvalFields(env *JSONataEnv, field string) ([]string, []any, *Error) {
	if j.root.kind != jObj {
		return nil, nil, newError(ErrNameQueryEvaluationError, "The field '%s' must be an object", field)
	}
	vals := make([]any, len(j.root.kids))
	for i := range j.root.kids {
		v, err := j.root.kids[i].eval(env, field+"/"+j.root.keys[i])
		if err != nil {
			return nil, nil, err
		}
		vals[i] = v
	}
	return j.root.keys, vals, nil
}

func (n *jnode) eval(env *JSONataEnv, field string) (any, *Error) {
	switch n.kind {
	case jExpr:
		return EvalJSONata(n.expr, env, field)
	case jObj:
		o := NewObject(len(n.keys))
		for i := range n.kids {
			v, err := n.kids[i].eval(env, field+"/"+n.keys[i])
			if err != nil {
				return nil, err
			}
			o.Set(n.keys[i], v)
		}
		return o, nil
	case jArr:
		a := make([]any, len(n.kids))
		for i := range n.kids {
			v, err := n.kids[i].eval(env, field)
			if err != nil {
				return nil, err
			}
			a[i] = v
		}
		return a, nil
	default: // jLit
		return Clone(n.lit), nil
	}
}

// jsonNull is how the JSONata library represents JSON null.
var jsonNull *any

// errUnsupportedResult marks a JSONata result that is not JSON (a function).
var errUnsupportedResult = errors.New("unsupported result type")

// EvalJSONata evaluates one expression.
func EvalJSONata(expr string, env *JSONataEnv, field string) (v any, aerr *Error) {
	defer func() {
		// The library is not ours: a panic in it fails the state, not the
		// process.
		if p := recover(); p != nil {
			v, aerr = nil, newError(ErrNameQueryEvaluationError, "The JSONata expression '%s' specified for the field '%s' threw an error during evaluation. %v", expr, field, p)
		}
	}()
	e, err := compileJSONata(expr)
	if err != nil {
		return nil, newError(ErrNameQueryEvaluationError, "The JSONata expression '%s' specified for the field '%s' could not be parsed: %v", expr, field, err)
	}
	vars := make(map[string]any, len(env.Vars)+1)
	for k, v := range env.Vars {
		if v == nil {
			vars[k] = jsonNull // a nil interface would read as undefined
			continue
		}
		vars[k] = toGo(v)
	}
	vars["states"] = toGo(env.States)
	if err := e.RegisterVars(vars); err != nil {
		return nil, newError(ErrNameQueryEvaluationError, "The JSONata expression '%s' specified for the field '%s' could not be evaluated: %v", expr, field, err)
	}
	if err := e.RegisterExts(awsFunctions); err != nil {
		return nil, newError(ErrNameQueryEvaluationError, "register JSONata functions: %v", err)
	}
	res, err := e.Eval(nil)
	if errors.Is(err, jsonata.ErrUndefined) {
		return nil, newError(ErrNameQueryEvaluationError, "The JSONata expression '%s' specified for the field '%s' returned nothing (undefined).", expr, field)
	}
	if err != nil {
		return nil, newError(ErrNameQueryEvaluationError, "The JSONata expression '%s' specified for the field '%s' threw an error during evaluation. %s", expr, field, jsonataErrorText(err))
	}
	v, cerr := fromGo(res)
	if cerr != nil {
		v = nil
		return nil, newError(ErrNameQueryEvaluationError, "The JSONata expression '%s' specified for the field '%s' returned an unsupported result type.", expr, field)
	}
	return v, nil
}

// recursiveFunction returns the name of a variable bound to a function
// whose body refers to that variable ($f := function($n){ $f($n) }), the
// direct recursion that can overflow the Go stack in the JSONata library,
// or "" when there is none.
func recursiveFunction(expr string) (name string) {
	defer func() {
		if recover() != nil {
			name = ""
		}
	}()
	root, err := jparse.Parse(expr)
	if err != nil {
		return ""
	}
	var found string
	walkJSONata(reflect.ValueOf(root), func(n jparse.Node) {
		a, ok := n.(*jparse.AssignmentNode)
		if !ok || found != "" {
			return
		}
		var body jparse.Node
		switch l := a.Value.(type) {
		case *jparse.LambdaNode:
			body = l.Body
		case *jparse.TypedLambdaNode:
			body = l.Body
		default:
			return
		}
		walkJSONata(reflect.ValueOf(body), func(m jparse.Node) {
			if v, ok := m.(*jparse.VariableNode); ok && v.Name == a.Name {
				found = a.Name
			}
		})
	})
	return found
}

// walkJSONata calls fn for every node reachable through exported fields.
func walkJSONata(v reflect.Value, fn func(jparse.Node)) {
	switch v.Kind() {
	case reflect.Interface:
		if !v.IsNil() {
			walkJSONata(v.Elem(), fn)
		}
	case reflect.Pointer:
		if v.IsNil() {
			return
		}
		if n, ok := v.Interface().(jparse.Node); ok {
			fn(n)
		}
		walkJSONata(v.Elem(), fn)
	case reflect.Struct:
		t := v.Type()
		for i := range v.NumField() {
			if t.Field(i).IsExported() {
				walkJSONata(v.Field(i), fn)
			}
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			walkJSONata(v.Index(i), fn)
		}
	default:
		// Other kinds hold no nodes.
	}
}

// compileJSONata compiles an expression, turning a panic in the library
// into an error.
func compileJSONata(expr string) (e *jsonata.Expr, err error) {
	defer func() {
		if p := recover(); p != nil {
			e, err = nil, fmt.Errorf("%v", p)
		}
	}()
	return jsonata.Compile(expr)
}

// jsonataErrorText maps the library's errors onto JSONata's error codes
// where they are known.
func jsonataErrorText(err error) string {
	var ee *jsonata.EvalError
	if errors.As(err, &ee) {
		switch ee.Type {
		case jsonata.ErrNonCallable:
			return "T1006: Attempted to invoke a non-function"
		default:
			// No known JSONata code: the library's text.
		}
	}
	return err.Error()
}

// toGo converts a value to what the JSONata library expects.
func toGo(v any) any {
	switch t := v.(type) {
	case nil:
		return jsonNull
	case *Object:
		m := make(map[string]any, len(t.keys))
		for i, k := range t.keys {
			m[k] = toGo(t.vals[i])
		}
		return m
	case []any:
		a := make([]any, len(t))
		for i, x := range t {
			a[i] = toGo(x)
		}
		return a
	case json.Number:
		f, _ := numberFloat(t)
		return f
	}
	return v
}

// fromGo converts a JSONata result back; map keys are sorted.
func fromGo(v any) (any, error) {
	switch t := v.(type) {
	case nil, bool, string:
		return t, nil
	case *any:
		if t == nil {
			return nil, nil
		}
		return fromGo(*t)
	case float64:
		if math.IsNaN(t) || math.IsInf(t, 0) {
			return nil, errUnsupportedResult
		}
		return json.Number(formatFloat(t)), nil
	case int:
		return json.Number(strconv.Itoa(t)), nil
	case int64:
		return json.Number(strconv.FormatInt(t, 10)), nil
	case map[string]any:
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		o := NewObject(len(keys))
		for _, k := range keys {
			x, err := fromGo(t[k])
			if err != nil {
				return nil, err
			}
			o.Set(k, x)
		}
		return o, nil
	case []any:
		a := make([]any, len(t))
		for i, x := range t {
			y, err := fromGo(x)
			if err != nil {
				return nil, err
			}
			a[i] = y
		}
		return a, nil
	}
	// Typed slices and maps from functions go through encoding/json;
	// functions and other Go values are not JSON.
	switch reflect.ValueOf(v).Kind() {
	case reflect.Slice, reflect.Array, reflect.Map, reflect.Float32, reflect.Int32, reflect.Uint, reflect.Uint64:
	default:
		return nil, errUnsupportedResult
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, errUnsupportedResult
	}
	out, err := Decode(b)
	if err != nil {
		return nil, errUnsupportedResult
	}
	return out, nil
}

// awsFunctions are the functions Step Functions adds to JSONata.
var awsFunctions = map[string]jsonata.Extension{
	"partition": {Func: func(a []any, size float64) ([]any, error) {
		if size <= 0 || size != math.Trunc(size) {
			return nil, errors.New("$partition: the size must be a positive integer")
		}
		out := []any{}
		n := int(size)
		for i := 0; i < len(a); i += n {
			out = append(out, append([]any{}, a[i:min(len(a), i+n)]...))
		}
		return out, nil
	}},
	// $range returns a JSONata sequence: one item collapses to the item,
	// as AWS does.
	"range": {Func: func(start, end, step float64) (any, error) {
		if step == 0 || start != math.Trunc(start) || end != math.Trunc(end) || step != math.Trunc(step) {
			return nil, errors.New("$range: the arguments must be integers and the step not 0")
		}
		out := []any{}
		for v := start; (step > 0 && v <= end) || (step < 0 && v >= end); v += step {
			if len(out) >= 1000 {
				return nil, errors.New("$range: more than 1000 items")
			}
			out = append(out, v)
		}
		if len(out) == 1 {
			return out[0], nil
		}
		return out, nil
	}},
	"hash": {Func: func(s string, alg string) (string, error) {
		sum, ok := hashHex(alg, s)
		if !ok {
			return "", fmt.Errorf("$hash: unsupported algorithm %q", alg)
		}
		return sum, nil
	}},
	"random": {Func: func() float64 { return mrand.Float64() }}, //nolint:gosec // JSONata $random is not used for secrets
	"uuid": {Func: func() string {
		var b [16]byte
		_, _ = rand.Read(b[:])
		b[6] = b[6]&0x0f | 0x40
		b[8] = b[8]&0x3f | 0x80
		return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
	}},
	"parse": {Func: func(s string) (any, error) {
		var v any
		if err := json.Unmarshal([]byte(s), &v); err != nil {
			return nil, fmt.Errorf("$parse: %w", err)
		}
		return v, nil
	}},
}

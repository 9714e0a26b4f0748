package asl

import (
	"fmt"
	"strings"
)

// Template is a compiled payload template: the value of Parameters,
// ResultSelector, ItemSelector or Assign. Keys ending in ".$" take their
// value from a path or an intrinsic function; other values are copied.
type Template struct {
	root tnode
}

type tnode struct {
	lit   any
	obj   []tfield // when an object
	isObj bool
	arr   []tnode
	isArr bool
}

type tfield struct {
	key  string // output key (".$" removed)
	src  string // original key, for messages
	node *tnode
	expr *Expr
}

// Expr is a dynamic value: a reference or an intrinsic function call.
type Expr struct {
	Ref       *Ref
	Intrinsic *Intrinsic
}

// String returns the source text.
func (e *Expr) String() string {
	if e.Ref != nil {
		return e.Ref.String()
	}
	return e.Intrinsic.String()
}

// CompileExpr parses a reference or an intrinsic function call.
func CompileExpr(s string) (*Expr, error) {
	if strings.HasPrefix(s, "$") {
		r, err := CompileRef(s)
		if err != nil {
			return nil, err
		}
		return &Expr{Ref: r}, nil
	}
	if strings.HasPrefix(s, "States.") {
		f, err := CompileIntrinsic(s)
		if err != nil {
			return nil, err
		}
		return &Expr{Intrinsic: f}, nil
	}
	return nil, fmt.Errorf("%q is neither a path (starting with $) nor an intrinsic function (States.X(...))", s)
}

// Eval evaluates the expression for field.
func (e *Expr) Eval(env *Env, field string) (any, *Error) {
	if e.Ref != nil {
		return e.Ref.EvalField(env, field)
	}
	return e.Intrinsic.Eval(env)
}

// CompileTemplate compiles a payload template value. Errors name the key.
func CompileTemplate(v any) (*Template, error) {
	n, err := compileNode(v)
	if err != nil {
		return nil, err
	}
	return &Template{root: n}, nil
}

func compileNode(v any) (tnode, error) {
	switch t := v.(type) {
	case *Object:
		n := tnode{isObj: true, obj: make([]tfield, 0, t.Len())}
		for _, k := range t.keys {
			val := t.Val(k)
			if strings.HasSuffix(k, ".$") {
				s, ok := val.(string)
				if !ok {
					return n, fmt.Errorf("field %q: the value of a key ending in .$ must be a string, got %s", k, typeName(val))
				}
				e, err := CompileExpr(s)
				if err != nil {
					return n, fmt.Errorf("field %q: %w", k, err)
				}
				n.obj = append(n.obj, tfield{key: strings.TrimSuffix(k, ".$"), src: k, expr: e})
				continue
			}
			c, err := compileNode(val)
			if err != nil {
				return n, err
			}
			n.obj = append(n.obj, tfield{key: k, src: k, node: &c})
		}
		return n, nil
	case []any:
		n := tnode{isArr: true, arr: make([]tnode, len(t))}
		for i, x := range t {
			c, err := compileNode(x)
			if err != nil {
				return n, err
			}
			n.arr[i] = c
		}
		return n, nil
	}
	return tnode{lit: v}, nil
}

// Eval builds the payload.
func (t *Template) Eval(env *Env) (any, *Error) { return t.root.eval(env) }

func (n *tnode) eval(env *Env) (any, *Error) {
	switch {
	case n.isObj:
		o := NewObject(len(n.obj))
		for _, f := range n.obj {
			var v any
			var err *Error
			if f.expr != nil {
				v, err = f.expr.Eval(env, f.src)
				v = Clone(v)
			} else {
				v, err = f.node.eval(env)
			}
			if err != nil {
				return nil, err
			}
			o.Set(f.key, v)
		}
		return o, nil
	case n.isArr:
		a := make([]any, len(n.arr))
		for i := range n.arr {
			v, err := n.arr[i].eval(env)
			if err != nil {
				return nil, err
			}
			a[i] = v
		}
		return a, nil
	}
	return Clone(n.lit), nil
}

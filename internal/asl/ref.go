package asl

import (
	"errors"
	"fmt"
	"strings"
)

// Env is what paths and intrinsic functions are evaluated against.
type Env struct {
	// Input is the value "$" refers to.
	Input any
	// Context is the context object "$$" refers to.
	Context any
	// Var looks up a workflow variable ("$name"); nil means none exist.
	Var func(name string) (any, bool)
}

type refKind int

const (
	refInput refKind = iota
	refContext
	refVar
)

// Ref is a compiled reference: "$..." (the input), "$$..." (the context
// object) or "$name..." (a variable).
type Ref struct {
	src     string
	kind    refKind
	varName string
	path    *Path
}

// String returns the source text.
func (r *Ref) String() string { return r.src }

// Path returns the JSONPath part (rooted at the input, context or variable).
func (r *Ref) Path() *Path { return r.path }

// IsVariable reports whether the reference names a variable.
func (r *Ref) IsVariable() bool { return r.kind == refVar }

// IsContext reports whether the reference is to the context object.
func (r *Ref) IsContext() bool { return r.kind == refContext }

func isVarStart(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func isVarChar(c byte) bool { return isVarStart(c) || c >= '0' && c <= '9' }

// CompileRef parses a reference.
func CompileRef(src string) (*Ref, error) {
	switch {
	case strings.HasPrefix(src, "$$"):
		p, err := CompilePath(src[1:])
		if err != nil {
			return nil, &PathSyntaxError{src, pathSyntaxMsg(err)}
		}
		return &Ref{src: src, kind: refContext, path: p}, nil
	case len(src) > 1 && isVarStart(src[1]):
		i := 1
		for i < len(src) && isVarChar(src[i]) {
			i++
		}
		p, err := CompilePath("$" + src[i:])
		if err != nil {
			return nil, &PathSyntaxError{src, pathSyntaxMsg(err)}
		}
		return &Ref{src: src, kind: refVar, varName: src[1:i], path: p}, nil
	default:
		p, err := CompilePath(src)
		if err != nil {
			return nil, err
		}
		return &Ref{src: src, kind: refInput, path: p}, nil
	}
}

// MustCompileRef is CompileRef for constants; it panics on error.
func MustCompileRef(src string) *Ref {
	r, err := CompileRef(src)
	if err != nil {
		panic(err)
	}
	return r
}

// ErrorPathNotFound is the text of the cause when a path selects nothing.
func pathNotFound(src, field string, input any) *Error {
	return newError(ErrNameRuntime, "The JSONPath '%s' specified for the field '%s' could not be found in the input '%s'", src, field, MarshalString(input))
}

// Eval returns the value the reference selects; found is false when a
// definite path selects nothing (or the variable is undefined).
func (r *Ref) Eval(env *Env) (v any, found bool) {
	var base any
	switch r.kind {
	case refInput:
		base = env.Input
	case refContext:
		base = env.Context
	case refVar:
		if env.Var == nil {
			return nil, false
		}
		b, ok := env.Var(r.varName)
		if !ok {
			return nil, false
		}
		base = b
	}
	return r.path.Get(base)
}

// EvalField evaluates the reference for a payload field ("name.$") and
// returns a States.Runtime error naming the field when nothing is found.
func (r *Ref) EvalField(env *Env, field string) (any, *Error) {
	v, ok := r.Eval(env)
	if !ok {
		if r.kind == refVar {
			if _, defined := env.lookupVar(r.varName); !defined {
				return nil, newError(ErrNameRuntime, "The variable '$%s' specified for the field '%s' is not defined", r.varName, field)
			}
		}
		in := env.Input
		if r.kind == refContext {
			in = env.Context
		}
		return nil, pathNotFound(r.src, field, in)
	}
	return v, nil
}

func (env *Env) lookupVar(name string) (any, bool) {
	if env.Var == nil {
		return nil, false
	}
	return env.Var(name)
}

// EvalPath applies an InputPath/OutputPath-style reference, with Step
// Functions' message when nothing matches.
func (r *Ref) EvalPath(env *Env) (any, *Error) {
	v, ok := r.Eval(env)
	if !ok {
		return nil, &Error{Name: ErrNameRuntime, Cause: fmt.Sprintf("Invalid path '%s' : No results for path: %s", r.src, r.path.Normalized())}
	}
	return v, nil
}

// pathSyntaxMsg is the message of a CompilePath error, reported against
// the whole reference.
func pathSyntaxMsg(err error) string {
	if pe, ok := errors.AsType[*PathSyntaxError](err); ok {
		return pe.Msg
	}
	return err.Error()
}

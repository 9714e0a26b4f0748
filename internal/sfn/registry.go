package sfn

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
)

// Task is the Go code behind a Task state's Resource.
type Task interface {
	Invoke(ctx context.Context, input json.RawMessage) (json.RawMessage, error)
}

// TaskFunc adapts a function to Task.
type TaskFunc func(ctx context.Context, input json.RawMessage) (json.RawMessage, error)

// Invoke implements Task.
func (f TaskFunc) Invoke(ctx context.Context, input json.RawMessage) (json.RawMessage, error) {
	return f(ctx, input)
}

// LambdaInvokeResource is the optimised Lambda integration.
const LambdaInvokeResource = "arn:aws:states:::lambda:invoke"

// Registry maps Task resources to Go tasks. It is safe for concurrent use.
type Registry struct {
	mu        sync.RWMutex
	resources map[string]Task
	functions map[string]Task
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{resources: map[string]Task{}, functions: map[string]Task{}}
}

// Register maps an exact Resource string (after substitution) to t. It
// panics on a duplicate, a programmer error.
func (r *Registry) Register(resource string, t Task) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.resources[resource]; dup {
		panic(fmt.Sprintf("sfn: resource %q registered twice", resource))
	}
	r.resources[resource] = t
}

// RegisterFunction maps a Lambda function name to t: it serves plain
// function ARNs (arn:aws:lambda:REGION:ACCOUNT:function:NAME) and
// arn:aws:states:::lambda:invoke with FunctionName NAME (or its ARN).
func (r *Registry) RegisterFunction(name string, t Task) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.functions[name]; dup {
		panic(fmt.Sprintf("sfn: function %q registered twice", name))
	}
	r.functions[name] = t
}

// resourceKind says how a resource was resolved, which decides the
// history events and the result envelope.
type resourceKind int

const (
	kindExact resourceKind = iota
	kindLambdaARN
	kindLambdaInvoke
)

// FunctionName extracts NAME from a Lambda function name, a full or
// partial function ARN, with or without a version or alias qualifier.
func FunctionName(s string) string {
	if strings.HasPrefix(s, "arn:") {
		parts := strings.Split(s, ":")
		// arn:aws:lambda:region:account:function:name[:qualifier]
		if len(parts) >= 7 && parts[5] == "function" {
			return parts[6]
		}
		return s
	}
	parts := strings.Split(s, ":")
	switch {
	case len(parts) >= 3 && parts[1] == "function": // account:function:name[:q]
		return parts[2]
	case len(parts) == 2: // name:qualifier
		return parts[0]
	}
	return s
}

func isLambdaARN(s string) bool {
	parts := strings.Split(s, ":")
	return len(parts) >= 7 && parts[0] == "arn" && parts[2] == "lambda" && parts[5] == "function"
}

// resolve finds the task for a resource. fn is the FunctionName for
// lambda:invoke.
func (r *Registry) resolve(resource, fn string) (Task, resourceKind, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if t, ok := r.resources[resource]; ok {
		return t, kindExact, nil
	}
	if resource == LambdaInvokeResource {
		if fn == "" {
			return nil, kindLambdaInvoke, fmt.Errorf("resource %s needs a FunctionName parameter", resource)
		}
		if t, ok := r.functions[FunctionName(fn)]; ok {
			return t, kindLambdaInvoke, nil
		}
		return nil, kindLambdaInvoke, fmt.Errorf("no local task is registered for Lambda function %q (resource %s)", FunctionName(fn), resource)
	}
	if isLambdaARN(resource) {
		if t, ok := r.functions[FunctionName(resource)]; ok {
			return t, kindLambdaARN, nil
		}
		return nil, kindLambdaARN, fmt.Errorf("no local task is registered for Lambda function %q (resource %s)", FunctionName(resource), resource)
	}
	return nil, kindExact, fmt.Errorf("no local task is registered for resource %q", resource)
}

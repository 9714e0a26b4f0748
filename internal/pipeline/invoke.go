package pipeline

import (
	"context"
	"encoding/json"
)

// Handler is one task function behind the task boundary, as both shells
// call it: the local executor's task adapter (cmd/imagerec) and the Lambda
// handler (internal/awslambda) are thin wrappers over Invoke.
type Handler struct {
	// Name is the task's name in logs, metrics and the decode error.
	Name string
	// Invoke decodes payload (the state's effective input) into the task's
	// input, calls the task and returns its output. Every error is a *Error
	// named by ErrorName; a payload that does not decode is
	// InvalidTaskInput and the task is not called.
	Invoke func(ctx context.Context, payload []byte) (any, error)
}

// Handle puts fn behind the task boundary under name.
func Handle[In, Out any](name string, fn func(context.Context, In) (Out, error)) Handler {
	return Handler{Name: name, Invoke: func(ctx context.Context, payload []byte) (any, error) {
		var in In
		if err := json.Unmarshal(payload, &in); err != nil {
			return nil, &Error{Name: ErrNameInvalidInput, Message: "decode " + name + " input", Err: err}
		}
		out, err := fn(ctx, in)
		if err != nil {
			return nil, named(err)
		}
		return out, nil
	}}
}

// named returns err as a *Error carrying ErrorName(err), keeping its
// message: a *Error as it is, anything else wrapped.
func named(err error) *Error {
	if pe, ok := err.(*Error); ok && pe.Name != "" { //nolint:errorlint // only the outermost error is reused as it is
		return pe
	}
	return &Error{Name: ErrorName(err), Err: err}
}

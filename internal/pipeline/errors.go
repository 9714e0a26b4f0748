package pipeline

import (
	"context"
	"errors"
	"fmt"

	"github.com/imagerec/imagerec/internal/vision"
)

// Error names the state machine's Retry and Catch match on. Invoke names
// every task error by ErrorName; the local executor reads the name from the
// error, and on AWS internal/awslambda reports it as the Lambda errorType.
// The names are the contract.
const (
	// ErrNameTransient marks failures worth retrying (I/O, timeouts, a busy
	// engine). The state machine retries it with back-off.
	ErrNameTransient = "TransientError"
	// The image-level names are Rekognition's own.
	ErrNameInvalidImageFormat = vision.CodeInvalidImageFormat
	ErrNameImageTooLarge      = vision.CodeImageTooLarge
	ErrNameInvalidParameter   = vision.CodeInvalidParameter
	ErrNameInvalidS3Object    = vision.CodeInvalidS3Object
	// ErrNameResourceNotFound: the face collection to search is gone.
	ErrNameResourceNotFound = vision.CodeResourceNotFound
	// ErrNameInvalidInput means the task input itself is malformed: a bug
	// in the definition or a hand-made execution, not a bad image.
	ErrNameInvalidInput = "InvalidTaskInput"
	// The generic names, as the Amazon States Language spells them: an
	// error nobody named, and a deadline.
	ErrNameTaskFailed = "States.TaskFailed"
	ErrNameTimeout    = "States.Timeout"
)

// Error is a task failure with a Step Functions error name.
type Error struct {
	Name    string
	Message string
	Err     error
}

func (e *Error) Error() string {
	if e.Err != nil && e.Message == "" {
		return e.Err.Error()
	}
	if e.Err != nil {
		return e.Message + ": " + e.Err.Error()
	}
	return e.Message
}

// ErrorName is the Step Functions error name (see the ErrName constants).
func (e *Error) ErrorName() string { return e.Name }

func (e *Error) Unwrap() error { return e.Err }

// transient wraps err as a retryable TransientError.
func transient(err error, format string, args ...any) *Error {
	return &Error{Name: ErrNameTransient, Message: fmt.Sprintf(format, args...), Err: err}
}

// imageError returns a non-retryable image-level error.
func imageError(name, format string, args ...any) *Error {
	return &Error{Name: name, Message: fmt.Sprintf(format, args...)}
}

// classify turns an engine error into a named task error: image-level
// vision errors keep their Rekognition code, anything else is transient.
func classify(err error, what string) *Error {
	var ve *vision.Error
	if errors.As(err, &ve) {
		return &Error{Name: ve.Code, Message: ve.Message, Err: ve.Err}
	}
	var pe *Error
	if errors.As(err, &pe) {
		return pe
	}
	return transient(err, "%s", what)
}

// ErrorName is the one rule that names a task error for Step Functions:
// the ErrorName() of the first error in the chain that has one (a pipeline
// *Error), else the Rekognition code of a vision error, else States.Timeout
// for a deadline, else States.TaskFailed.
func ErrorName(err error) string {
	var named interface{ ErrorName() string }
	if errors.As(err, &named) && named.ErrorName() != "" {
		return named.ErrorName()
	}
	if code := vision.CodeOf(err); code != "" {
		return code
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return ErrNameTimeout
	}
	return ErrNameTaskFailed
}

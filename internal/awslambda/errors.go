package awslambda

import (
	"context"
	"errors"

	"github.com/aws/aws-lambda-go/lambda/messages"
)

// Generic error names, as the local executor (internal/sfn) and the Amazon
// States Language define them.
const (
	ErrNameTaskFailed = "States.TaskFailed"
	ErrNameTimeout    = "States.Timeout"
)

// ErrorName returns the Step Functions error name of err: the ErrorName()
// of the first error in the chain that has one, else States.Timeout for a
// deadline, else States.TaskFailed. It is the local executor's rule.
func ErrorName(err error) string {
	var named interface{ ErrorName() string }
	if errors.As(err, &named) && named.ErrorName() != "" {
		return named.ErrorName()
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return ErrNameTimeout
	}
	return ErrNameTaskFailed
}

// InvokeError turns err into the error a Lambda handler returns so that the
// function error's errorType is ErrorName(err). nil stays nil.
func InvokeError(err error) error {
	if err == nil {
		return nil
	}
	var ire messages.InvokeResponse_Error
	if errors.As(err, &ire) {
		return ire
	}
	return messages.InvokeResponse_Error{Type: ErrorName(err), Message: err.Error()}
}

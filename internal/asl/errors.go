package asl

import "fmt"

// Predefined Step Functions error names.
const (
	ErrNameALL                             = "States.ALL"
	ErrNameHeartbeatTimeout                = "States.HeartbeatTimeout"
	ErrNameTimeout                         = "States.Timeout"
	ErrNameTaskFailed                      = "States.TaskFailed"
	ErrNamePermissions                     = "States.Permissions"
	ErrNameResultPathMatchFailure          = "States.ResultPathMatchFailure"
	ErrNameParameterPathFailure            = "States.ParameterPathFailure"
	ErrNameQueryEvaluationError            = "States.QueryEvaluationError"
	ErrNameBranchFailed                    = "States.BranchFailed"
	ErrNameNoChoiceMatched                 = "States.NoChoiceMatched"
	ErrNameIntrinsicFailure                = "States.IntrinsicFailure"
	ErrNameExceedToleratedFailureThreshold = "States.ExceedToleratedFailureThreshold"
	ErrNameItemReaderFailed                = "States.ItemReaderFailed"
	ErrNameResultWriterFailed              = "States.ResultWriterFailed"
	ErrNameRuntime                         = "States.Runtime"
	ErrNameDataLimitExceeded               = "States.DataLimitExceeded"
)

// Error is a failure with a Step Functions error name and cause, as raised
// by states, paths and intrinsic functions, and matched by Retry and Catch.
type Error struct {
	Name  string
	Cause string
	// NoCause is set when the failure carries no cause at all (a Fail
	// state without Cause), as opposed to an empty one.
	NoCause bool
}

func (e *Error) Error() string {
	if e.Cause == "" {
		return e.Name
	}
	return e.Name + ": " + e.Cause
}

// ErrorName returns the Step Functions error name.
func (e *Error) ErrorName() string { return e.Name }

func newError(name, format string, args ...any) *Error {
	return &Error{Name: name, Cause: fmt.Sprintf(format, args...)}
}

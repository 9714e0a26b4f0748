// Package sfnapi serves the AWS Step Functions API (the AWSStepFunctions
// JSON 1.0 protocol) over a sfn.Service, so that the aws CLI and the SDKs
// drive the local executor by changing the endpoint. imagerec serve
// answers it on its one port, told apart by X-Amz-Target
// "AWSStepFunctions.*" (IsStepFunctionsRequest), SigV4-checked for the
// service "states" in any region.
//
// Operations: CreateStateMachine, DescribeStateMachine, ListStateMachines,
// UpdateStateMachine, DeleteStateMachine, ValidateStateMachineDefinition
// (the diagnostics of `imagerec states validate`), StartExecution,
// StartSyncExecution (EXPRESS machines), StopExecution, DescribeExecution,
// ListExecutions (statusFilter, redriveFilter, mapRunArn), GetExecutionHistory
// (reverseOrder, includeExecutionData), DescribeStateMachineForExecution,
// RedriveExecution, SendTaskSuccess, SendTaskFailure, SendTaskHeartbeat,
// DescribeMapRun and ListMapRuns. List operations page with maxResults
// (default 100, at most 1000) and an opaque nextToken bound to the request
// (InvalidToken otherwise).
//
// Shapes are AWS's: timestamps are epoch seconds, errors are
// {"__type": code, "message": text} with x-amzn-ErrorType and status 400
// (ExecutionDoesNotExist, StateMachineDoesNotExist, InvalidDefinition,
// ExecutionAlreadyExists, ...), 500 InternalFailure for anything else. The
// error document and the signature codes are internal/awsjson's, shared
// with the Rekognition API. Decisions where AWS documents nothing are in
// docs/adr/0012-step-functions-api.md.
package sfnapi

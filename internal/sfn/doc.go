// Package sfn runs Amazon States Language state machines locally, the way
// AWS Step Functions does: executions with unique names, Step Functions
// history events (get-execution-history shapes), Retry with back-off and
// jitter, Catch, Parallel and Map, task timeouts, the 256 KiB payload
// limit, JSONPath and JSONata states, and a durable store (one JSON file
// per execution, written at start, between top-level states at most once a
// second, and at the end) so that a restarted process can list past
// executions and re-run from the start the ones a crash left RUNNING.
//
// Task states resolve their Resource through a Registry of Task values:
// exact resource ARNs, arn:aws:states:::lambda:invoke with its FunctionName
// parameter (result wrapped in a Payload envelope like AWS), and plain
// Lambda function ARNs resolved by function name. A task error that has an
// ErrorName() method keeps that name (like a Lambda errorType); others are
// States.TaskFailed.
//
// Time is read through a Clock so Wait states and retry back-off can be
// tested without sleeping. Evaluation of the language itself lives in the
// pure package internal/asl.
package sfn

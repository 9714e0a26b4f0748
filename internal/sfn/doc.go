// Package sfn runs Amazon States Language state machines locally, the way
// AWS Step Functions does: executions with unique names, Step Functions
// history events (get-execution-history shapes), Retry with back-off and
// jitter, Catch, Parallel and Map, task timeouts, the 256 KiB payload
// limit, JSONPath and JSONata states, and a durable store (one JSON file
// per execution, written at start, between top-level states at most once a
// second, and at the end) so that a restarted process can list past
// executions and go on with the ones a crash left RUNNING.
//
// Task states resolve their Resource through a Registry of Task values:
// exact resource ARNs, arn:aws:states:::lambda:invoke with its FunctionName
// parameter (result wrapped in a Payload envelope like AWS), and plain
// Lambda function ARNs resolved by function name. A task error that has an
// ErrorName() method keeps that name (like a Lambda errorType); others are
// States.TaskFailed.
//
// One interpreter runs both query languages (interp.go): state dispatch,
// Retry and Catch, Parallel (parallel.go), Map (map.go), Wait, Task
// invocation (task.go), the context object (context.go), history events,
// timeouts and the payload limit. Everything that reads or shapes data is
// behind the small evaluator interface (eval.go), with one implementation
// per language: jsonPathEval (jsonpath.go: InputPath, Parameters,
// ResultSelector, ResultPath, OutputPath, Assign, the *Path fields) and
// jsonataEval (jsonata.go: Arguments, Output, Assign, $states and "{% %}"
// fields). A new state feature is control flow in the interpreter plus,
// where it reads data, one evaluator method per language.
//
// Time is read through a Clock (Wait states, retry back-off, task,
// heartbeat and execution deadlines, and the checkpoint interval), so they
// can be tested without sleeping. Evaluation of the language itself lives
// in the pure package internal/asl.
//
// Around the interpreter: Service (service.go) holds the state machines of
// an account, the managed ones imagerec serve deploys and the ones users
// create (persisted); internal/sfnapi serves it as the Step Functions
// API. Callback tasks (callback.go: .waitForTaskToken, SendTask*,
// HeartbeatSeconds) have deterministic tokens whose outcomes are stored in
// the execution record. Distributed Map (distributed.go, reader.go) runs
// child executions under Map Runs, reading items with ItemReader, batching
// with ItemBatcher and writing ResultWriter files through Objects.
// Executions record the top-level state they are in (a ResumePoint): a
// redrive starts there, and so does the recovery of an execution a stop
// left RUNNING. See docs/adr/0012-step-functions-api.md.
//
// Several processes can share one Store (shared.go; a cluster's
// internal/sfn/natsstore): with Options.Leaser an execution runs in the one
// process holding its lease, Run starts, waits for or takes over an
// execution (the queue worker's entry point), and Recover takes up only
// RUNNING records whose lease is free; with Options.Dispatch, Start and
// Rerun store the record and hand it to another process, which runs it
// with RunExisting; with Options.MapDispatch, a Distributed Map hands its
// child executions over the same way and waits for their stored ends
// (spread.go). See
// docs/adr/0015-shared-execution-state.md.
package sfn

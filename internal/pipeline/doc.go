// Package pipeline holds the state machine's task functions — Inspect,
// Recognize, Store and Notify — their JSON inputs and outputs, the trigger
// that turns S3 event records into executions (Trigger.Plan,
// Trigger.Records), the one identity of an object version (ExecutionName,
// DeliveryID), and the error names that Retry and Catch in
// deploy/statemachine.asl.json match. The tasks reach storage through
// Objects; StoreObjects adapts an objstore.Store to it (the local disk
// store, and on AWS objstore/s3store). The task boundary (Handle) decodes
// a task's input, calls it and names every error by one rule (ErrorName);
// the local executor (internal/sfn, wired by cmd/imagerec) and the Lambda
// handlers (internal/awslambda, cmd/lambda/*) are thin wrappers over it, so
// both shells behave alike.
//
// The Reconciler is the safety net under the queue: it walks the upload and
// result buckets and starts again the work of every upload that has no
// document and nothing queued or running.
//
// The error document has one home here (ErrorDocument, NewErrorDocument,
// RecognizeFailure): Store writes it for an upload and `imagerec recognize`
// for a local file, both through EncodeDocument.
//
// Invariants: every object that reaches Store ends with exactly one of
// <key>.json and <key>.error.json in the result bucket; all tasks are
// idempotent for one (bucket, key, ETag), so duplicate events and re-runs
// after a crash are harmless.
package pipeline

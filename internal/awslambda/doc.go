// Package awslambda is the AWS shell around the pipeline's task functions:
// it decodes Lambda payloads (S3 event notifications for the trigger, state
// input for the tasks), calls the same internal/pipeline code the local
// executor runs, and reports failures so that Step Functions sees exactly
// the error names the local executor sees.
//
// Error names: aws-lambda-go reports an error's Go type name as the Lambda
// errorType, and Step Functions matches Retry/Catch on that. Handler wraps
// a task behind pipeline's task boundary (pipeline.Handle: decoding, the
// call and the one naming rule, pipeline.ErrorName, that the local executor
// sees too) and returns a failure as messages.InvokeResponse_Error whose
// Type is that name.
//
// It also holds what is Lambda's alone: the environment (Env), the trigger
// over Step Functions' StartExecution (the records loop itself is
// pipeline.Trigger.Records) and CloudWatch Embedded Metric Format lines.
// The drivers live beside their siblings: S3 is pipeline.StoreObjects over
// objstore/s3store, SNS is notify/sns. cmd/lambda/* are thin mains over
// this package.
package awslambda

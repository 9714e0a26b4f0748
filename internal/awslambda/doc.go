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
// It also holds the AWS drivers the tasks need behind their small
// interfaces: S3 objects (pipeline.Objects), SNS (notify.Notifier), the
// Step Functions starter, and CloudWatch Embedded Metric Format lines.
// cmd/lambda/* are thin mains over this package.
package awslambda

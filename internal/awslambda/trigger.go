package awslambda

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/imagerec/imagerec/internal/pipeline"
	"github.com/imagerec/imagerec/internal/s3event"
)

// Starter is the part of *sfn.Client the trigger calls.
type Starter interface {
	StartExecution(ctx context.Context, in *sfn.StartExecutionInput, optFns ...func(*sfn.Options)) (*sfn.StartExecutionOutput, error)
}

var _ Starter = (*sfn.Client)(nil)

// Trigger handles S3 event notifications with the core's trigger loop
// (pipeline.Trigger.Records) over Step Functions' StartExecution: one
// execution per new object, named by its identity so that duplicate
// events start nothing new.
type Trigger struct {
	Plan            pipeline.Trigger
	Starter         Starter
	StateMachineARN string
	Logger          *slog.Logger
	Metrics         *Metrics
}

// Handle is the Lambda handler. A payload that is not an S3 event fails
// with pipeline.ErrNameInvalidInput; a record whose execution could not be
// started makes the invocation fail (TransientError) after the other
// records were tried, so that Lambda's asynchronous retries (and then the
// dead-letter queue) get it.
func (t *Trigger) Handle(ctx context.Context, payload json.RawMessage) (pipeline.TriggerResult, error) {
	out, err := Handler(pipeline.Handle("trigger", t.event), t.Logger, t.Metrics)(ctx, payload)
	res, _ := out.(pipeline.TriggerResult)
	return res, err
}

func (t *Trigger) event(ctx context.Context, payload json.RawMessage) (pipeline.TriggerResult, error) {
	ev, err := s3event.Parse(payload)
	if err != nil {
		return pipeline.TriggerResult{}, &pipeline.Error{Name: pipeline.ErrNameInvalidInput, Message: "not an S3 event notification", Err: err}
	}
	return t.Plan.Records(ctx, ev.Records, t.start, t.Logger)
}

// start is pipeline.StartFunc over StartExecution.
func (t *Trigger) start(ctx context.Context, st pipeline.Start) (string, error) {
	out, err := t.Starter.StartExecution(ctx, &sfn.StartExecutionInput{
		StateMachineArn: aws.String(t.StateMachineARN),
		Name:            aws.String(st.Name),
		Input:           aws.String(string(st.Input)),
	})
	var exists *sfntypes.ExecutionAlreadyExists
	switch {
	case errors.As(err, &exists):
		return "", pipeline.ErrExecutionExists
	case err != nil:
		return "", err
	}
	return aws.ToString(out.ExecutionArn), nil
}

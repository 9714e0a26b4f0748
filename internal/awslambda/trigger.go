package awslambda

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
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

// Trigger handles S3 event notifications: one execution per new object,
// named deterministically so that duplicate events start nothing new.
type Trigger struct {
	Plan            pipeline.Trigger
	Starter         Starter
	StateMachineARN string
	Logger          *slog.Logger
	Metrics         *Metrics
}

// TriggerResult summarises one invocation.
type TriggerResult struct {
	Started    int `json:"Started"`
	Duplicates int `json:"Duplicates"`
	Ignored    int `json:"Ignored"`
}

// Handle is the Lambda handler. A payload that is not an S3 event fails
// with pipeline.ErrNameInvalidInput; a record whose execution could not be
// started makes the invocation fail after the other records were tried, so
// that Lambda's asynchronous retries (and then the dead-letter queue) get
// it. Retrying is safe: executions already started are duplicates.
func (t *Trigger) Handle(ctx context.Context, payload json.RawMessage) (TriggerResult, error) {
	out, err := Handler(pipeline.Handle("trigger", t.handle), t.Logger, t.Metrics)(ctx, payload)
	res, _ := out.(TriggerResult)
	return res, err
}

func (t *Trigger) handle(ctx context.Context, payload json.RawMessage) (TriggerResult, error) {
	log := t.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var res TriggerResult
	ev, err := s3event.Parse(payload)
	if err != nil {
		return res, &pipeline.Error{Name: pipeline.ErrNameInvalidInput, Message: "not an S3 event notification", Err: err}
	}
	var errs []error
	for _, rec := range ev.Records {
		st, ok, reason, err := t.Plan.Plan(rec)
		if err != nil {
			errs = append(errs, fmt.Errorf("plan %s/%s: %w", rec.S3.Bucket.Name, rec.S3.Object.Key, err))
			continue
		}
		if !ok {
			res.Ignored++
			log.InfoContext(ctx, "record ignored", "bucket", rec.S3.Bucket.Name, "key", rec.S3.Object.Key, "reason", reason)
			continue
		}
		out, err := t.Starter.StartExecution(ctx, &sfn.StartExecutionInput{
			StateMachineArn: aws.String(t.StateMachineARN),
			Name:            aws.String(st.Name),
			Input:           aws.String(string(st.Input)),
		})
		var exists *sfntypes.ExecutionAlreadyExists
		switch {
		case errors.As(err, &exists):
			res.Duplicates++
			log.InfoContext(ctx, "duplicate event", "bucket", st.Source.Bucket, "key", st.Source.Key, "execution", st.Name)
		case err != nil:
			errs = append(errs, fmt.Errorf("start execution %s for %s/%s: %w", st.Name, st.Source.Bucket, st.Source.Key, err))
		default:
			res.Started++
			log.InfoContext(ctx, "execution started", "bucket", st.Source.Bucket, "key", st.Source.Key, "execution", aws.ToString(out.ExecutionArn))
		}
	}
	if len(errs) > 0 {
		return res, &pipeline.Error{Name: pipeline.ErrNameTransient, Message: fmt.Sprintf("%d of %d records not started", len(errs), len(ev.Records)), Err: errors.Join(errs...)}
	}
	return res, nil
}

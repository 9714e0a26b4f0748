package awslambda

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"

	"github.com/aws/aws-lambda-go/lambda/messages"

	"github.com/imagerec/imagerec/internal/pipeline"
)

// Handler is the Lambda handler of a task behind pipeline's task boundary
// (h.Invoke decodes, runs and names). It adds only what is Lambda's: a
// failure is returned as the function error whose errorType is its Step
// Functions name (aws-lambda-go would report the Go type's name), logged
// once, and each invocation writes one Embedded Metric Format line to m
// (nil skips metrics).
func Handler(h pipeline.Handler, log *slog.Logger, m *Metrics) func(context.Context, json.RawMessage) (any, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("task", h.Name)
	return func(ctx context.Context, payload json.RawMessage) (any, error) {
		start := time.Now()
		out, err := h.Invoke(ctx, payload)
		if err == nil {
			m.Record(ctx, h.Name, time.Since(start), "")
			return out, nil
		}
		name := pipeline.ErrorName(err)
		log.ErrorContext(ctx, "task failed", "error_name", name, "error", err)
		m.Record(ctx, h.Name, time.Since(start), name)
		return nil, messages.InvokeResponse_Error{Type: name, Message: err.Error()}
	}
}

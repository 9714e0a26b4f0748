package awslambda

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/imagerec/imagerec/internal/pipeline"
)

// Task adapts a pipeline task function to a Lambda handler. The payload is
// the state's effective input (after Parameters); one that does not decode
// into In fails with pipeline.ErrNameInvalidInput. Errors are reported with
// their Step Functions names (see InvokeError), and each invocation writes
// one Embedded Metric Format line to m (nil skips metrics).
func Task[In, Out any](name string, fn func(context.Context, In) (Out, error), log *slog.Logger, m *Metrics) func(context.Context, json.RawMessage) (Out, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("task", name)
	return func(ctx context.Context, payload json.RawMessage) (Out, error) {
		start := time.Now()
		var in In
		var out Out
		err := json.Unmarshal(payload, &in)
		if err != nil {
			err = &pipeline.Error{Name: pipeline.ErrNameInvalidInput, Message: fmt.Sprintf("decode %s input", name), Err: err}
		} else {
			out, err = fn(ctx, in)
		}
		errName := ""
		if err != nil {
			errName = ErrorName(err)
			log.ErrorContext(ctx, "task failed", "error_name", errName, "error", err)
		}
		m.Record(ctx, name, time.Since(start), errName)
		return out, InvokeError(err)
	}
}

package pipeline_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/imagerec/imagerec/internal/objstore"
	"github.com/imagerec/imagerec/internal/objstore/memstore"
	"github.com/imagerec/imagerec/internal/pipeline"
	"github.com/imagerec/imagerec/internal/sfn"
	"github.com/imagerec/imagerec/internal/vision"
)

// scriptedRecognizer fails with err, or waits for the context when block.
type scriptedRecognizer struct {
	err   error
	block bool
}

func (s scriptedRecognizer) Recognize(ctx context.Context, _ vision.Input, _ vision.Options) (*vision.Result, error) {
	if s.block {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	if s.err != nil {
		return nil, s.err
	}
	return &vision.Result{Labels: []vision.Label{}}, nil
}

// TestInvokeNamesEveryError checks the one rule at the task boundary:
// every error Invoke returns is a *pipeline.Error carrying ErrorName's
// name, so the local executor (sfn.TaskErrorName reads the name from the
// error) and the Lambda handler (which reports pipeline.ErrorName as
// errorType) see the same name, and the message is the task's own.
func TestInvokeNamesEveryError(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	store := memstore.New()
	if err := store.CreateBucket(ctx, "uploads"); err != nil {
		t.Fatal(err)
	}
	if _, err := store.PutObject(ctx, "uploads", "cat.jpg", bytes.NewReader([]byte("\xff\xd8\xff\xe0 jpeg")), objstore.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	recognize := func(rec vision.Recognizer) func(context.Context, pipeline.RecognizeInput) (pipeline.RecognizeOutput, error) {
		tasks := &pipeline.Tasks{Objects: pipeline.StoreObjects{Store: store}, Recognizer: rec}
		return tasks.Recognize
	}
	source := `{"Source":{"Bucket":"uploads","Key":"cat.jpg"},"ResultBucket":"results"}`
	tests := []struct {
		name     string
		task     func(context.Context, pipeline.RecognizeInput) (pipeline.RecognizeOutput, error)
		payload  string
		deadline time.Duration
		want     string
	}{
		{"image too large", recognize(scriptedRecognizer{err: vision.Errorf(vision.CodeImageTooLarge, "too big")}), source, 0, pipeline.ErrNameImageTooLarge},
		{"invalid image format", recognize(scriptedRecognizer{err: vision.Errorf(vision.CodeInvalidImageFormat, "not an image")}), source, 0, pipeline.ErrNameInvalidImageFormat},
		{"engine failure", recognize(scriptedRecognizer{err: errors.New("throttled after retries")}), source, 0, pipeline.ErrNameTransient},
		{"engine deadline", recognize(scriptedRecognizer{block: true}), source, 20 * time.Millisecond, pipeline.ErrNameTransient},
		{"missing object", recognize(scriptedRecognizer{}), `{"Source":{"Bucket":"uploads","Key":"gone.jpg"}}`, 0, pipeline.ErrNameInvalidS3Object},
		{"no source", recognize(scriptedRecognizer{}), `{}`, 0, pipeline.ErrNameInvalidInput},
		{"malformed payload", recognize(scriptedRecognizer{}), `{"Source":"not an object"}`, 0, pipeline.ErrNameInvalidInput},
		{"unnamed error", func(context.Context, pipeline.RecognizeInput) (pipeline.RecognizeOutput, error) {
			return pipeline.RecognizeOutput{}, fmt.Errorf("wrapped: %w", errors.New("plain"))
		}, source, 0, pipeline.ErrNameTaskFailed},
		{"bare deadline", func(context.Context, pipeline.RecognizeInput) (pipeline.RecognizeOutput, error) {
			return pipeline.RecognizeOutput{}, fmt.Errorf("call: %w", context.DeadlineExceeded)
		}, source, 0, pipeline.ErrNameTimeout},
		{"raw vision error", func(context.Context, pipeline.RecognizeInput) (pipeline.RecognizeOutput, error) {
			return pipeline.RecognizeOutput{}, fmt.Errorf("engine: %w", vision.Errorf(vision.CodeInvalidParameter, "too small"))
		}, source, 0, pipeline.ErrNameInvalidParameter},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			if tt.deadline > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.deadline)
				defer cancel()
			}
			out, err := pipeline.Handle("recognize", tt.task).Invoke(ctx, json.RawMessage(tt.payload))
			if err == nil {
				t.Fatalf("task succeeded: %v", out)
			}
			var pe *pipeline.Error
			if !errors.As(err, &pe) || pe != err { //nolint:errorlint // the outermost error must be the named one
				t.Fatalf("Invoke returned %T %v, want a *pipeline.Error", err, err)
			}
			if got, local := pipeline.ErrorName(err), sfn.TaskErrorName(err); got != tt.want || local != tt.want {
				t.Errorf("pipeline.ErrorName %q, executor %q, want %q", got, local, tt.want)
			}
			if err.Error() == "" {
				t.Error("the error has no message")
			}
		})
	}
}

// TestInvokeKeepsMessage: naming an error does not change its message
// (it is the Cause in the execution history and the Lambda errorMessage).
func TestInvokeKeepsMessage(t *testing.T) {
	t.Parallel()
	plain := fmt.Errorf("store result: %w", errors.New("disk full"))
	_, err := pipeline.Handle("store", func(context.Context, pipeline.StoreInput) (pipeline.StoreOutput, error) {
		return pipeline.StoreOutput{}, plain
	}).Invoke(t.Context(), []byte(`{}`))
	if err == nil || err.Error() != plain.Error() || !errors.Is(err, plain) {
		t.Errorf("err = %v, want %v unchanged and wrapped", err, plain)
	}
}

package awslambda_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda/messages"

	"github.com/imagerec/imagerec/internal/awslambda"
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

// TestErrorNamesAgree runs the same pipeline tasks the way the local
// executor does (a direct call, named by sfn.TaskErrorName) and the way the
// Lambda functions do (awslambda.Task on the JSON payload, named by the
// InvokeResponse_Error that aws-lambda-go sends as errorType), and checks
// that Step Functions would see the same error name either way.
func TestErrorNamesAgree(t *testing.T) {
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
	source := pipeline.RecognizeInput{Source: pipeline.Source{Bucket: "uploads", Key: "cat.jpg"}, ResultBucket: "results"}
	tests := []struct {
		name     string
		task     func(context.Context, pipeline.RecognizeInput) (pipeline.RecognizeOutput, error)
		input    pipeline.RecognizeInput
		deadline time.Duration
		want     string
	}{
		{"image too large", recognize(scriptedRecognizer{err: vision.Errorf(vision.CodeImageTooLarge, "too big")}), source, 0, pipeline.ErrNameImageTooLarge},
		{"invalid image format", recognize(scriptedRecognizer{err: vision.Errorf(vision.CodeInvalidImageFormat, "not an image")}), source, 0, pipeline.ErrNameInvalidImageFormat},
		{"engine failure", recognize(scriptedRecognizer{err: errors.New("throttled after retries")}), source, 0, pipeline.ErrNameTransient},
		{"engine deadline", recognize(scriptedRecognizer{block: true}), source, 20 * time.Millisecond, pipeline.ErrNameTransient},
		{"missing object", recognize(scriptedRecognizer{}), pipeline.RecognizeInput{Source: pipeline.Source{Bucket: "uploads", Key: "gone.jpg"}}, 0, pipeline.ErrNameInvalidS3Object},
		{"no source", recognize(scriptedRecognizer{}), pipeline.RecognizeInput{}, 0, pipeline.ErrNameInvalidInput},
		{"unnamed error", func(context.Context, pipeline.RecognizeInput) (pipeline.RecognizeOutput, error) {
			return pipeline.RecognizeOutput{}, fmt.Errorf("wrapped: %w", errors.New("plain"))
		}, source, 0, "States.TaskFailed"},
		{"bare deadline", func(context.Context, pipeline.RecognizeInput) (pipeline.RecognizeOutput, error) {
			return pipeline.RecognizeOutput{}, fmt.Errorf("call: %w", context.DeadlineExceeded)
		}, source, 0, "States.Timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			run := func() context.Context {
				if tt.deadline == 0 {
					return t.Context()
				}
				c, cancel := context.WithTimeout(t.Context(), tt.deadline)
				t.Cleanup(cancel)
				return c
			}
			// Local executor path.
			_, err := tt.task(run(), tt.input)
			if err == nil {
				t.Fatal("task succeeded")
			}
			local := sfn.TaskErrorName(err)

			// Lambda path.
			payload, _ := json.Marshal(tt.input)
			_, lerr := awslambda.Task("recognize", tt.task, nil, nil)(run(), payload)
			var ire messages.InvokeResponse_Error
			if !errors.As(lerr, &ire) {
				t.Fatalf("Lambda handler returned %T %v, want messages.InvokeResponse_Error", lerr, lerr)
			}
			if local != tt.want || ire.Type != tt.want {
				t.Errorf("local name %q, Lambda errorType %q, want both %q", local, ire.Type, tt.want)
			}
			if ire.Message == "" {
				t.Error("Lambda error has no message")
			}
		})
	}
}

func TestMalformedPayload(t *testing.T) {
	t.Parallel()
	called := false
	h := awslambda.Task("store", func(context.Context, pipeline.StoreInput) (pipeline.StoreOutput, error) {
		called = true
		return pipeline.StoreOutput{}, nil
	}, nil, nil)
	_, err := h(t.Context(), json.RawMessage(`{"Source": "not an object"}`))
	var ire messages.InvokeResponse_Error
	if !errors.As(err, &ire) || ire.Type != pipeline.ErrNameInvalidInput || called {
		t.Errorf("err = %v (called %v), want %s before the task runs", err, called, pipeline.ErrNameInvalidInput)
	}
}

func TestMetricsLine(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	m := &awslambda.Metrics{W: &buf, Now: func() time.Time { return time.UnixMilli(1700000000000) }}
	h := awslambda.Task("notify", func(context.Context, pipeline.NotifyInput) (pipeline.NotifyOutput, error) {
		return pipeline.NotifyOutput{}, &pipeline.Error{Name: pipeline.ErrNameTransient, Message: "sns down"}
	}, nil, m)
	if _, err := h(t.Context(), json.RawMessage(`{}`)); err == nil {
		t.Fatal("the failing task returned no error")
	}
	var line struct {
		AWS struct {
			Timestamp         int64
			CloudWatchMetrics []struct {
				Namespace  string
				Dimensions [][]string
				Metrics    []struct{ Name, Unit string }
			}
		} `json:"_aws"`
		Function  string
		Duration  float64
		Errors    int
		ErrorName string
	}
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
		t.Fatalf("EMF line %q: %v", buf.String(), err)
	}
	if line.AWS.Timestamp != 1700000000000 || len(line.AWS.CloudWatchMetrics) != 1 || line.AWS.CloudWatchMetrics[0].Namespace != "imagerec" ||
		line.Function != "notify" || line.Errors != 1 || line.ErrorName != pipeline.ErrNameTransient {
		t.Errorf("EMF line = %s", buf.String())
	}
	// Every metric named in the directive is a member of the line.
	var raw map[string]any
	if err := json.Unmarshal(buf.Bytes(), &raw); err != nil {
		t.Fatal(err)
	}
	for _, md := range line.AWS.CloudWatchMetrics[0].Metrics {
		if _, ok := raw[md.Name]; !ok {
			t.Errorf("metric %s declared but absent", md.Name)
		}
	}
	for _, d := range line.AWS.CloudWatchMetrics[0].Dimensions[0] {
		if _, ok := raw[d]; !ok {
			t.Errorf("dimension %s declared but absent", d)
		}
	}
}

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
	"github.com/imagerec/imagerec/internal/pipeline"
	"github.com/imagerec/imagerec/internal/vision"
)

// TestHandlerReportsErrorName: a failure reaches Lambda as the function
// error whose errorType is the task boundary's name (pipeline.ErrorName),
// with the error's message.
func TestHandlerReportsErrorName(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"named", &pipeline.Error{Name: pipeline.ErrNameImageTooLarge, Message: "too big"}, pipeline.ErrNameImageTooLarge},
		{"vision code", fmt.Errorf("engine: %w", vision.Errorf(vision.CodeInvalidImageFormat, "not an image")), pipeline.ErrNameInvalidImageFormat},
		{"unnamed", errors.New("plain"), pipeline.ErrNameTaskFailed},
		{"deadline", fmt.Errorf("call: %w", context.DeadlineExceeded), pipeline.ErrNameTimeout},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := awslambda.Handler(pipeline.Handle("recognize", func(context.Context, pipeline.RecognizeInput) (pipeline.RecognizeOutput, error) {
				return pipeline.RecognizeOutput{}, tt.err
			}), nil, nil)
			_, err := h(t.Context(), json.RawMessage(`{}`))
			var ire messages.InvokeResponse_Error
			if !errors.As(err, &ire) {
				t.Fatalf("Lambda handler returned %T %v, want messages.InvokeResponse_Error", err, err)
			}
			if ire.Type != tt.want || ire.Message != tt.err.Error() {
				t.Errorf("errorType %q message %q, want %q and %q", ire.Type, ire.Message, tt.want, tt.err.Error())
			}
		})
	}
}

func TestMalformedPayload(t *testing.T) {
	t.Parallel()
	called := false
	h := awslambda.Handler(pipeline.Handle("store", func(context.Context, pipeline.StoreInput) (pipeline.StoreOutput, error) {
		called = true
		return pipeline.StoreOutput{}, nil
	}), nil, nil)
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
	h := awslambda.Handler(pipeline.Handle("notify", func(context.Context, pipeline.NotifyInput) (pipeline.NotifyOutput, error) {
		return pipeline.NotifyOutput{}, &pipeline.Error{Name: pipeline.ErrNameTransient, Message: "sns down"}
	}), nil, m)
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

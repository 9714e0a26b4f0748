package awslambda_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-lambda-go/lambda/messages"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/google/go-cmp/cmp"

	"github.com/imagerec/imagerec/internal/awslambda"
	"github.com/imagerec/imagerec/internal/pipeline"
)

const stateMachineARN = "arn:aws:states:us-east-1:123456789012:stateMachine:imagerec-images"

func newTrigger(t *testing.T, url string, metrics *awslambda.Metrics) *awslambda.Trigger {
	client := sfn.New(sfn.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String(url),
		Credentials:      credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
		RetryMaxAttempts: 1,
	})
	return &awslambda.Trigger{
		Plan:            pipeline.Trigger{ResultBucket: "example-results"},
		Starter:         client,
		StateMachineARN: stateMachineARN,
		Logger:          slog.New(slog.DiscardHandler),
		Metrics:         metrics,
	}
}

func readEvent(t *testing.T, name string) json.RawMessage {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestTriggerSampleEvent(t *testing.T) {
	t.Parallel()
	sf, srv := newStepFunctions(t, false)
	res, err := newTrigger(t, srv.URL, nil).Handle(t.Context(), readEvent(t, "s3-put.json"))
	if err != nil {
		t.Fatal(err)
	}
	if res != (pipeline.TriggerResult{Started: 1}) {
		t.Errorf("result = %+v", res)
	}
	for name, input := range sf.inputs() {
		var in pipeline.ExecutionInput
		if err := json.Unmarshal([]byte(input), &in); err != nil {
			t.Fatal(err)
		}
		want := pipeline.Source{Bucket: "example-bucket", Key: "test/key", ETag: "0123456789abcdef0123456789abcdef", Size: 1024,
			Sequencer: "0A1B2C3D4E5F678901", EventName: "ObjectCreated:Put", EventTime: "1970-01-01T00:00:00.000Z"}
		if diff := cmp.Diff(want, in.Source); diff != "" {
			t.Errorf("execution input Source (-want +got):\n%s", diff)
		}
		if name != pipeline.ExecutionName(want) {
			t.Errorf("execution name %q, want %q", name, pipeline.ExecutionName(want))
		}
	}
}

func TestTriggerBatch(t *testing.T) {
	t.Parallel()
	sf, srv := newStepFunctions(t, false)
	var metrics bytes.Buffer
	trig := newTrigger(t, srv.URL, &awslambda.Metrics{W: &metrics})
	ev := readEvent(t, "s3-batch.json")
	res, err := trig.Handle(t.Context(), ev)
	if err != nil {
		t.Fatal(err)
	}
	// The duplicate record is accepted by StartExecution's idempotency
	// (same name, same input, still running).
	if res.Ignored != 2 || res.Started+res.Duplicates != 2 || len(sf.inputs()) != 1 {
		t.Errorf("result = %+v, executions %v", res, sf.inputs())
	}
	for _, input := range sf.inputs() {
		var in pipeline.ExecutionInput
		if err := json.Unmarshal([]byte(input), &in); err != nil {
			t.Fatal(err)
		}
		if in.Source.Key != "photos/Summer holiday! (2024).jpg" {
			t.Errorf("key = %q, want it URL-decoded once", in.Source.Key)
		}
	}
	if !bytes.Contains(metrics.Bytes(), []byte(`"Function":"trigger"`)) {
		t.Errorf("no EMF line: %q", metrics.String())
	}

	// Redelivered after the execution closed: ExecutionAlreadyExists is a
	// duplicate, not a failure.
	sf2, srv2 := newStepFunctions(t, true)
	trig2 := newTrigger(t, srv2.URL, nil)
	if _, err := trig2.Handle(t.Context(), readEvent(t, "s3-put.json")); err != nil {
		t.Fatal(err)
	}
	res, err = trig2.Handle(t.Context(), readEvent(t, "s3-put.json"))
	if err != nil || res != (pipeline.TriggerResult{Duplicates: 1}) || sf2.starts != 2 {
		t.Errorf("redelivery: result %+v err %v starts %d", res, err, sf2.starts)
	}
}

// TestTriggerTestEvent: S3 sends an s3:TestEvent (no Records) when a
// notification is configured; it starts nothing and is not an error.
func TestTriggerTestEvent(t *testing.T) {
	t.Parallel()
	sf, srv := newStepFunctions(t, false)
	res, err := newTrigger(t, srv.URL, nil).Handle(t.Context(), json.RawMessage(`{"Service":"Amazon S3","Event":"s3:TestEvent","Time":"2014-10-13T15:57:02.089Z","Bucket":"example-bucket","RequestId":"5582815E1AEA5ADF","HostId":"8cLeGAmw098X5cv4Zkwcmo8vvZa3eH3eKxsPzbB9wrR+YstdA6Knx4Ip8EXAMPLE"}`))
	if err != nil || res != (pipeline.TriggerResult{}) || sf.starts != 0 {
		t.Errorf("test event: result %+v, err %v, starts %d", res, err, sf.starts)
	}
}

func TestTriggerFailures(t *testing.T) {
	t.Parallel()
	_, srv := newStepFunctions(t, false)
	trig := newTrigger(t, srv.URL, nil)
	_, err := trig.Handle(t.Context(), json.RawMessage(`{"Records":[{"eventSource":"aws:sqs"}]}`))
	var ire messages.InvokeResponse_Error
	if !errors.As(err, &ire) || ire.Type != pipeline.ErrNameInvalidInput {
		t.Errorf("non-S3 payload: err = %v, want %s", err, pipeline.ErrNameInvalidInput)
	}
	// Step Functions unreachable: the invocation fails (Lambda retries it,
	// then the dead-letter queue keeps it).
	srv.Close()
	_, err = trig.Handle(t.Context(), readEvent(t, "s3-put.json"))
	if !errors.As(err, &ire) || ire.Type != pipeline.ErrNameTransient {
		t.Errorf("unreachable Step Functions: err = %v, want %s", err, pipeline.ErrNameTransient)
	}
}

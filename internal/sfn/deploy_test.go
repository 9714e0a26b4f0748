package sfn_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/imagerec/imagerec/deploy"
	"github.com/imagerec/imagerec/internal/asl"
	"github.com/imagerec/imagerec/internal/sfn"
)

// fakeTasks plays the pipeline's tasks for deploy/statemachine.asl.json.
type fakeTasks struct {
	supported      bool
	recognizeFails []error // returned in turn, then success
	notifyErr      error
	recognizeCalls atomic.Int32
	notifyCalls    atomic.Int32
	storedFailure  atomic.Value
}

func (f *fakeTasks) registry() *sfn.Registry {
	reg := sfn.NewRegistry()
	reg.RegisterFunction(deploy.FunctionInspect, sfn.TaskFunc(func(context.Context, json.RawMessage) (json.RawMessage, error) {
		if f.supported {
			return json.RawMessage(`{"Supported":true,"Format":"jpeg"}`), nil
		}
		return json.RawMessage(`{"Supported":false,"Reason":"not an image: text/plain"}`), nil
	}))
	reg.RegisterFunction(deploy.FunctionRecognize, sfn.TaskFunc(func(context.Context, json.RawMessage) (json.RawMessage, error) {
		n := int(f.recognizeCalls.Add(1))
		if n <= len(f.recognizeFails) {
			return nil, f.recognizeFails[n-1]
		}
		return json.RawMessage(`{"Labels":[{"Name":"Dog","Confidence":97.5}]}`), nil
	}))
	reg.RegisterFunction(deploy.FunctionStore, sfn.TaskFunc(func(_ context.Context, in json.RawMessage) (json.RawMessage, error) {
		var req struct {
			Source  struct{ Bucket, Key string }
			Failure *struct{ Error, Cause string }
		}
		if err := json.Unmarshal(in, &req); err != nil {
			return nil, err
		}
		if req.Failure != nil {
			f.storedFailure.Store(req.Failure.Error)
			return json.Marshal(map[string]string{"Bucket": "results", "Key": req.Source.Key + ".error.json", "Error": req.Failure.Error, "Message": req.Failure.Cause})
		}
		return json.Marshal(map[string]string{"Bucket": "results", "Key": req.Source.Key + ".json"})
	}))
	reg.RegisterFunction(deploy.FunctionNotify, sfn.TaskFunc(func(context.Context, json.RawMessage) (json.RawMessage, error) {
		f.notifyCalls.Add(1)
		if f.notifyErr != nil {
			return nil, f.notifyErr
		}
		return json.RawMessage(`{"Delivered":1}`), nil
	}))
	return reg
}

// TestDeployStateMachine runs the shipped workflow with fake tasks through
// its success, retry, catch and failure paths.
func TestDeployStateMachine(t *testing.T) {
	t.Parallel()
	def := asl.Substitute(deploy.StateMachine, deploy.LocalSubstitutions("results"))
	input := `{"Source":{"Bucket":"uploads","Key":"dog.jpg","ETag":"abc"}}`
	tests := []struct {
		name           string
		tasks          *fakeTasks
		status, err    string
		output         string
		recognizeCalls int32
		notifyCalls    int32
		stored         string
	}{
		{name: "success", tasks: &fakeTasks{supported: true},
			status: "SUCCEEDED", output: `{"Bucket":"results","Key":"dog.jpg.json"}`, recognizeCalls: 1, notifyCalls: 1},
		{name: "transient errors are retried", tasks: &fakeTasks{supported: true, recognizeFails: []error{
			&namedError{"TransientError", "engine busy"}, &namedError{"ThrottlingException", "slow down"}}},
			status: "SUCCEEDED", recognizeCalls: 3, notifyCalls: 1},
		{name: "unsupported image ends with an error document", tasks: &fakeTasks{supported: false},
			status: "FAILED", err: "InvalidImageFormatException", recognizeCalls: 0, notifyCalls: 1, stored: "InvalidImageFormatException"},
		{name: "image error is caught, not retried", tasks: &fakeTasks{supported: true, recognizeFails: []error{
			&namedError{"InvalidImageFormatException", "cannot decode"}}},
			status: "FAILED", err: "InvalidImageFormatException", recognizeCalls: 1, notifyCalls: 1, stored: "InvalidImageFormatException"},
		{name: "retries exhausted", tasks: &fakeTasks{supported: true, recognizeFails: []error{
			&namedError{"TransientError", "1"}, &namedError{"TransientError", "2"}, &namedError{"TransientError", "3"},
			&namedError{"TransientError", "4"}, &namedError{"TransientError", "5"}}},
			status: "FAILED", err: "TransientError", recognizeCalls: 5, notifyCalls: 1, stored: "TransientError"},
		{name: "notification failure does not fail the image", tasks: &fakeTasks{supported: true, notifyErr: &namedError{"TransientError", "webhook down"}},
			status: "SUCCEEDED", recognizeCalls: 1, notifyCalls: 4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clock := sfn.NewFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
			x, err := sfn.New(def, tc.tasks.registry(), sfn.Options{Clock: clock, Region: deploy.LocalRegion, Account: deploy.LocalAccount})
			if err != nil {
				t.Fatal(err)
			}
			defer x.Close()
			ex, err := x.RunSync(t.Context(), "dog", json.RawMessage(input))
			if err != nil {
				t.Fatal(err)
			}
			if ex.Status != tc.status || ex.Error != tc.err {
				t.Fatalf("got %s %s (%s), want %s %s", ex.Status, ex.Error, ex.Cause, tc.status, tc.err)
			}
			if tc.output != "" && string(ex.Output) != tc.output {
				t.Errorf("output %s, want %s", ex.Output, tc.output)
			}
			if got := tc.tasks.recognizeCalls.Load(); got != tc.recognizeCalls {
				t.Errorf("recognize calls %d, want %d", got, tc.recognizeCalls)
			}
			if got := tc.tasks.notifyCalls.Load(); got != tc.notifyCalls {
				t.Errorf("notify calls %d, want %d", got, tc.notifyCalls)
			}
			if got, _ := tc.tasks.storedFailure.Load().(string); got != tc.stored {
				t.Errorf("stored failure %q, want %q", got, tc.stored)
			}
			for _, d := range clock.Sleeps() {
				if d < 0 || d > 30*time.Second {
					t.Errorf("back-off %v outside [0, MaxDelaySeconds]", d)
				}
			}
			hist, _ := x.History(t.Context(), ex.ExecutionArn)
			var types []string
			for _, e := range hist {
				types = append(types, e.Type)
			}
			if !strings.Contains(strings.Join(types, ","), "LambdaFunctionScheduled") {
				t.Errorf("history has no Lambda events: %v", types)
			}
		})
	}
}

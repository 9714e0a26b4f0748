package sfn_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/imagerec/imagerec/internal/asl"
	"github.com/imagerec/imagerec/internal/sfn"
)

// tokenSink is a task that hands out the token it gets (as AWS would send
// it in a message) and returns at once.
type tokenSink chan string

func (c tokenSink) Invoke(_ context.Context, in json.RawMessage) (json.RawMessage, error) {
	var v struct{ Token string }
	if err := json.Unmarshal(in, &v); err != nil {
		return nil, err
	}
	c <- v.Token
	return json.RawMessage(`{"MessageId":"m-1"}`), nil
}

const callbackDef = `{"StartAt":"Ask","States":{
  "Ask":{"Type":"Task","Resource":"arn:aws:states:::sqs:sendMessage.waitForTaskToken",
    "Parameters":{"Token.$":"$$.Task.Token","Question.$":"$.q"},HEARTBEAT
    "Catch":[{"ErrorEquals":["Rejected"],"ResultPath":"$.why","Next":"No"},{"ErrorEquals":["States.HeartbeatTimeout"],"ResultPath":"$.why","Next":"Silent"}],
    "ResultPath":"$.answer","End":true},
  "No":{"Type":"Pass","End":true},
  "Silent":{"Type":"Pass","End":true}}}`

func callbackService(t *testing.T, dir string, clock sfn.Clock, sink tokenSink, heartbeat string) (*sfn.Service, *sfn.Executor) {
	t.Helper()
	reg := sfn.NewRegistry()
	reg.Register("arn:aws:states:::sqs:sendMessage", sink)
	svc, err := sfn.NewService(sfn.ServiceOptions{Dir: dir, Registry: reg, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = svc.Close() })
	def := strings.Replace(callbackDef, "HEARTBEAT", heartbeat, 1)
	x, err := svc.AddManaged("ask", []byte(def), sfn.ManagedOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return svc, x
}

// TestCallbackTask: a .waitForTaskToken task gets $$.Task.Token, waits
// for SendTaskSuccess or SendTaskFailure, and fails with
// States.HeartbeatTimeout or States.Timeout when nobody answers in time;
// a token is refused once its task has ended.
func TestCallbackTask(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		heartbeat string
		answer    func(t *testing.T, svc *sfn.Service, clock *sfn.FakeClock, token string)
		status    string
		output    string
		events    string
	}{
		{name: "success", answer: func(t *testing.T, svc *sfn.Service, _ *sfn.FakeClock, token string) {
			if err := svc.SendTaskResult(t.Context(), token, sfn.CallbackOutcome{Status: "SUCCEEDED", Output: "not json"}); !errors.Is(err, sfn.ErrInvalidOutput) {
				t.Errorf("invalid output: %v, want ErrInvalidOutput", err)
			}
			if err := svc.SendTaskResult(t.Context(), token, sfn.CallbackOutcome{Status: "SUCCEEDED", Output: `{"yes":true}`}); err != nil {
				t.Fatal(err)
			}
		}, status: "SUCCEEDED", output: `{"q":"ok?","answer":{"yes":true}}`, events: "TaskScheduled,TaskStarted,TaskSubmitted,TaskSucceeded"},
		{name: "failure is caught", answer: func(t *testing.T, svc *sfn.Service, _ *sfn.FakeClock, token string) {
			if err := svc.SendTaskResult(t.Context(), token, sfn.CallbackOutcome{Status: "FAILED", Error: "Rejected", Cause: "no"}); err != nil {
				t.Fatal(err)
			}
		}, status: "SUCCEEDED", output: `{"q":"ok?","why":{"Error":"Rejected","Cause":"no"}}`, events: "TaskScheduled,TaskStarted,TaskSubmitted,TaskFailed"},
		{name: "heartbeats keep it alive, then it times out", heartbeat: `"HeartbeatSeconds":10,`, answer: func(t *testing.T, svc *sfn.Service, clock *sfn.FakeClock, token string) {
			for range 3 {
				clock.Advance(8 * time.Second)
				if err := svc.SendTaskHeartbeat(t.Context(), token); err != nil {
					t.Fatal(err)
				}
			}
			clock.Advance(10 * time.Second)
		}, status: "SUCCEEDED", output: `{"q":"ok?","why":{"Error":"States.HeartbeatTimeout","Cause":""}}`, events: "TaskScheduled,TaskStarted,TaskSubmitted,TaskTimedOut"},
		{name: "TimeoutSeconds", heartbeat: `"TimeoutSeconds":30,`, answer: func(_ *testing.T, _ *sfn.Service, clock *sfn.FakeClock, _ string) {
			clock.Advance(30 * time.Second)
		}, status: "FAILED", events: "TaskScheduled,TaskStarted,TaskSubmitted,TaskTimedOut"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clock := sfn.NewFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
			sink := make(tokenSink, 1)
			svc, x := callbackService(t, "", clock, sink, tc.heartbeat)
			arn, err := x.Start(t.Context(), "q1", json.RawMessage(`{"q":"ok?"}`))
			if err != nil {
				t.Fatal(err)
			}
			token := <-sink
			waitWaiting(t, svc, token) // the task waits: its deadlines are set
			tc.answer(t, svc, clock, token)
			ex, err := x.Wait(t.Context(), arn)
			if err != nil {
				t.Fatal(err)
			}
			if ex.Status != tc.status || (tc.output != "" && string(ex.Output) != tc.output) {
				t.Errorf("got %s %s %s %s, want %s %s", ex.Status, ex.Error, ex.Cause, ex.Output, tc.status, tc.output)
			}
			if tc.status == "FAILED" && ex.Error != asl.ErrNameTimeout {
				t.Errorf("error %s, want States.Timeout", ex.Error)
			}
			hist, _ := x.History(t.Context(), arn)
			var got []string
			for _, e := range hist {
				if strings.HasPrefix(e.Type, "Task") && !strings.HasPrefix(e.Type, "TaskState") {
					got = append(got, e.Type)
				}
			}
			if strings.Join(got, ",") != tc.events {
				t.Errorf("task events %v, want %s", got, tc.events)
			}
			if err := svc.SendTaskResult(t.Context(), token, sfn.CallbackOutcome{Status: "SUCCEEDED", Output: `{}`}); !errors.Is(err, sfn.ErrTaskTimedOut) {
				t.Errorf("answer after the end: %v, want ErrTaskTimedOut", err)
			}
		})
	}
	svc, _ := callbackService(t, "", sfn.NewFakeClock(time.Unix(0, 0)), make(tokenSink, 1), "")
	if err := svc.SendTaskHeartbeat(t.Context(), "garbage!"); !errors.Is(err, sfn.ErrInvalidToken) {
		t.Errorf("garbage token: %v, want ErrInvalidToken", err)
	}
}

// waitWaiting returns once the task of token waits for it (a heartbeat
// is accepted).
func waitWaiting(t *testing.T, svc *sfn.Service, token string) {
	t.Helper()
	for svc.SendTaskHeartbeat(t.Context(), token) != nil {
		time.Sleep(time.Millisecond)
	}
}

// TestCallbackDurable: a token outlives a restart. The re-run after the
// restart hands the task the same token, and an outcome stored before the
// restart is replayed instead of waited for.
func TestCallbackDurable(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	sink := make(tokenSink, 2)
	svc1, x1 := callbackService(t, dir, sfn.RealClock{}, sink, "")
	arn, err := x1.Start(t.Context(), "q1", json.RawMessage(`{"q":"ok?"}`))
	if err != nil {
		t.Fatal(err)
	}
	token := <-sink
	_ = svc1.Close() // the stop: the execution stays RUNNING

	svc2, x2 := callbackService(t, dir, sfn.RealClock{}, sink, "")
	if _, err := svc2.Recover(t.Context()); err != nil {
		t.Fatal(err)
	}
	if again := <-sink; again != token {
		t.Fatalf("token after the restart %q, want %q", again, token)
	}
	if err := svc2.SendTaskResult(t.Context(), token, sfn.CallbackOutcome{Status: "SUCCEEDED", Output: `"yes"`}); err != nil {
		t.Fatal(err)
	}
	ex, err := x2.Wait(t.Context(), arn)
	if err != nil || ex.Status != sfn.StatusSucceeded || string(ex.Output) != `{"q":"ok?","answer":"yes"}` {
		t.Fatalf("after the restart: %+v %v", ex, err)
	}
}

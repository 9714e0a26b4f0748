package sfn_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/imagerec/imagerec/internal/asl"
	"github.com/imagerec/imagerec/internal/sfn"
)

// namedError is a task error with a Step Functions error name, like a
// Lambda errorType.
type namedError struct{ name, msg string }

func (e *namedError) Error() string     { return e.msg }
func (e *namedError) ErrorName() string { return e.name }

// flaky fails with err the first n calls, then echoes its input.
type flaky struct {
	n     int32
	err   error
	calls atomic.Int32
}

func (f *flaky) Invoke(_ context.Context, in json.RawMessage) (json.RawMessage, error) {
	if f.calls.Add(1) <= f.n {
		return nil, f.err
	}
	return in, nil
}

const taskARN = "arn:aws:lambda:us-east-1:123456789012:function:work"

func taskDef(retry, catch string) string {
	s := `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"` + taskARN + `"`
	if retry != "" {
		s += `,"Retry":` + retry
	}
	if catch == "" {
		return s + `,"End":true}}}`
	}
	return s + `,"Catch":` + catch + `,"End":true},"Caught":{"Type":"Pass","End":true}}}`
}

func run(t *testing.T, def string, reg *sfn.Registry, clock sfn.Clock, input string) sfn.Execution {
	t.Helper()
	if clock == nil {
		clock = sfn.NewFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	}
	x, err := sfn.New([]byte(def), reg, sfn.Options{Clock: clock})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { x.Close() })
	ex, err := x.RunSync(t.Context(), "e1", json.RawMessage(input))
	if err != nil {
		t.Fatalf("RunSync: %v", err)
	}
	return ex
}

func TestRetryAndCatch(t *testing.T) {
	t.Parallel()
	sec := time.Second
	tests := []struct {
		name       string
		retry      string
		catch      string
		fails      int32
		err        error
		wantStatus string
		wantError  string
		wantOutput string
		wantCalls  int32
		wantSleeps []time.Duration
	}{
		{name: "no retry fails", fails: 1, err: &namedError{"Boom", "it broke"},
			wantStatus: "FAILED", wantError: "Boom", wantCalls: 1},
		{name: "backoff then success", retry: `[{"ErrorEquals":["Boom"],"IntervalSeconds":1,"BackoffRate":2,"MaxAttempts":3}]`,
			fails: 3, err: &namedError{"Boom", "x"}, wantStatus: "SUCCEEDED", wantOutput: `{"a":1}`, wantCalls: 4,
			wantSleeps: []time.Duration{1 * sec, 2 * sec, 4 * sec}},
		{name: "defaults are 1s, x2, 3 attempts", retry: `[{"ErrorEquals":["States.ALL"]}]`,
			fails: 10, err: errors.New("plain"), wantStatus: "FAILED", wantError: "States.TaskFailed", wantCalls: 4,
			wantSleeps: []time.Duration{1 * sec, 2 * sec, 4 * sec}},
		{name: "MaxAttempts 0 never retries", retry: `[{"ErrorEquals":["Boom"],"MaxAttempts":0}]`,
			fails: 1, err: &namedError{"Boom", "x"}, wantStatus: "FAILED", wantError: "Boom", wantCalls: 1},
		{name: "MaxDelaySeconds caps", retry: `[{"ErrorEquals":["Boom"],"IntervalSeconds":2,"BackoffRate":3,"MaxAttempts":4,"MaxDelaySeconds":10}]`,
			fails: 4, err: &namedError{"Boom", "x"}, wantStatus: "SUCCEEDED", wantOutput: `{"a":1}`, wantCalls: 5,
			wantSleeps: []time.Duration{2 * sec, 6 * sec, 10 * sec, 10 * sec}},
		{name: "non-matching retrier is skipped", retry: `[{"ErrorEquals":["Other"],"MaxAttempts":5},{"ErrorEquals":["Boom"],"IntervalSeconds":3,"MaxAttempts":1}]`,
			fails: 5, err: &namedError{"Boom", "x"}, wantStatus: "FAILED", wantError: "Boom", wantCalls: 2,
			wantSleeps: []time.Duration{3 * sec}},
		{name: "TaskFailed matches named errors", retry: `[{"ErrorEquals":["States.TaskFailed"],"MaxAttempts":1}]`,
			fails: 1, err: &namedError{"Boom", "x"}, wantStatus: "SUCCEEDED", wantOutput: `{"a":1}`, wantCalls: 2,
			wantSleeps: []time.Duration{1 * sec}},
		{name: "catch after retries with ResultPath", retry: `[{"ErrorEquals":["Boom"],"MaxAttempts":1}]`,
			catch: `[{"ErrorEquals":["Nope"],"Next":"Caught"},{"ErrorEquals":["States.ALL"],"ResultPath":"$.err","Next":"Caught"}]`,
			fails: 5, err: &namedError{"Boom", "it broke"}, wantStatus: "SUCCEEDED",
			wantOutput: `{"a":1,"err":{"Error":"Boom","Cause":"it broke"}}`, wantCalls: 2, wantSleeps: []time.Duration{1 * sec}},
		{name: "catch default ResultPath replaces input", catch: `[{"ErrorEquals":["Boom"],"Next":"Caught"}]`,
			fails: 1, err: &namedError{"Boom", "c"}, wantStatus: "SUCCEEDED", wantOutput: `{"Error":"Boom","Cause":"c"}`, wantCalls: 1},
		{name: "catch ResultPath null keeps input", catch: `[{"ErrorEquals":["Boom"],"ResultPath":null,"Next":"Caught"}]`,
			fails: 1, err: &namedError{"Boom", "c"}, wantStatus: "SUCCEEDED", wantOutput: `{"a":1}`, wantCalls: 1},
		{name: "wrapped named error keeps its name", catch: `[{"ErrorEquals":["Boom"],"Next":"Caught"}]`,
			fails: 1, err: fmt.Errorf("context: %w", &namedError{"Boom", "inner"}), wantStatus: "SUCCEEDED",
			wantOutput: `{"Error":"Boom","Cause":"context: inner"}`, wantCalls: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := &flaky{n: tc.fails, err: tc.err}
			reg := sfn.NewRegistry()
			reg.RegisterFunction("work", f)
			clock := sfn.NewFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
			ex := run(t, taskDef(tc.retry, tc.catch), reg, clock, `{"a":1}`)
			if ex.Status != tc.wantStatus || ex.Error != tc.wantError {
				t.Fatalf("status %s error %q (cause %q), want %s %q", ex.Status, ex.Error, ex.Cause, tc.wantStatus, tc.wantError)
			}
			if tc.wantOutput != "" {
				if diff := cmp.Diff(tc.wantOutput, string(ex.Output)); diff != "" {
					t.Errorf("output (-want +got):\n%s", diff)
				}
			}
			if got := f.calls.Load(); got != tc.wantCalls {
				t.Errorf("calls = %d, want %d", got, tc.wantCalls)
			}
			if diff := cmp.Diff(tc.wantSleeps, clock.Sleeps()); diff != "" {
				t.Errorf("sleeps (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRetryDelayJitter(t *testing.T) {
	t.Parallel()
	rt := asl.Retrier{IntervalSeconds: 2, BackoffRate: 2, MaxDelaySeconds: 5, JitterFull: true}
	tests := []struct {
		n    int
		rnd  float64
		want time.Duration
	}{
		{0, 0.5, time.Second},
		{1, 0.5, 2 * time.Second},
		{2, 0.5, 2500 * time.Millisecond}, // capped at 5s before jitter
		{2, 0, 0},
		{5, 0.999, 4995 * time.Millisecond},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("n=%d,r=%v", tc.n, tc.rnd), func(t *testing.T) {
			got := sfn.RetryDelay(rt, tc.n, func() float64 { return tc.rnd })
			if got != tc.want {
				t.Errorf("RetryDelay = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestUncatchableErrors(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("x", sfn.MaxPayloadBytes)
	reg := sfn.NewRegistry()
	reg.RegisterFunction("work", sfn.TaskFunc(func(context.Context, json.RawMessage) (json.RawMessage, error) {
		return json.Marshal(map[string]string{"big": big})
	}))
	catch := `[{"ErrorEquals":["States.ALL"],"Next":"Caught"}]`
	ex := run(t, taskDef("", catch), reg, nil, `{}`)
	if ex.Status != "FAILED" || ex.Error != asl.ErrNameDataLimitExceeded {
		t.Errorf("big result: %s %s, want FAILED States.DataLimitExceeded", ex.Status, ex.Error)
	}

	// A ResultSelector path that does not exist is States.Runtime, which
	// States.ALL does not catch.
	def := `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"` + taskARN + `","ResultSelector":{"x.$":"$.missing"},
	  "Catch":[{"ErrorEquals":["States.ALL"],"Next":"C"}],"End":true},"C":{"Type":"Pass","End":true}}}`
	reg2 := sfn.NewRegistry()
	reg2.RegisterFunction("work", &flaky{})
	ex = run(t, def, reg2, nil, `{}`)
	if ex.Status != "FAILED" || ex.Error != asl.ErrNameRuntime || !strings.Contains(ex.Cause, "'$.missing'") {
		t.Errorf("missing path: %s %s %q, want FAILED States.Runtime", ex.Status, ex.Error, ex.Cause)
	}
}

func TestTaskTimeout(t *testing.T) {
	t.Parallel()
	reg := sfn.NewRegistry()
	reg.Register("arn:aws:states:::local:block", sfn.TaskFunc(func(ctx context.Context, _ json.RawMessage) (json.RawMessage, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	}))
	def := `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::local:block","TimeoutSeconds":1,
	  "Catch":[{"ErrorEquals":["States.TaskFailed"],"Next":"Wrong"},{"ErrorEquals":["States.Timeout"],"Next":"Right"}],"End":true},
	  "Wrong":{"Type":"Pass","Result":"wrong","End":true},"Right":{"Type":"Pass","Result":"right","End":true}}}`
	clock := sfn.NewFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	go advanceOnceWaiting(clock, 1, time.Second)
	ex := run(t, def, reg, clock, `{}`)
	if string(ex.Output) != `"right"` {
		t.Errorf("output %s (status %s %s), want \"right\": States.TaskFailed must not match States.Timeout", ex.Output, ex.Status, ex.Error)
	}
}

func TestTaskResolution(t *testing.T) {
	t.Parallel()
	echo := sfn.TaskFunc(func(_ context.Context, in json.RawMessage) (json.RawMessage, error) {
		return json.RawMessage(`{"got":` + string(in) + `}`), nil
	})
	tests := []struct {
		name, task, wantOutput, wantError string
		wantEvents                        []string
	}{
		{name: "lambda invoke wraps Payload",
			task:       `"Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"arn:aws:lambda:eu-west-1:1:function:echo:live","Payload":{"k.$":"$.v"}},"ResultSelector":{"p.$":"$.Payload","s.$":"$.StatusCode"}`,
			wantOutput: `{"p":{"got":{"k":1}},"s":200}`,
			wantEvents: []string{"ExecutionStarted", "TaskStateEntered", "TaskScheduled", "TaskStarted", "TaskSucceeded", "TaskStateExited", "ExecutionSucceeded"}},
		{name: "plain function ARN",
			task:       `"Resource":"arn:aws:lambda:us-east-1:123456789012:function:echo"`,
			wantOutput: `{"got":{"v":1}}`,
			wantEvents: []string{"ExecutionStarted", "TaskStateEntered", "LambdaFunctionScheduled", "LambdaFunctionStarted", "LambdaFunctionSucceeded", "TaskStateExited", "ExecutionSucceeded"}},
		{name: "exact resource",
			task:       `"Resource":"arn:aws:states:::custom:echo"`,
			wantOutput: `{"got":{"v":1}}`,
			wantEvents: []string{"ExecutionStarted", "TaskStateEntered", "TaskScheduled", "TaskStarted", "TaskSucceeded", "TaskStateExited", "ExecutionSucceeded"}},
		{name: "unregistered resource",
			task:       `"Resource":"arn:aws:states:::sqs:sendMessage"`,
			wantError:  "States.TaskFailed",
			wantEvents: []string{"ExecutionStarted", "TaskStateEntered", "TaskScheduled", "TaskFailed", "ExecutionFailed"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			reg := sfn.NewRegistry()
			reg.RegisterFunction("echo", echo)
			reg.Register("arn:aws:states:::custom:echo", echo)
			def := `{"StartAt":"T","States":{"T":{"Type":"Task",` + tc.task + `,"End":true}}}`
			x, err := sfn.New([]byte(def), reg, sfn.Options{Clock: sfn.NewFakeClock(time.Unix(0, 0))})
			if err != nil {
				t.Fatal(err)
			}
			defer x.Close()
			ex, err := x.RunSync(t.Context(), "n", json.RawMessage(`{"v":1}`))
			if err != nil {
				t.Fatal(err)
			}
			if ex.Error != tc.wantError || (tc.wantOutput != "" && string(ex.Output) != tc.wantOutput) {
				t.Errorf("got %s %s %q output %s, want error %q output %s", ex.Status, ex.Error, ex.Cause, ex.Output, tc.wantError, tc.wantOutput)
			}
			if tc.wantError != "" && !strings.Contains(ex.Cause, "no local task") {
				t.Errorf("cause %q does not explain the missing task", ex.Cause)
			}
			events, err := x.History(t.Context(), ex.ExecutionArn)
			if err != nil {
				t.Fatal(err)
			}
			var types []string
			for _, e := range events {
				types = append(types, e.Type)
			}
			if diff := cmp.Diff(tc.wantEvents, types); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMapConcurrencyAndTolerance(t *testing.T) {
	t.Parallel()
	var cur, peak atomic.Int32
	reg := sfn.NewRegistry()
	reg.RegisterFunction("work", sfn.TaskFunc(func(_ context.Context, in json.RawMessage) (json.RawMessage, error) {
		n := cur.Add(1)
		defer cur.Add(-1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(5 * time.Millisecond)
		if strings.Contains(string(in), "bad") {
			return nil, &namedError{"Bad", "bad item"}
		}
		return in, nil
	}))
	mapDef := func(extra string) string {
		return `{"StartAt":"M","States":{"M":{"Type":"Map","ItemsPath":"$.items",` + extra + `"ItemProcessor":{"StartAt":"W","States":{"W":{"Type":"Task","Resource":"` + taskARN + `","End":true}}},"End":true}}}`
	}
	ex := run(t, mapDef(`"MaxConcurrency":2,`), reg, nil, `{"items":[1,2,3,4,5,6,7,8]}`)
	if ex.Status != "SUCCEEDED" || string(ex.Output) != `[1,2,3,4,5,6,7,8]` {
		t.Fatalf("map: %s %s %s", ex.Status, ex.Error, ex.Output)
	}
	if p := peak.Load(); p > 2 || p < 1 {
		t.Errorf("peak concurrency %d, want 1..2", p)
	}
	tests := []struct {
		extra, items, status, err string
	}{
		{``, `["ok","bad","ok"]`, "FAILED", "Bad"},
		{`"ToleratedFailureCount":1,`, `["ok","bad","ok"]`, "SUCCEEDED", ""},
		{`"ToleratedFailureCount":1,`, `["bad","bad","ok"]`, "FAILED", "States.ExceedToleratedFailureThreshold"},
		{`"ToleratedFailurePercentage":50,`, `["bad","ok","ok","ok"]`, "SUCCEEDED", ""},
		{`"ToleratedFailurePercentage":20,`, `["bad","ok","ok","ok"]`, "FAILED", "States.ExceedToleratedFailureThreshold"},
	}
	for _, tc := range tests {
		t.Run(tc.extra+tc.items, func(t *testing.T) {
			ex := run(t, mapDef(tc.extra), reg, nil, `{"items":`+tc.items+`}`)
			if ex.Status != tc.status || ex.Error != tc.err {
				t.Errorf("got %s %s (%s), want %s %s", ex.Status, ex.Error, ex.Cause, tc.status, tc.err)
			}
		})
	}
}

func TestParallelBranchFailure(t *testing.T) {
	t.Parallel()
	def := `{"StartAt":"P","States":{"P":{"Type":"Parallel","Branches":[
	  {"StartAt":"A","States":{"A":{"Type":"Wait","Seconds":5,"End":true}}},
	  {"StartAt":"B","States":{"B":{"Type":"Fail","Error":"BranchBroke","Cause":"b"}}}],
	  "Catch":[{"ErrorEquals":["BranchBroke"],"ResultPath":"$.e","Next":"Done"}],"End":true},"Done":{"Type":"Succeed"}}}`
	ex := run(t, def, nil, nil, `{"in":true}`)
	if string(ex.Output) != `{"in":true,"e":{"Error":"BranchBroke","Cause":"b"}}` {
		t.Errorf("output %s (%s %s)", ex.Output, ex.Status, ex.Error)
	}
}

func TestWaitUsesClock(t *testing.T) {
	t.Parallel()
	clock := sfn.NewFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	def := `{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":3600,"Next":"U"},"U":{"Type":"Wait","Timestamp":"2026-01-01T02:00:00Z","End":true}}}`
	ex := run(t, def, nil, clock, `{}`)
	if ex.Status != "SUCCEEDED" {
		t.Fatalf("status %s", ex.Status)
	}
	if diff := cmp.Diff([]time.Duration{time.Hour, time.Hour}, clock.Sleeps()); diff != "" {
		t.Errorf("sleeps (-want +got):\n%s", diff)
	}
}

func TestStartNamesAndDurableRecovery(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	store, err := sfn.NewDirStore(dir, sfn.DirOptions{})
	if err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	var calls atomic.Int32
	var once sync.Once
	reg := sfn.NewRegistry()
	reg.RegisterFunction("work", sfn.TaskFunc(func(ctx context.Context, in json.RawMessage) (json.RawMessage, error) {
		if calls.Add(1) == 1 {
			select { // first process: block until it is closed
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-release:
			}
		}
		return in, nil
	}))
	def := []byte(taskDef("", ""))
	x1, err := sfn.New(def, reg, sfn.Options{Store: store})
	if err != nil {
		t.Fatal(err)
	}
	arn, err := x1.Start(t.Context(), "job-1", json.RawMessage(`{"k":1}`))
	if err != nil {
		t.Fatal(err)
	}
	again, err := x1.Start(t.Context(), "job-1", json.RawMessage(` { "k" : 1 } `))
	if err != nil || again != arn {
		t.Errorf("same name, same input: %q, %v; want %q", again, err, arn)
	}
	if _, err := x1.Start(t.Context(), "job-1", json.RawMessage(`{"k":2}`)); !errors.Is(err, sfn.ErrExecutionAlreadyExists) {
		t.Errorf("same name, other input: %v, want ErrExecutionAlreadyExists", err)
	}
	for calls.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	x1.Close() // the "crash": the execution stays RUNNING on disk
	once.Do(func() { close(release) })

	store2, _ := sfn.NewDirStore(dir, sfn.DirOptions{})
	x2, err := sfn.New(def, reg, sfn.Options{Store: store2})
	if err != nil {
		t.Fatal(err)
	}
	defer x2.Close()
	list, err := x2.List(t.Context())
	if err != nil || len(list) != 1 || list[0].Status != sfn.StatusRunning {
		t.Fatalf("after restart: %+v, %v; want one RUNNING execution", list, err)
	}
	arns, err := x2.Recover(t.Context())
	if err != nil || len(arns) != 1 || arns[0] != arn {
		t.Fatalf("Recover = %v, %v", arns, err)
	}
	ex, err := x2.Wait(t.Context(), arn)
	if err != nil || ex.Status != sfn.StatusSucceeded || string(ex.Output) != `{"k":1}` {
		t.Fatalf("recovered execution: %+v, %v", ex, err)
	}
	hist, err := x2.History(t.Context(), arn)
	if err != nil || len(hist) == 0 || hist[len(hist)-1].Type != "ExecutionSucceeded" {
		t.Errorf("history %v, %v", hist, err)
	}
	// A third process sees the finished record.
	store3, _ := sfn.NewDirStore(dir, sfn.DirOptions{})
	rec, err := store3.Get(arn)
	if err != nil || rec.Execution.Status != sfn.StatusSucceeded {
		t.Errorf("stored record %+v, %v", rec, err)
	}
}

func TestCheckpointWhileRunning(t *testing.T) {
	t.Parallel()
	store, err := sfn.NewDirStore(t.TempDir(), sfn.DirOptions{})
	if err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	// Checkpoints are at most a second apart on the executor's clock: the
	// slow task takes 1.1 s of it.
	clock := sfn.NewFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	reg := sfn.NewRegistry()
	reg.Register("arn:aws:states:::local:slow", sfn.TaskFunc(func(ctx context.Context, _ json.RawMessage) (json.RawMessage, error) {
		if err := clock.Sleep(ctx, 1100*time.Millisecond); err != nil {
			return nil, err
		}
		return json.RawMessage(`{}`), nil
	}))
	reg.Register("arn:aws:states:::local:hold", sfn.TaskFunc(func(ctx context.Context, _ json.RawMessage) (json.RawMessage, error) {
		select {
		case <-release:
		case <-ctx.Done():
		}
		return json.RawMessage(`{}`), nil
	}))
	def := `{"StartAt":"Slow","States":{"Slow":{"Type":"Task","Resource":"arn:aws:states:::local:slow","Next":"Hold"},
	  "Hold":{"Type":"Task","Resource":"arn:aws:states:::local:hold","End":true}}}`
	x, err := sfn.New([]byte(def), reg, sfn.Options{Store: store, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	arn, err := x.Start(t.Context(), "cp", nil)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		rec, err := store.Get(arn)
		if err == nil && len(rec.History) > 0 && rec.History[len(rec.History)-1].Type == "TaskStateExited" {
			if rec.Execution.Status != sfn.StatusRunning {
				t.Errorf("checkpoint status %s, want RUNNING", rec.Execution.Status)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no checkpoint with the first state's exit: %+v %v", rec, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	close(release)
	if ex, err := x.Wait(t.Context(), arn); err != nil || ex.Status != sfn.StatusSucceeded {
		t.Errorf("Wait = %+v, %v", ex, err)
	}
}

func TestExecutionTimeout(t *testing.T) {
	t.Parallel()
	reg := sfn.NewRegistry()
	reg.Register("arn:aws:states:::local:block", sfn.TaskFunc(func(ctx context.Context, _ json.RawMessage) (json.RawMessage, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	}))
	def := `{"TimeoutSeconds":1,"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::local:block",
	  "Catch":[{"ErrorEquals":["States.ALL"],"Next":"Never"}],"End":true},"Never":{"Type":"Succeed"}}}`
	clock := sfn.NewFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	// The execution's deadline and the task's (none declared: 99999999 s).
	go advanceOnceWaiting(clock, 2, time.Second)
	ex := run(t, def, reg, clock, `{}`)
	if ex.Status != sfn.StatusTimedOut || ex.Error != asl.ErrNameTimeout {
		t.Errorf("got %s %s, want TIMED_OUT States.Timeout", ex.Status, ex.Error)
	}
}

// advanceOnceWaiting advances clock by d once n timers are pending: the
// code under test has set the deadlines it waits for.
func advanceOnceWaiting(clock *sfn.FakeClock, n int, d time.Duration) {
	for clock.Timers() < n {
		time.Sleep(time.Millisecond)
	}
	clock.Advance(d)
}

func TestJSONataTask(t *testing.T) {
	t.Parallel()
	reg := sfn.NewRegistry()
	reg.RegisterFunction("double", sfn.TaskFunc(func(_ context.Context, in json.RawMessage) (json.RawMessage, error) {
		var v struct{ N float64 }
		if err := json.Unmarshal(in, &v); err != nil {
			return nil, err
		}
		if v.N < 0 {
			return nil, &namedError{"Negative", "n is negative"}
		}
		return json.Marshal(map[string]float64{"N": v.N * 2})
	}))
	def := `{"QueryLanguage":"JSONata","StartAt":"T","States":{
	  "T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke",
	    "Arguments":{"FunctionName":"double","Payload":{"N":"{% $states.input.n %}"}},
	    "Assign":{"doubled":"{% $states.result.Payload.N %}"},
	    "Output":{"result":"{% $states.result.Payload.N %}","input":"{% $states.input %}"},
	    "Catch":[{"ErrorEquals":["Negative"],"Assign":{"why":"{% $states.errorOutput.Cause %}"},"Output":"{% $states.errorOutput %}","Next":"Why"}],
	    "Next":"Use"},
	  "Use":{"Type":"Pass","Output":"{% $doubled + 1 %}","End":true},
	  "Why":{"Type":"Pass","Output":{"why":"{% $why %}","error":"{% $states.input.Error %}"},"End":true}}}`
	ex := run(t, def, reg, nil, `{"n":20}`)
	if ex.Status != "SUCCEEDED" || string(ex.Output) != `41` {
		t.Errorf("success path: %s %s %s %s", ex.Status, ex.Error, ex.Cause, ex.Output)
	}
	ex = run(t, def, reg, nil, `{"n":-1}`)
	if ex.Status != "SUCCEEDED" || string(ex.Output) != `{"why":"n is negative","error":"Negative"}` {
		t.Errorf("catch path: %s %s %s %s", ex.Status, ex.Error, ex.Cause, ex.Output)
	}
}

// TestCloseGrace: Close lets a running execution finish within the grace
// (so its side effects are not repeated by a re-run after the restart),
// refuses new starts meanwhile, and cancels what is still running after
// it, leaving that RUNNING for Recover.
func TestCloseGrace(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		grace      time.Duration
		taskTime   time.Duration
		wantStatus string
		wantRuns   int32
	}{
		{"finishes within the grace", 5 * time.Second, 300 * time.Millisecond, sfn.StatusSucceeded, 1},
		{"no grace", 0, 300 * time.Millisecond, sfn.StatusRunning, 1},
		{"longer than the grace", 100 * time.Millisecond, 5 * time.Second, sfn.StatusRunning, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			store := sfn.NewMemStore()
			var runs atomic.Int32
			started := make(chan struct{}, 1)
			reg := sfn.NewRegistry()
			reg.RegisterFunction("work", sfn.TaskFunc(func(ctx context.Context, in json.RawMessage) (json.RawMessage, error) {
				if string(in) != `{}` {
					return in, nil // the start tried while closing
				}
				runs.Add(1)
				started <- struct{}{}
				select {
				case <-time.After(tc.taskTime): // a side effect that takes a while
					return in, nil
				case <-ctx.Done():
					return nil, ctx.Err()
				}
			}))
			x, err := sfn.New([]byte(taskDef("", "")), reg, sfn.Options{Store: store, CloseGrace: tc.grace})
			if err != nil {
				t.Fatal(err)
			}
			arn, err := x.Start(t.Context(), "job", json.RawMessage(`{}`))
			if err != nil {
				t.Fatal(err)
			}
			<-started
			closed := make(chan struct{})
			go func() {
				_ = x.Close()
				close(closed)
			}()
			// Close has begun: new executions are refused.
			for {
				_, err := x.Start(t.Context(), "other", json.RawMessage(`{"other":1}`))
				if errors.Is(err, sfn.ErrExecutorClosed) {
					break
				}
				time.Sleep(time.Millisecond)
			}
			<-closed
			rec, err := store.Get(arn)
			if err != nil || rec.Execution.Status != tc.wantStatus || runs.Load() != tc.wantRuns {
				t.Errorf("after Close: %v, %d runs, %v; want %s, %d", rec.Execution.Status, runs.Load(), err, tc.wantStatus, tc.wantRuns)
			}
		})
	}
}

// TestRerun: a finished execution runs again from its input under its
// name; an unknown one is ErrExecutionDoesNotExist.
func TestRerun(t *testing.T) {
	t.Parallel()
	var runs atomic.Int32
	reg := sfn.NewRegistry()
	reg.RegisterFunction("work", sfn.TaskFunc(func(_ context.Context, in json.RawMessage) (json.RawMessage, error) {
		runs.Add(1)
		return in, nil
	}))
	x, err := sfn.New([]byte(taskDef("", "")), reg, sfn.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	arn, _ := x.Start(t.Context(), "job", json.RawMessage(`{"k":1}`))
	if ex, _ := x.Wait(t.Context(), arn); ex.Status != sfn.StatusSucceeded {
		t.Fatalf("first run %s", ex.Status)
	}
	again, err := x.Rerun(t.Context(), "job")
	if err != nil || again != arn {
		t.Fatalf("Rerun = %q, %v", again, err)
	}
	if ex, _ := x.Wait(t.Context(), arn); ex.Status != sfn.StatusSucceeded || string(ex.Output) != `{"k":1}` || runs.Load() != 2 {
		t.Errorf("re-run: %+v, %d runs", ex, runs.Load())
	}
	if _, err := x.Rerun(t.Context(), "nope"); !errors.Is(err, sfn.ErrExecutionDoesNotExist) {
		t.Errorf("Rerun of an unknown execution: %v", err)
	}
}

// TestOnEvent checks that OnEvent sees every history event, in order, as
// History reports them, with the execution's ARN.
func TestOnEvent(t *testing.T) {
	t.Parallel()
	reg := sfn.NewRegistry()
	reg.Register(taskARN, &flaky{})
	def := taskDef("", "")
	var mu sync.Mutex
	var seen []string
	x, err := sfn.New([]byte(def), reg, sfn.Options{OnEvent: func(arn string, e sfn.Event) {
		mu.Lock()
		defer mu.Unlock()
		name, _ := e.Details["name"].(string)
		seen = append(seen, fmt.Sprintf("%s %d %s %s", arn[strings.LastIndex(arn, ":")+1:], e.ID, e.Type, name))
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { x.Close() })
	arn, err := x.Start(t.Context(), "ev1", json.RawMessage(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	if ex, err := x.Wait(t.Context(), arn); err != nil || ex.Status != sfn.StatusSucceeded {
		t.Fatalf("wait: %+v %v", ex, err)
	}
	hist, err := x.History(t.Context(), arn)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, e := range hist {
		name, _ := e.Details["name"].(string)
		want = append(want, fmt.Sprintf("ev1 %d %s %s", e.ID, e.Type, name))
	}
	mu.Lock()
	defer mu.Unlock()
	if diff := cmp.Diff(want, seen); diff != "" {
		t.Errorf("OnEvent saw (-history +seen):\n%s", diff)
	}
	if len(seen) < 6 || !strings.Contains(seen[1], "TaskStateEntered T") {
		t.Errorf("seen = %v", seen)
	}
}

// TestRecoverGoesOnAtCheckpoint: an execution a stop left RUNNING goes on
// at the last top-level state it checkpointed, with its history and
// variables; the states before it do not run again.
func TestRecoverGoesOnAtCheckpoint(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	clock := sfn.NewFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	var firstCalls atomic.Int32
	blocked := make(chan struct{}, 1)
	reg := sfn.NewRegistry()
	reg.Register("arn:aws:states:::local:first", sfn.TaskFunc(func(ctx context.Context, _ json.RawMessage) (json.RawMessage, error) {
		firstCalls.Add(1)
		// 1.1 s of the executor's clock: the next state is checkpointed.
		return json.RawMessage(`{"n":1}`), clock.Sleep(ctx, 1100*time.Millisecond)
	}))
	var release atomic.Bool
	reg.Register("arn:aws:states:::local:second", sfn.TaskFunc(func(ctx context.Context, in json.RawMessage) (json.RawMessage, error) {
		if release.Load() {
			return in, nil
		}
		blocked <- struct{}{}
		<-ctx.Done()
		return nil, ctx.Err()
	}))
	def := []byte(`{"StartAt":"First","States":{
	  "First":{"Type":"Task","Resource":"arn:aws:states:::local:first","Assign":{"v.$":"$.n"},"Next":"Second"},
	  "Second":{"Type":"Task","Resource":"arn:aws:states:::local:second","Parameters":{"v.$":"$v"},"End":true}}}`)
	store, _ := sfn.NewDirStore(dir, sfn.DirOptions{})
	x1, err := sfn.New(def, reg, sfn.Options{Store: store, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	arn, err := x1.Start(t.Context(), "e", nil)
	if err != nil {
		t.Fatal(err)
	}
	<-blocked
	_ = x1.Close() // the stop, in the second state
	release.Store(true)
	store2, _ := sfn.NewDirStore(dir, sfn.DirOptions{})
	x2, err := sfn.New(def, reg, sfn.Options{Store: store2, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	defer x2.Close()
	if _, err := x2.Recover(t.Context()); err != nil {
		t.Fatal(err)
	}
	ex, err := x2.Wait(t.Context(), arn)
	if err != nil || ex.Status != sfn.StatusSucceeded || string(ex.Output) != `{"v":1}` {
		t.Fatalf("recovered: %+v %v", ex, err)
	}
	if n := firstCalls.Load(); n != 1 {
		t.Errorf("the first state ran %d times", n)
	}
	hist, _ := x2.History(t.Context(), arn)
	if hist[0].Type != "ExecutionStarted" || hist[len(hist)-1].Type != "ExecutionSucceeded" {
		t.Errorf("history %v", hist)
	}
}

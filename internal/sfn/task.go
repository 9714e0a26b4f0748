package sfn

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/imagerec/imagerec/internal/asl"
)

// TaskErrorName returns the Step Functions error name of a task error:
// the ErrorName() of the first error in the chain that has one, else
// States.TaskFailed (States.Timeout for a deadline).
func TaskErrorName(err error) string {
	var named interface{ ErrorName() string }
	if errors.As(err, &named) && named.ErrorName() != "" {
		return named.ErrorName()
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return asl.ErrNameTimeout
	}
	return asl.ErrNameTaskFailed
}

// task runs a Task state's body: the arguments and time limits from the
// evaluator, then the invocation.
func (r *runner) task(ctx context.Context, s *step, input any) (any, *asl.Error) {
	cb := callbackTask{}
	if strings.HasSuffix(s.st.Resource, WaitForTaskToken) {
		cb.key = callbackKey(s)
		cb.token = taskToken(r.arn, cb.key)
		t := asl.NewObject(1)
		t.Set("Token", cb.token)
		s.ctxObj.Set("Task", t)
	}
	params, err := s.ev.arguments(s, input)
	if err != nil {
		return nil, s.fail(err)
	}
	lim, err := s.ev.taskLimits(s, input)
	if err != nil {
		return nil, s.fail(err)
	}
	return r.invoke(ctx, s.st, params, lim, cb)
}

// callbackTask is a .waitForTaskToken task's token and key (none for
// other tasks).
type callbackTask struct{ key, token string }

// invoke calls the task behind st.Resource with params, recording the
// Step Functions task (or Lambda) events.
func (r *runner) invoke(ctx context.Context, st *asl.State, params any, lim taskLimits, cb callbackTask) (any, *asl.Error) {
	timeout := lim.timeout
	declared := timeout
	if timeout == 0 {
		timeout = 99999999
	}
	fnName := ""
	if o, ok := params.(*asl.Object); ok {
		fnName, _ = o.Val("FunctionName").(string)
	}
	resource := strings.TrimSuffix(st.Resource, WaitForTaskToken)
	t, kind, rerr := r.reg.resolve(resource, fnName)
	payload := params
	if o, ok := params.(*asl.Object); ok && kind == kindLambdaInvoke {
		payload = o.Val("Payload")
	}
	ev := newTaskEvents(r, st.Resource, kind == kindLambdaARN)
	ev.scheduled(params, declared, lim.heartbeat, cb.key != "")
	if rerr != nil {
		return nil, ev.failed(&asl.Error{Name: asl.ErrNameTaskFailed, Cause: rerr.Error()})
	}
	ev.started()
	tctx, cancel := withDeadline(ctx, r.clock, time.Duration(timeout)*time.Second)
	defer cancel()
	outRaw, err := t.Invoke(tctx, asl.Marshal(payload))
	timedOut := errors.Is(cause(tctx), context.DeadlineExceeded) && ctx.Err() == nil
	switch {
	case ctx.Err() != nil && err != nil:
		// Stopped: a task that finished anyway is recorded below (its
		// side effects happened), one that failed is not blamed.
		return nil, ctxError(cause(ctx))
	case timedOut:
		return nil, ev.timedOut(&asl.Error{Name: asl.ErrNameTimeout, Cause: fmt.Sprintf("Task timed out after %d seconds", timeout)})
	case err != nil:
		return nil, ev.failed(&asl.Error{Name: TaskErrorName(err), Cause: err.Error()})
	}
	var result any
	if len(outRaw) > 0 {
		v, derr := asl.Decode(outRaw)
		if derr != nil {
			return nil, ev.failed(&asl.Error{Name: asl.ErrNameTaskFailed, Cause: fmt.Sprintf("the task returned invalid JSON: %v", derr)})
		}
		result = v
	}
	if kind == kindLambdaInvoke {
		result = lambdaEnvelope(result)
	}
	if cb.key != "" {
		ev.submitted(result)
		return r.awaitCallback(ctx, tctx, cb.key, lim.heartbeat, ev)
	}
	ev.succeeded(result)
	return result, nil
}

// lambdaEnvelope wraps a function's result the way
// arn:aws:states:::lambda:invoke returns it.
func lambdaEnvelope(payload any) *asl.Object {
	env := asl.NewObject(5)
	env.Set("ExecutedVersion", "$LATEST")
	env.Set("Payload", payload)
	env.Set("SdkHttpMetadata", asl.NewObject(0))
	env.Set("SdkResponseMetadata", asl.NewObject(0))
	env.Set("StatusCode", json.Number("200"))
	return env
}

// taskEvents records a task's history events: TaskScheduled... for
// service integrations, LambdaFunctionScheduled... for Lambda ARNs.
type taskEvents struct {
	r       *runner
	lambda  bool
	full    string // the resource as written
	resType string
	res     string
}

func newTaskEvents(r *runner, resource string, lambda bool) taskEvents {
	typ, res := resourceParts(resource)
	return taskEvents{r: r, lambda: lambda, full: resource, resType: typ, res: res}
}

func (e taskEvents) base() map[string]any {
	return map[string]any{"resourceType": e.resType, "resource": e.res}
}

func (e taskEvents) scheduled(params any, timeout, heartbeat int64, callback bool) {
	var d map[string]any
	typ := "TaskScheduled"
	if e.lambda {
		typ = "LambdaFunctionScheduled"
		d = map[string]any{"resource": e.full, "input": lazyJSON{params}, "inputDetails": map[string]any{"truncated": false}}
	} else {
		d = e.base()
		d["region"] = regionOf(e.r.arn)
		d["parameters"] = lazyJSON{params}
	}
	if timeout > 0 {
		d["timeoutInSeconds"] = timeout
	}
	if heartbeat > 0 && callback {
		d["heartbeatInSeconds"] = heartbeat
	}
	e.r.hist.add(-1, typ, d)
}

func (e taskEvents) started() {
	if e.lambda {
		e.r.hist.add(-1, "LambdaFunctionStarted", nil)
		return
	}
	e.r.hist.add(-1, "TaskStarted", e.base())
}

func (e taskEvents) end(task, lambda string, d map[string]any) {
	if e.lambda {
		e.r.hist.add(-1, lambda, d)
		return
	}
	for k, v := range e.base() {
		d[k] = v
	}
	e.r.hist.add(-1, task, d)
}

func (e taskEvents) failed(err *asl.Error) *asl.Error {
	e.end("TaskFailed", "LambdaFunctionFailed", map[string]any{"error": err.Name, "cause": err.Cause})
	return err
}

func (e taskEvents) timedOut(err *asl.Error) *asl.Error {
	e.end("TaskTimedOut", "LambdaFunctionTimedOut", map[string]any{"error": err.Name, "cause": err.Cause})
	return err
}

// submitted records that a callback task's request went out (its
// response), before it waits for the token.
func (e taskEvents) submitted(result any) {
	e.end("TaskSubmitted", "TaskSubmitted", map[string]any{"output": lazyJSON{result}, "outputDetails": map[string]any{"truncated": false}})
}

func (e taskEvents) succeeded(result any) {
	e.end("TaskSucceeded", "LambdaFunctionSucceeded", map[string]any{"output": lazyJSON{result}, "outputDetails": map[string]any{"truncated": false}})
}

// resourceParts splits arn:aws:states:::lambda:invoke into ("lambda",
// "invoke"); other resources are ("", resource).
func resourceParts(resource string) (string, string) {
	if rest, ok := strings.CutPrefix(resource, "arn:aws:states:::"); ok {
		if typ, res, ok := strings.Cut(rest, ":"); ok {
			return typ, res
		}
	}
	return "", resource
}

func regionOf(arn string) string {
	parts := strings.Split(arn, ":")
	if len(parts) > 3 {
		return parts[3]
	}
	return ""
}

package sfn

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/imagerec/imagerec/internal/asl"
)

// Callback tasks (.waitForTaskToken): the task behind the base resource
// gets $$.Task.Token in its input and returns at once; the state then
// waits for SendTaskSuccess, SendTaskFailure or its deadlines
// (TimeoutSeconds, HeartbeatSeconds renewed by SendTaskHeartbeat).
//
// Tokens are deterministic: the execution ARN and the task's key (its
// path in the execution, how often it was entered, the retry attempt), so
// a re-run after a restart hands the same token to the same task. Every
// outcome is written into the execution's record before the API call
// that brought it returns, and replayed by such a re-run: a token
// answered before a crash is not waited for again.

// WaitForTaskToken is the suffix of callback task resources.
const WaitForTaskToken = ".waitForTaskToken"

// CallbackOutcome is what became of one task token.
type CallbackOutcome struct {
	// Status is SUCCEEDED, FAILED, TIMED_OUT or HEARTBEAT_TIMED_OUT.
	Status string `json:"status"`
	Output string `json:"output,omitempty"`
	Error  string `json:"error,omitempty"`
	Cause  string `json:"cause,omitempty"`
	// Consumed: the task has finished with this outcome; the token is
	// closed.
	Consumed bool `json:"consumed,omitempty"`
}

// callbacks holds an execution's task tokens.
type callbacks struct {
	mu       sync.Mutex
	outcomes map[string]*CallbackOutcome
	waiting  map[string]*waiter
	// persist writes the execution's record (with the outcomes).
	persist func() error
}

// waiter is a task waiting for its token. Its heartbeat timer is reset
// under callbacks.mu by SendTaskHeartbeat, before that call returns.
type waiter struct {
	done    chan struct{}
	expired chan struct{}
	clock   Clock
	every   time.Duration
	stop    func() bool
}

// reset restarts the heartbeat timer; callbacks.mu must be held.
func (w *waiter) reset() {
	if w.every <= 0 {
		return
	}
	if w.stop != nil {
		w.stop()
	}
	w.stop = w.clock.AfterFunc(w.every, func() {
		select {
		case w.expired <- struct{}{}:
		default:
		}
	})
}

func newCallbacks(stored map[string]*CallbackOutcome, persist func() error) *callbacks {
	c := &callbacks{outcomes: map[string]*CallbackOutcome{}, waiting: map[string]*waiter{}, persist: persist}
	for k, v := range stored {
		o := *v
		c.outcomes[k] = &o
	}
	return c
}

func (c *callbacks) snapshot() map[string]*CallbackOutcome {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.outcomes) == 0 {
		return nil
	}
	out := make(map[string]*CallbackOutcome, len(c.outcomes))
	for k, v := range c.outcomes {
		o := *v
		out[k] = &o
	}
	return out
}

// taskToken is the token of key in execution arn.
func taskToken(arn, key string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(arn + "\n" + key))
}

// parseToken returns the execution ARN and key of a token.
func parseToken(token string) (arn, key string, err error) {
	b, derr := base64.RawURLEncoding.DecodeString(token)
	arn, key, ok := strings.Cut(string(b), "\n")
	if derr != nil || !ok || !strings.HasPrefix(arn, "arn:aws:states:") || !strings.Contains(arn, ":execution:") || key == "" {
		return "", "", fmt.Errorf("%w: Invalid Token: '%s'", ErrInvalidToken, token)
	}
	return arn, key, nil
}

// callbackKey names one task attempt in an execution.
func callbackKey(s *step) string {
	return fmt.Sprintf("%s/%s#%d.%d", s.f.path, s.st.Name, s.occurrence, s.attempt)
}

// awaitCallback waits for the outcome of key, within the task's deadline
// (ctx) and heartbeat, and records the task's end event.
func (r *runner) awaitCallback(ctx, tctx context.Context, key string, heartbeat int64, ev taskEvents) (any, *asl.Error) {
	c := r.callbacks
	c.mu.Lock()
	if o, ok := c.outcomes[key]; ok && o.Consumed {
		// Replayed after a restart: the task ended like this before.
		c.mu.Unlock()
		return r.callbackResult(ev, o)
	}
	w := &waiter{done: make(chan struct{}), expired: make(chan struct{}, 1), clock: r.clock, every: time.Duration(heartbeat) * time.Second}
	c.waiting[key] = w
	_, answered := c.outcomes[key]
	w.reset()
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.waiting, key)
		if w.stop != nil {
			w.stop()
		}
		c.mu.Unlock()
	}()
	if answered {
		close(w.done)
	}
	select {
	case <-w.done:
		c.mu.Lock()
		o := c.outcomes[key]
		o.Consumed = true
		c.mu.Unlock()
		return r.callbackResult(ev, o)
	case <-w.expired:
		return r.closeCallback(key, &CallbackOutcome{Status: "HEARTBEAT_TIMED_OUT", Error: asl.ErrNameHeartbeatTimeout}, ev)
	case <-tctx.Done():
		if ctx.Err() == nil && errors.Is(cause(tctx), context.DeadlineExceeded) {
			return r.closeCallback(key, &CallbackOutcome{Status: "TIMED_OUT", Error: asl.ErrNameTimeout}, ev)
		}
		return nil, ctxError(cause(tctx))
	}
}

// closeCallback records a timeout as the token's outcome.
func (r *runner) closeCallback(key string, o *CallbackOutcome, ev taskEvents) (any, *asl.Error) {
	c := r.callbacks
	c.mu.Lock()
	if prev, ok := c.outcomes[key]; ok && !prev.Consumed {
		// An answer came in at the same moment: it wins.
		o = prev
	}
	o.Consumed = true
	c.outcomes[key] = o
	c.mu.Unlock()
	_ = c.persist()
	return r.callbackResult(ev, o)
}

// callbackResult turns an outcome into the task's result or error, with
// its history event.
func (r *runner) callbackResult(ev taskEvents, o *CallbackOutcome) (any, *asl.Error) {
	switch o.Status {
	case "SUCCEEDED":
		v, err := asl.Decode([]byte(o.Output))
		if err != nil {
			return nil, ev.failed(&asl.Error{Name: asl.ErrNameRuntime, Cause: "the task output is not JSON: " + err.Error()})
		}
		ev.succeeded(v)
		return v, nil
	case "FAILED":
		return nil, ev.failed(&asl.Error{Name: o.Error, Cause: o.Cause})
	case "HEARTBEAT_TIMED_OUT":
		return nil, ev.timedOut(&asl.Error{Name: asl.ErrNameHeartbeatTimeout, Cause: o.Cause})
	}
	return nil, ev.timedOut(&asl.Error{Name: asl.ErrNameTimeout, Cause: o.Cause})
}

// SendTaskResult delivers SendTaskSuccess (o.Status SUCCEEDED, Output) or
// SendTaskFailure (FAILED, Error, Cause) for a token. It returns once the
// outcome is stored.
func (s *Service) SendTaskResult(ctx context.Context, token string, o CallbackOutcome) error {
	arn, key, err := parseToken(token)
	if err != nil {
		return err
	}
	if o.Status == "SUCCEEDED" {
		if !json.Valid([]byte(o.Output)) {
			return fmt.Errorf("%w: the output is not valid JSON", ErrInvalidOutput)
		}
		if len(o.Output) > MaxPayloadBytes {
			return fmt.Errorf("%w: the output is %d bytes, over the %d byte limit", ErrInvalidOutput, len(o.Output), MaxPayloadBytes)
		}
	}
	x, err := s.ExecutionExecutor(arn)
	if err != nil {
		return fmt.Errorf("%w: Task Does Not Exist: the token names execution '%s'", ErrTaskDoesNotExist, arn)
	}
	return x.sendTaskResult(ctx, arn, key, &o)
}

// SendTaskHeartbeat renews a callback task's HeartbeatSeconds.
func (s *Service) SendTaskHeartbeat(ctx context.Context, token string) error {
	arn, key, err := parseToken(token)
	if err != nil {
		return err
	}
	x, err := s.ExecutionExecutor(arn)
	if err != nil {
		return fmt.Errorf("%w: Task Does Not Exist: the token names execution '%s'", ErrTaskDoesNotExist, arn)
	}
	return x.sendTaskResult(ctx, arn, key, nil)
}

// sendTaskResult delivers o (nil: a heartbeat) to a running execution.
func (x *Executor) sendTaskResult(_ context.Context, arn, key string, o *CallbackOutcome) error {
	x.mu.Lock()
	a, ok := x.running[arn]
	x.mu.Unlock()
	if !ok {
		if _, err := x.Describe(context.Background(), arn); err != nil {
			return fmt.Errorf("%w: Task Does Not Exist: no execution '%s'", ErrTaskDoesNotExist, arn)
		}
		return fmt.Errorf("%w: Task Timed Out: '%s' (the execution has ended)", ErrTaskTimedOut, arn)
	}
	c := a.callbacks
	c.mu.Lock()
	if prev, ok := c.outcomes[key]; ok && (prev.Consumed || o != nil) {
		c.mu.Unlock()
		return fmt.Errorf("%w: Task Timed Out: the task of this token has already ended", ErrTaskTimedOut)
	}
	w := c.waiting[key]
	if o == nil {
		defer c.mu.Unlock()
		if w == nil {
			return fmt.Errorf("%w: Task Timed Out: no task is waiting for this token", ErrTaskTimedOut)
		}
		w.reset()
		return nil
	}
	stored := *o
	c.outcomes[key] = &stored
	c.mu.Unlock()
	if err := c.persist(); err != nil {
		c.mu.Lock()
		delete(c.outcomes, key)
		c.mu.Unlock()
		return fmt.Errorf("store task result: %w", err)
	}
	if w != nil {
		close(w.done)
	}
	return nil
}

package sfn

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/imagerec/imagerec/internal/asl"
)

// evaluator is one query language's half of running a state: everything
// that reads or shapes data. The interpreter (interp.go) owns the other
// half, the same for both languages: state dispatch, Retry and Catch, Map
// and Parallel, Wait, Task invocation, history events, timeouts and the
// payload limit. jsonPathEval (jsonpath.go) and jsonataEval (jsonata.go)
// implement it; a state's QueryLanguage picks one.
//
// Each method reads the state, its raw input, its context object and its
// variables from s. The errors returned are data-flow errors, which the
// interpreter prefixes with the state's name and entered event.
type evaluator interface {
	// input is the state's effective input: InputPath applied (JSONPath),
	// or the raw input (JSONata).
	input(s *step) (any, *asl.Error)
	// arguments is what a Task sends, what a Parallel's branches start
	// with, and a Pass state's result: Parameters (or a Pass's Result), or
	// Arguments. Without them it is input.
	arguments(s *step, input any) (any, *asl.Error)
	// selectResult shapes a Task, Parallel or Map result before it is
	// checked against the payload limit: ResultSelector (JSONPath).
	selectResult(s *step, result any) (any, *asl.Error)
	// output makes the state's output from its result (for states with
	// none, the input) and evaluates the variables it assigns: Assign,
	// ResultPath and OutputPath; or Assign and Output.
	output(s *step, result any) (any, assignment, *asl.Error)
	// caught does the same for catcher c, given the error output
	// {"Error","Cause"}.
	caught(s *step, c *asl.Catcher, errOut *asl.Object) (any, assignment, *asl.Error)
	// choose returns the first Choice rule that matches, or nil.
	choose(s *step, input any) (*asl.ChoiceRule, *asl.Error)
	// failure is the error a Fail state fails with.
	failure(s *step) (*asl.Error, *asl.Error)
	// wait is how long a Wait state waits.
	wait(s *step, input any) (wake, *asl.Error)
	// taskLimits are a Task state's time limits.
	taskLimits(s *step, input any) (taskLimits, *asl.Error)
	// mapPlan is what a Map state iterates over, and how.
	mapPlan(s *step, input any) (mapPlan, *asl.Error)
}

// step is one state being run.
type step struct {
	st        *asl.State
	ev        evaluator
	f         *frame
	raw       any         // the state's input as it arrived
	ctxObj    *asl.Object // the context object of the current attempt
	entered   time.Time
	enteredID int64
	// occurrence counts this state's entries at its path (from 1);
	// attempt is the retry attempt (from 0).
	occurrence int
	attempt    int
	// rule is the Choice rule taken (nil: none, or the Default); its
	// Assign and Output replace the state's.
	rule *asl.ChoiceRule
}

// fail prefixes a data-flow error with the state, as Step Functions does.
func (s *step) fail(e *asl.Error) *asl.Error { return stateError(s.st, s.enteredID, e) }

// assignment is the variables a state sets. The interpreter sets them once
// the state's output is known, so Output and OutputPath see the old values.
type assignment struct {
	names  []string
	values []any
}

func assignObject(o *asl.Object) assignment {
	a := assignment{names: o.Keys(), values: make([]any, o.Len())}
	for i, k := range a.names {
		a.values[i], _ = o.Get(k)
	}
	return a
}

func (a assignment) set(sc *scope) {
	for i, k := range a.names {
		sc.set(k, a.values[i])
	}
}

// wake is how long a Wait state waits: d, or until at when until is set.
type wake struct {
	d     time.Duration
	at    time.Time
	until bool
}

// taskLimits are a Task state's time limits, in seconds.
type taskLimits struct {
	// timeout is TimeoutSeconds as declared; 0: none.
	timeout int64
	// heartbeat is HeartbeatSeconds; 0: none. Only callback tasks
	// (.waitForTaskToken) can send heartbeats, so only they enforce it.
	heartbeat int64
}

// mapPlan is a Map state's iterations and their limits.
type mapPlan struct {
	// items are the iterations' $$.Map.Item.Value.
	items []any
	// selector, if set, makes an iteration's input (ItemSelector) from
	// the context object with $$.Map.Item set; without it the input is
	// the item.
	selector func(ctxObj *asl.Object) (any, *asl.Error)
	// concurrency is MaxConcurrency; 0 or over the inline limit: the
	// inline limit.
	concurrency int64
	// tolCount and tolPct are the tolerated failures; negative: not set.
	tolCount int64
	tolPct   float64
	// reader, batcher and writer are a Distributed Map's ItemReader (its
	// items replace items), ItemBatcher and ResultWriter; nil: none.
	reader  *readerPlan
	batcher *batchPlan
	writer  *writerPlan
}

// readerPlan is an ItemReader with its parameters evaluated.
type readerPlan struct {
	spec     *asl.ItemReader
	params   *asl.Object
	maxItems int64
}

// batchPlan is an ItemBatcher with its fields evaluated (0: no limit).
type batchPlan struct {
	maxItems, maxBytes int64
	input              any
	hasInput           bool
}

// writerPlan is where a ResultWriter writes.
type writerPlan struct {
	bucket, prefix string
}

// distributedPlan evaluates the Distributed Map fields with the
// language's evaluation functions: params for Parameters/Arguments
// objects, count for a literal-or-path integer, batchInput for
// BatchInput.
func distributedPlan(st *asl.State, p *mapPlan, params func(t *asl.Template, j *asl.JSONataValue, field string) (any, *asl.Error),
	count func(lit int64, ref *asl.Ref, field string) (int64, *asl.Error)) *asl.Error {
	if r := st.ItemReader; r != nil {
		v, err := params(r.Parameters, r.JArguments, "ItemReader")
		if err != nil {
			return err
		}
		o, ok := v.(*asl.Object)
		if !ok {
			return runtimeError("The ItemReader parameters must be an object, got %s", jsonText(v))
		}
		n, err := count(r.MaxItems, r.MaxItemsPath, "MaxItems")
		if err != nil {
			return err
		}
		p.reader = &readerPlan{spec: r, params: o, maxItems: n}
	}
	if b := st.ItemBatcher; b != nil {
		bp := &batchPlan{}
		var err *asl.Error
		if bp.maxItems, err = count(b.MaxItemsPerBatch, b.MaxItemsPerBatchPath, "MaxItemsPerBatch"); err != nil {
			return err
		}
		if bp.maxBytes, err = count(b.MaxInputBytesPerBatch, b.MaxInputBytesPerBatchPath, "MaxInputBytesPerBatch"); err != nil {
			return err
		}
		if bp.maxBytes > asl.MaxBatchBytes {
			return runtimeError("MaxInputBytesPerBatch must be at most %d, got %d", asl.MaxBatchBytes, bp.maxBytes)
		}
		if b.BatchInput != nil || b.JBatchInput != nil {
			v, err := params(b.BatchInput, b.JBatchInput, "BatchInput")
			if err != nil {
				return err
			}
			bp.input, bp.hasInput = v, true
		}
		p.batcher = bp
	}
	if w := st.ResultWriter; w != nil {
		v, err := params(w.Parameters, w.JArguments, "ResultWriter")
		if err != nil {
			return err
		}
		o, _ := v.(*asl.Object)
		bucket, _ := o.Val("Bucket").(string)
		prefix, _ := o.Val("Prefix").(string)
		if o == nil || bucket == "" {
			return runtimeError("The ResultWriter parameters must name a Bucket, got %s", jsonText(v))
		}
		p.writer = &writerPlan{bucket: bucket, prefix: prefix}
	}
	return nil
}

// itemInputs are the iterations' inputs: sel (nil: none) applied to each
// item, with the context object's Map.Item set.
func (s *step) itemInputs(items []any, sel func(ctxObj *asl.Object) (any, *asl.Error)) ([]any, *asl.Error) {
	if sel == nil {
		return items, nil
	}
	inputs := make([]any, len(items))
	for i, it := range items {
		ic := asl.Clone(s.ctxObj).(*asl.Object)
		ic.Set("Map", mapItemObject(i, it))
		v, err := sel(ic)
		if err != nil {
			return nil, err
		}
		inputs[i] = v
	}
	return inputs, nil
}

// failError is a Fail state's error. field returns the value given for
// "Error" or "Cause" by an expression or path, if any.
func failError(st *asl.State, field func(name string) (any, bool, *asl.Error)) (*asl.Error, *asl.Error) {
	e := &asl.Error{Name: st.Error, Cause: st.Cause, NoCause: !st.HasCause}
	for _, k := range []string{"Error", "Cause"} {
		v, ok, err := field(k)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		if k == "Error" {
			e.Name = plain(v)
		} else {
			e.Cause, e.NoCause = plain(v), false
		}
	}
	return e, nil
}

func jsonText(v any) string { return asl.MarshalString(v) }

// plain prints a value for messages: strings bare, others as JSON.
func plain(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	return jsonText(v)
}

// integerOf accepts integral JSON numbers (no fraction).
func integerOf(v any) (int64, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, false
	}
	if i, err := strconv.ParseInt(string(n), 10, 64); err == nil {
		return i, true
	}
	return 0, false
}

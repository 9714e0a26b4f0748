package sfn

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/imagerec/imagerec/internal/asl"
)

func (r *runner) parallel(ctx context.Context, st *asl.State, input any, f *frame, ctxObj *asl.Object, enteredID int64) (any, *asl.Error) {
	in := input
	if st.Parameters != nil {
		v, err := st.Parameters.Eval(f.env(input, ctxObj))
		if err != nil {
			return nil, stateError(st, enteredID, err)
		}
		in = v
	}
	return r.runBranches(ctx, st, in, f)
}

// runBranches runs the branches of a Parallel state concurrently; the
// first failure cancels the others and fails the state.
func (r *runner) runBranches(ctx context.Context, st *asl.State, in any, f *frame) (any, *asl.Error) {
	r.hist.add(-1, "ParallelStateStarted", nil)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	results := make([]any, len(st.Branches))
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr *asl.Error
	)
	for i, b := range st.Branches {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, err := r.runMachine(ctx, b, in, &frame{scope: newScope(f.scope)})
			if err != nil {
				mu.Lock()
				if firstErr == nil || firstErr == errCanceled {
					firstErr = err
				}
				mu.Unlock()
				cancel()
				return
			}
			results[i] = out
		}()
	}
	wg.Wait()
	if firstErr != nil {
		r.hist.add(-1, "ParallelStateFailed", map[string]any{"error": firstErr.Name, "cause": firstErr.Cause})
		return nil, firstErr
	}
	r.hist.add(-1, "ParallelStateSucceeded", nil)
	return results, nil
}

// defaultMapConcurrency bounds "unlimited" inline Map concurrency, as
// Step Functions runs at most 40 iterations at once for an inline Map.
const defaultMapConcurrency = 40

func runtimeError(format string, args ...any) *asl.Error {
	return &asl.Error{Name: asl.ErrNameRuntime, Cause: fmt.Sprintf(format, args...)}
}

// pathInt reads an integer for MaxConcurrencyPath and
// ToleratedFailureCountPath: a JSON integer or a string holding one.
func pathInt(field string, ref *asl.Ref, env *asl.Env) (int64, *asl.Error) {
	v, ok := ref.Eval(env)
	if !ok {
		return 0, runtimeError("The %s field refers to a value that does not exist: %s", field, ref)
	}
	switch t := v.(type) {
	case json.Number:
		if n, err := strconv.ParseInt(string(t), 10, 64); err == nil {
			return n, nil
		}
	case string:
		if n, err := strconv.ParseInt(strings.TrimSpace(t), 10, 64); err == nil {
			return n, nil
		}
	}
	return 0, runtimeError("The %s field refers to value \"%s\" which is not a valid integer: %s", field, plain(v), ref)
}

func pathFloat(field string, ref *asl.Ref, env *asl.Env) (float64, *asl.Error) {
	v, ok := ref.Eval(env)
	if !ok {
		return 0, runtimeError("The %s field refers to a value that does not exist: %s", field, ref)
	}
	switch t := v.(type) {
	case json.Number:
		if n, err := strconv.ParseFloat(string(t), 64); err == nil {
			return n, nil
		}
	case string:
		if n, err := strconv.ParseFloat(strings.TrimSpace(t), 64); err == nil {
			return n, nil
		}
	}
	return 0, runtimeError("The %s field refers to value \"%s\" which is not a valid float: %s", field, plain(v), ref)
}

func (r *runner) mapState(ctx context.Context, st *asl.State, input any, f *frame, ctxObj *asl.Object, enteredID int64) (any, *asl.Error) {
	env := f.env(input, ctxObj)
	fail := func(e *asl.Error) (any, *asl.Error) { return nil, stateError(st, enteredID, e) }
	items := input
	if st.ItemsPath != nil {
		v, err := st.ItemsPath.EvalPath(env)
		if err != nil {
			return fail(err)
		}
		items = v
	}
	arr, ok := items.([]any)
	if !ok {
		return fail(runtimeError("Item selector must reference a JSON array, got %s at %s", jsonText(items), itemsPathText(st)))
	}
	concurrency := st.MaxConcurrency
	if st.MaxConcurrencyPath != nil {
		n, err := pathInt("MaxConcurrencyPath", st.MaxConcurrencyPath, env)
		if err != nil {
			return fail(err)
		}
		if n < 0 {
			return fail(runtimeError("MaxConcurrency cannot be negative."))
		}
		concurrency = n
	}
	tolCount, tolPct := int64(-1), float64(-1)
	if st.ToleratedFailureCountSet {
		tolCount = st.ToleratedFailureCount
	}
	if st.ToleratedFailurePercentageSet {
		tolPct = st.ToleratedFailurePercentage
	}
	if st.ToleratedFailureCountPath != nil {
		n, err := pathInt("ToleratedFailureCountPath", st.ToleratedFailureCountPath, env)
		if err != nil {
			return fail(err)
		}
		if n < 0 {
			return fail(runtimeError("ToleratedFailureCount cannot be negative."))
		}
		tolCount = n
	}
	if st.ToleratedFailurePercentagePath != nil {
		p, err := pathFloat("ToleratedFailurePercentagePath", st.ToleratedFailurePercentagePath, env)
		if err != nil {
			return fail(err)
		}
		if p < 0 || p > 100 {
			return fail(runtimeError("ToleratedFailurePercentage must be between 0 and 100."))
		}
		tolPct = p
	}
	// Item inputs.
	inputs := make([]any, len(arr))
	for i, it := range arr {
		if st.ItemSelector == nil {
			inputs[i] = it
			continue
		}
		ic := asl.Clone(ctxObj).(*asl.Object)
		itemObj := asl.NewObject(2)
		itemObj.Set("Index", json.Number(strconv.Itoa(i)))
		itemObj.Set("Value", it)
		m := asl.NewObject(1)
		m.Set("Item", itemObj)
		ic.Set("Map", m)
		v, err := st.ItemSelector.Eval(f.env(input, ic))
		if err != nil {
			return fail(err)
		}
		inputs[i] = v
	}

	return r.runIterations(ctx, st, arr, inputs, f, concurrency, tolCount, tolPct)
}

// runIterations runs the Map iterations, at most concurrency at once,
// failing the state when the failures exceed the tolerated count or
// percentage (negative: not set).
func (r *runner) runIterations(ctx context.Context, st *asl.State, arr, inputs []any, f *frame, concurrency, tolCount int64, tolPct float64) (any, *asl.Error) {
	if concurrency <= 0 || concurrency > defaultMapConcurrency {
		concurrency = defaultMapConcurrency
	}
	r.hist.add(-1, "MapStateStarted", map[string]any{"length": len(arr)})
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	results := make([]any, len(arr))
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr *asl.Error
		failures int64
	)
	tolerant := tolCount >= 0 || tolPct >= 0
	exceeded := func(n int64) bool {
		if !tolerant {
			return n > 0
		}
		over := tolCount >= 0 && n > tolCount
		if tolPct >= 0 && len(arr) > 0 && float64(n)*100/float64(len(arr)) > tolPct {
			over = true
		}
		return over
	}
	iterate := func(i int) {
		r.hist.add(-1, "MapIterationStarted", map[string]any{"name": st.Name, "index": i})
		out, err := r.runMachine(ctx, st.ItemProcessor, inputs[i], &frame{scope: newScope(f.scope), item: &mapItem{index: i, value: arr[i]}})
		if err != nil {
			if err == errCanceled {
				r.hist.add(-1, "MapIterationAborted", map[string]any{"name": st.Name, "index": i})
				return
			}
			r.hist.add(-1, "MapIterationFailed", map[string]any{"name": st.Name, "index": i})
			mu.Lock()
			failures++
			if exceeded(failures) && firstErr == nil {
				firstErr = err
				cancel()
			}
			mu.Unlock()
			results[i] = errorObject(err)
			return
		}
		r.hist.add(-1, "MapIterationSucceeded", map[string]any{"name": st.Name, "index": i})
		results[i] = out
	}
	// A pool of workers takes the items in order; none starts once the
	// Map has failed.
	var next atomic.Int64
	for range min(int(concurrency), len(arr)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= len(arr) {
					return
				}
				iterate(i)
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		e := firstErr
		if tolerant {
			e = &asl.Error{Name: asl.ErrNameExceedToleratedFailureThreshold, Cause: "The specified tolerated failure threshold was exceeded"}
		}
		r.hist.add(-1, "MapStateFailed", nil)
		return nil, e
	}
	if err := ctx.Err(); err != nil {
		return nil, ctxError(err)
	}
	r.hist.add(-1, "MapStateSucceeded", nil)
	return results, nil
}

func errorObject(e *asl.Error) *asl.Object {
	o := asl.NewObject(2)
	o.Set("Error", e.Name)
	if !e.NoCause {
		o.Set("Cause", e.Cause)
	}
	return o
}

func itemsPathText(st *asl.State) string {
	if st.ItemsPath == nil {
		return "$"
	}
	return st.ItemsPath.String()
}

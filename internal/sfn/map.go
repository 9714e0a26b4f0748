package sfn

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/imagerec/imagerec/internal/asl"
)

// defaultMapConcurrency bounds "unlimited" inline Map concurrency, as
// Step Functions runs at most 40 iterations at once for an inline Map.
const defaultMapConcurrency = 40

// mapState runs a Map state: the evaluator picks the items, their
// selector and the limits; the iterations run the item processor
// concurrently.
func (r *runner) mapState(ctx context.Context, s *step, input any) (any, *asl.Error) {
	p, err := s.ev.mapPlan(s, input)
	if err != nil {
		return nil, s.fail(err)
	}
	if p.reader != nil {
		items, err := r.readItems(ctx, p.reader)
		if err != nil {
			return nil, err
		}
		p.items = items
	}
	inputs, err := s.itemInputs(p.items, p.selector)
	if err != nil {
		return nil, s.fail(err)
	}
	var groups [][]int
	if p.batcher != nil {
		if groups, inputs, err = batch(inputs, p.batcher); err != nil {
			return nil, s.fail(err)
		}
	}
	if s.st.Distributed {
		return r.distributedMap(ctx, s, p, inputs, groups)
	}
	return r.runIterations(ctx, s.st, p, inputs, s.f)
}

// tolerant reports whether the Map tolerates failures.
func (p mapPlan) tolerant() bool { return p.tolCount >= 0 || p.tolPct >= 0 }

// exceeded reports whether the failed iterations fail the Map.
func (p mapPlan) exceeded(failed int64) bool {
	if !p.tolerant() {
		return failed > 0
	}
	n := len(p.items)
	return p.tolCount >= 0 && failed > p.tolCount ||
		p.tolPct >= 0 && n > 0 && float64(failed)*100/float64(n) > p.tolPct
}

// runIterations runs the Map iterations, at most p.concurrency at once,
// failing the state when the failures exceed the tolerated count or
// percentage.
func (r *runner) runIterations(ctx context.Context, st *asl.State, p mapPlan, inputs []any, f *frame) (any, *asl.Error) {
	concurrency, n := p.concurrency, len(p.items)
	if concurrency <= 0 || concurrency > defaultMapConcurrency {
		concurrency = defaultMapConcurrency
	}
	r.hist.add(-1, "MapStateStarted", map[string]any{"length": n})
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	results := make([]any, n)
	var (
		mu       sync.Mutex
		firstErr *asl.Error
		failures int64
	)
	iterate := func(i int) {
		r.hist.add(-1, "MapIterationStarted", map[string]any{"name": st.Name, "index": i})
		out, err := r.runMachine(ctx, st.ItemProcessor, inputs[i], &frame{scope: newScope(f.scope), item: &mapItem{index: i, value: p.items[i]}, path: fmt.Sprintf("%s/%s[%d]", f.path, st.Name, i)})
		if err != nil {
			if err == errCanceled {
				r.hist.add(-1, "MapIterationAborted", map[string]any{"name": st.Name, "index": i})
				return
			}
			r.hist.add(-1, "MapIterationFailed", map[string]any{"name": st.Name, "index": i})
			mu.Lock()
			failures++
			if p.exceeded(failures) && firstErr == nil {
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
	// None starts once the Map has failed.
	pool(ctx, n, int(concurrency), iterate)
	if firstErr != nil {
		e := firstErr
		if p.tolerant() {
			e = &asl.Error{Name: asl.ErrNameExceedToleratedFailureThreshold, Cause: "The specified tolerated failure threshold was exceeded"}
		}
		r.hist.add(-1, "MapStateFailed", nil)
		return nil, e
	}
	if err := cause(ctx); err != nil {
		return nil, ctxError(err)
	}
	r.hist.add(-1, "MapStateSucceeded", nil)
	return results, nil
}

// pool calls fn(0) to fn(n-1) in order on at most k goroutines, starting
// none once ctx is done, and waits for them.
func pool(ctx context.Context, n, k int, fn func(i int)) {
	var (
		wg   sync.WaitGroup
		next atomic.Int64
	)
	for range min(k, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				fn(i)
			}
		}()
	}
	wg.Wait()
}

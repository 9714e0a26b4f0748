package sfn

import (
	"context"
	"fmt"
	"sync"

	"github.com/imagerec/imagerec/internal/asl"
)

// parallel runs a Parallel state's branches concurrently on its arguments;
// the first failure cancels the others and fails the state.
func (r *runner) parallel(ctx context.Context, s *step, input any) (any, *asl.Error) {
	in, err := s.ev.arguments(s, input)
	if err != nil {
		return nil, s.fail(err)
	}
	st := s.st
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
			out, err := r.runMachine(ctx, b, in, &frame{scope: newScope(s.f.scope), path: fmt.Sprintf("%s/%s{%d}", s.f.path, st.Name, i)})
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

package membudget

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/dustin/go-humanize"
)

// ErrExceedsBudget is returned (wrapped in *ExceedsError) by Acquire for a
// request larger than the whole budget.
var ErrExceedsBudget = errors.New("request exceeds the whole memory budget")

// ExceedsError reports a request that can never be admitted.
type ExceedsError struct {
	Need, Size int64
}

func (e *ExceedsError) Error() string {
	return fmt.Sprintf("needs about %s; the whole memory budget is %s", humanize.IBytes(uint64(e.Need)), humanize.IBytes(uint64(e.Size)))
}

// Unwrap makes errors.Is(err, ErrExceedsBudget) true.
func (e *ExceedsError) Unwrap() error { return ErrExceedsBudget }

// Budget admits requests whose sizes add up to at most its size. The zero
// value is not usable; a nil *Budget admits everything.
type Budget struct {
	size int64

	mu      sync.Mutex
	inUse   int64
	peak    int64
	waiters list.List // of *waiter, in arrival order
}

type waiter struct {
	n     int64
	ready chan struct{} // closed when admitted
}

// New returns a budget of size bytes (at least 1).
func New(size int64) *Budget {
	return &Budget{size: max(size, 1)}
}

// Size is the budget in bytes (0 for a nil budget).
func (b *Budget) Size() int64 {
	if b == nil {
		return 0
	}
	return b.size
}

// Acquire waits until n bytes fit in the budget and returns the function
// that gives them back (call it exactly once). It fails with an
// *ExceedsError when n is larger than the whole budget, and with ctx's
// error when ctx ends first. A nil budget admits at once.
func (b *Budget) Acquire(ctx context.Context, n int64) (release func(), err error) {
	if b == nil {
		return func() {}, nil
	}
	n = max(n, 0)
	if n > b.size {
		return nil, &ExceedsError{Need: n, Size: b.size}
	}
	b.mu.Lock()
	if b.waiters.Len() == 0 && b.inUse+n <= b.size {
		b.admit(n)
		b.mu.Unlock()
		return b.releaser(n), nil
	}
	w := &waiter{n: n, ready: make(chan struct{})}
	elem := b.waiters.PushBack(w)
	b.mu.Unlock()
	select {
	case <-w.ready:
		return b.releaser(n), nil
	case <-ctx.Done():
		b.mu.Lock()
		select {
		case <-w.ready:
			// Admitted just as ctx ended: give it back.
			b.mu.Unlock()
			b.releaser(n)()
		default:
			head := b.waiters.Front() == elem
			b.waiters.Remove(elem)
			if head {
				b.wake() // the next one may fit now
			}
			b.mu.Unlock()
		}
		return nil, ctx.Err()
	}
}

func (b *Budget) admit(n int64) {
	b.inUse += n
	b.peak = max(b.peak, b.inUse)
}

func (b *Budget) releaser(n int64) func() {
	var once sync.Once
	return func() {
		once.Do(func() {
			b.mu.Lock()
			b.inUse -= n
			b.wake()
			b.mu.Unlock()
		})
	}
}

// wake admits waiters from the front while they fit. Called with mu held.
func (b *Budget) wake() {
	for e := b.waiters.Front(); e != nil; e = b.waiters.Front() {
		w := e.Value.(*waiter)
		if b.inUse+w.n > b.size {
			return
		}
		b.admit(w.n)
		b.waiters.Remove(e)
		close(w.ready)
	}
}

// Stats is a snapshot of a budget.
type Stats struct {
	// Size, InUse and Peak are in bytes; Peak is the most ever admitted at
	// once.
	Size, InUse, Peak int64
	// Waiting counts requests waiting to be admitted.
	Waiting int
}

// Stats returns the current state (zero for a nil budget).
func (b *Budget) Stats() Stats {
	if b == nil {
		return Stats{}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return Stats{Size: b.size, InUse: b.inUse, Peak: b.peak, Waiting: b.waiters.Len()}
}

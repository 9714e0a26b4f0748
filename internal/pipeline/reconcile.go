package pipeline

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/imagerec/imagerec/internal/s3event"
)

// Listed is one object of a bucket listing.
type Listed struct {
	Key          string
	ETag         string
	VersionID    string
	Size         int64
	LastModified time.Time
}

// Lister lists a bucket in key order (UTF-8 byte order), one page of at
// most max objects after startAfter at a time.
type Lister interface {
	List(ctx context.Context, bucket, startAfter string, max int) (page []Listed, more bool, err error)
}

// ExecutionState is what became of an upload's execution.
type ExecutionState int

// Execution states, as the reconciler sees them.
const (
	// StateNone: no execution and no queued event: the work was lost.
	StateNone ExecutionState = iota
	// StateQueued: an event is waiting in (or being taken from) the queue.
	StateQueued
	// StateRunning: the execution runs.
	StateRunning
	// StateFinished: the execution ended, yet the object has no document
	// (it was removed, or the execution ended without one).
	StateFinished
)

// Reconciler finds uploads that should have a document and have none,
// with nothing queued or running for them, and starts their work again:
// the safety net under the queue (a damaged or removed queue store loses
// events; reconciliation turns that into "no document missing").
//
// A pass walks the upload bucket and the result bucket side by side, a
// page at a time, in key order: memory stays bounded whatever the bucket
// size (the documents of a key sort after it, next to those of the keys
// it is a prefix of, so only those wait in a small heap), and the pace is
// limited to PerSecond objects.
type Reconciler struct {
	// Objects lists both buckets and heads a document before acting.
	Objects interface {
		Lister
		Head(ctx context.Context, bucket, key string) (ObjectMeta, error)
	}
	// Trigger decides, as for a real event, which objects are processed.
	Trigger Trigger
	// Rules are the notification rules of the upload bucket (prefix and
	// suffix filters): only keys they select are processed.
	Rules        s3event.Rules
	UploadBucket string
	// Region goes into the re-made event records.
	Region string
	// State reports what became of the execution st would start.
	State func(ctx context.Context, st Start) (ExecutionState, error)
	// Requeue queues rec (a re-made ObjectCreated record) again: for
	// StateNone.
	Requeue func(ctx context.Context, rec s3event.Record, st Start) error
	// Rerun runs a finished execution again under its name: for
	// StateFinished.
	Rerun func(ctx context.Context, st Start) error
	// PageSize is the listing page (default 1000); PerSecond caps the
	// objects examined per second (default 2000).
	PageSize  int
	PerSecond int
	Logger    *slog.Logger
	// Sleep waits between pages (default: a context-aware timer).
	Sleep func(ctx context.Context, d time.Duration) error
}

// ReconcileReport sums up one pass.
type ReconcileReport struct {
	// Examined objects of the upload bucket that should be processed.
	Examined int
	// Documented had their document.
	Documented int
	// InFlight had an event queued or an execution running.
	InFlight int
	// Requeued and Rerun were started again.
	Requeued int
	Rerun    int
	// Skipped are newer than the pass's cutoff (their event may not be
	// queued yet) or refused by the trigger.
	Skipped int
	// Failed could not be checked or started; the next pass tries again.
	Failed int
}

func (r *Reconciler) logger() *slog.Logger {
	if r.Logger != nil {
		return r.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// Run makes one pass. Objects modified at or after before are left alone:
// their event may still be on its way (the caller passes the time the
// process started, or a minute ago, whichever is later).
func (r *Reconciler) Run(ctx context.Context, before time.Time) (ReconcileReport, error) {
	w := &walk{r: r, ctx: ctx, before: before, pending: map[int]*candidate{}}
	w.results = &cursor{ctx: ctx, lister: r.Objects, bucket: r.Trigger.ResultBucket, page: r.pageSize(), sleep: r.pace}
	uploads := &cursor{ctx: ctx, lister: r.Objects, bucket: r.UploadBucket, page: r.pageSize(), sleep: r.pace}
	for {
		o, ok, err := uploads.next()
		if err != nil {
			return w.rep, fmt.Errorf("list %s: %w", r.UploadBucket, err)
		}
		if !ok {
			break
		}
		// Every document name still waiting that sorts before this key
		// is final: later keys only make larger names.
		if err := w.flush(o.Key, true); err != nil {
			return w.rep, err
		}
		w.add(o)
	}
	if err := w.flush("", false); err != nil {
		return w.rep, err
	}
	return w.rep, nil
}

func (r *Reconciler) pageSize() int {
	if r.PageSize > 0 {
		return r.PageSize
	}
	return 1000
}

// pace waits as long as n objects take at PerSecond.
func (r *Reconciler) pace(ctx context.Context, n int) error {
	per := r.PerSecond
	if per <= 0 {
		per = 2000
	}
	d := time.Duration(n) * time.Second / time.Duration(per)
	if r.Sleep != nil {
		return r.Sleep(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// cursor reads a bucket one object at a time, a page at a time.
type cursor struct {
	ctx    context.Context
	lister Lister
	bucket string
	page   int
	sleep  func(ctx context.Context, n int) error

	buf   []Listed
	after string
	more  bool
	read  bool
}

func (c *cursor) next() (Listed, bool, error) {
	o, ok, err := c.peek()
	if ok {
		c.buf = c.buf[1:]
	}
	return o, ok, err
}

// peek returns the current object without consuming it, reading the next
// page when the current one is used up.
func (c *cursor) peek() (Listed, bool, error) {
	for len(c.buf) == 0 {
		if c.read && !c.more {
			return Listed{}, false, nil
		}
		if c.read {
			if err := c.sleep(c.ctx, c.page); err != nil {
				return Listed{}, false, err
			}
		}
		page, more, err := c.lister.List(c.ctx, c.bucket, c.after, c.page)
		if err != nil {
			return Listed{}, false, err
		}
		c.read, c.more, c.buf = true, more && len(page) > 0, page
		if len(page) > 0 {
			c.after = page[len(page)-1].Key
		}
	}
	return c.buf[0], true, nil
}

// candidate is an upload waiting for its two document names to be looked
// up in the result listing.
type candidate struct {
	obj     Listed
	start   Start
	rec     s3event.Record
	waiting int
	found   bool
}

// docName is one document name to look up, for candidate id.
type docName struct {
	name string
	id   int
}

type nameHeap []docName

func (h nameHeap) Len() int           { return len(h) }
func (h nameHeap) Less(i, j int) bool { return h[i].name < h[j].name }
func (h nameHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *nameHeap) Push(x any)        { *h = append(*h, x.(docName)) }
func (h *nameHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

type walk struct {
	r       *Reconciler
	ctx     context.Context
	before  time.Time
	results *cursor
	names   nameHeap
	pending map[int]*candidate
	nextID  int
	rep     ReconcileReport
}

// add takes one upload: skipped, or waiting for its documents.
func (w *walk) add(o Listed) {
	r := w.r
	if len(r.Rules.Match(r.UploadBucket, o.Key, s3event.ObjectCreatedPut)) == 0 {
		return
	}
	rec := s3event.NewRecord(s3event.ObjectParams{
		EventName: s3event.ObjectCreatedPut, Region: r.Region, Time: o.LastModified,
		ConfigurationID: "imagerec-reconcile", Bucket: r.UploadBucket, Key: o.Key,
		Size: o.Size, ETag: o.ETag, VersionID: o.VersionID,
	})
	st, ok, _, err := r.Trigger.Plan(rec)
	if err != nil || !ok {
		if err != nil {
			w.rep.Examined++
			w.rep.Skipped++
		}
		return
	}
	w.rep.Examined++
	if !o.LastModified.Before(w.before) {
		w.rep.Skipped++
		return
	}
	id := w.nextID
	w.nextID++
	w.pending[id] = &candidate{obj: o, start: st, rec: rec, waiting: 2}
	heap.Push(&w.names, docName{o.Key + ErrorSuffix, id})
	heap.Push(&w.names, docName{o.Key + ResultSuffix, id})
}

// flush looks up every waiting name below limit (all of them when bounded
// is false) in the result listing, in order.
func (w *walk) flush(limit string, bounded bool) error {
	for w.names.Len() > 0 && (!bounded || w.names[0].name < limit) {
		n := heap.Pop(&w.names).(docName)
		found, err := w.lookup(n.name)
		if err != nil {
			return fmt.Errorf("list %s: %w", w.r.Trigger.ResultBucket, err)
		}
		c := w.pending[n.id]
		c.found = c.found || found
		if c.waiting--; c.waiting == 0 {
			delete(w.pending, n.id)
			if err := w.settle(c); err != nil {
				return err
			}
		}
	}
	return nil
}

// lookup advances the result cursor to name and reports whether it is
// there. Names come in order (equal names may repeat: "a.error" + ".json"
// is "a" + ".error.json"), so the cursor only moves forward.
func (w *walk) lookup(name string) (bool, error) {
	for {
		o, ok, err := w.results.peek()
		if err != nil || !ok {
			return false, err
		}
		if o.Key >= name {
			return o.Key == name, nil
		}
		w.results.buf = w.results.buf[1:]
	}
}

// settle acts on an upload whose documents were looked up.
func (w *walk) settle(c *candidate) error {
	if c.found {
		w.rep.Documented++
		return nil
	}
	r, ctx := w.r, w.ctx
	log := r.logger().With("component", "reconcile", "bucket", r.UploadBucket, "key", c.obj.Key, "execution", c.start.Name)
	state, err := r.State(ctx, c.start)
	if err != nil {
		w.rep.Failed++
		log.WarnContext(ctx, "reconcile: execution state unknown", "err", err)
		return nil
	}
	if state == StateQueued || state == StateRunning {
		w.rep.InFlight++
		return nil
	}
	// The listing is a moment old: a document written meanwhile counts.
	for _, suffix := range []string{ResultSuffix, ErrorSuffix} {
		if _, err := r.Objects.Head(ctx, r.Trigger.ResultBucket, c.obj.Key+suffix); err == nil {
			w.rep.Documented++
			return nil
		} else if !errors.Is(err, ErrNotFound) {
			w.rep.Failed++
			log.WarnContext(ctx, "reconcile: document check failed", "err", err)
			return nil
		}
	}
	switch state {
	case StateFinished:
		if err := r.Rerun(ctx, c.start); err != nil {
			w.rep.Failed++
			log.ErrorContext(ctx, "reconcile: re-run failed", "err", err)
			return nil
		}
		w.rep.Rerun++
		log.WarnContext(ctx, "reconcile: the execution finished but the upload has no document; running it again")
	default:
		if err := r.Requeue(ctx, c.rec, c.start); err != nil {
			w.rep.Failed++
			log.ErrorContext(ctx, "reconcile: re-queue failed", "err", err)
			return nil
		}
		w.rep.Requeued++
		log.WarnContext(ctx, "reconcile: upload had no document and nothing queued or running; queued again")
	}
	return ctx.Err()
}

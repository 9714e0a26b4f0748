package ui

import (
	"context"
	"io"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/imagerec/imagerec/internal/gallery"
)

// Status is the server's health as the console and /healthz show it.
type Status struct {
	// Degraded is set while something found damaged needs an operator's
	// look: Problems says what, one line each.
	Degraded bool     `json:"degraded"`
	Problems []string `json:"problems"`
	// QuarantinedExecutions counts unreadable execution files moved aside.
	QuarantinedExecutions int `json:"quarantinedExecutions"`
	// Reconciled counts uploads queued again because they had no document
	// and nothing pending (since the server started).
	Reconciled int64 `json:"reconciled"`
}

// stats counts what the pipeline did recently, for the health panel.
type stats struct {
	now     func() time.Time
	mu      sync.Mutex
	uploads []time.Time // the last minute's
	images  []time.Time
	errors  map[string]int
	// soon and decay are the pending health publications.
	soon, decay *time.Timer
}

func newStats(now func() time.Time) *stats { return &stats{now: now, errors: map[string]int{}} }

func trim(ts []time.Time, now time.Time) []time.Time {
	i := sort.Search(len(ts), func(i int) bool { return now.Sub(ts[i]) < time.Minute })
	return ts[i:]
}

func (s *stats) upload(t time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.uploads = append(trim(s.uploads, t), t)
}

func (s *stats) image(t time.Time, errCode string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.images = append(trim(s.images, t), t)
	if errCode != "" {
		s.errors[errCode]++
	}
}

// Health is the health panel's data.
type Health struct {
	Status
	// UploadsPerMinute and ImagesPerMinute count the last 60 seconds'
	// uploads received and documents written.
	UploadsPerMinute int `json:"uploadsPerMinute"`
	ImagesPerMinute  int `json:"imagesPerMinute"`
	// QueueDepth is the events waiting or in work (-1: unknown).
	QueueDepth int `json:"queueDepth"`
	// Running counts executions in progress.
	Running int `json:"running"`
	// Errors counts error documents by code since the server started.
	Errors map[string]int `json:"errors"`
	// Results counts the gallery's items.
	Results  int  `json:"results"`
	Indexing bool `json:"indexing"`
}

func (h *Handler) currentStatus(ctx context.Context) Status {
	st := Status{}
	if h.cfg.Status != nil {
		st = h.cfg.Status(ctx)
	}
	if st.Problems == nil {
		st.Problems = []string{}
	}
	return st
}

func (h *Handler) healthNow(ctx context.Context) Health {
	now := h.cfg.Now()
	hl := Health{Status: h.currentStatus(ctx), QueueDepth: -1, Results: h.cfg.Gallery.Len(), Errors: map[string]int{}}
	if h.cfg.QueueDepth != nil {
		hl.QueueDepth = h.cfg.QueueDepth()
	}
	hl.Indexing = h.cfg.Indexing != nil && h.cfg.Indexing()
	hl.Running = h.execs.running()
	s := h.stats
	s.mu.Lock()
	s.uploads, s.images = trim(s.uploads, now), trim(s.images, now)
	hl.UploadsPerMinute, hl.ImagesPerMinute = len(s.uploads), len(s.images)
	for k, v := range s.errors {
		hl.Errors[k] = v
	}
	s.mu.Unlock()
	return hl
}

func (h *Handler) health(w http.ResponseWriter, r *http.Request, _ *session) {
	h.writeJSON(w, h.healthNow(r.Context()))
}

// healthChanged publishes the health panel soon (at most every two
// seconds), and once more when the last minute's counts have run out, so
// an idle page's rates fall to 0 without it asking.
func (h *Handler) healthChanged() {
	s := h.stats
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.soon != nil {
		return
	}
	s.soon = time.AfterFunc(2*time.Second, func() {
		h.hub.publish("health", h.healthNow(context.Background()))
		s.mu.Lock()
		defer s.mu.Unlock()
		s.soon = nil
		var last time.Time
		if n := len(s.uploads); n > 0 {
			last = s.uploads[n-1]
		}
		if n := len(s.images); n > 0 && s.images[n-1].After(last) {
			last = s.images[n-1]
		}
		if last.IsZero() {
			return
		}
		if s.decay != nil {
			s.decay.Stop()
		}
		s.decay = time.AfterFunc(max(last.Add(time.Minute+time.Second).Sub(s.now()), time.Second), func() {
			h.hub.publish("health", h.healthNow(context.Background()))
		})
	})
}

// Health is the plain-text health check: "ok", or "degraded" and one line
// per problem. Both are 200: the server works, something needs a look.
// Mount it behind Guard.
func (h *Handler) Health() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		st := h.currentStatus(r.Context())
		if !st.Degraded {
			_, _ = io.WriteString(w, "ok\n")
			return
		}
		_, _ = io.WriteString(w, "degraded\n")
		for _, p := range st.Problems {
			_, _ = io.WriteString(w, p+"\n")
		}
	})
}

// PublishUpload tells the open pages that an object was stored in the
// upload bucket.
func (h *Handler) PublishUpload(bucket, key, etag string) {
	h.stats.upload(h.cfg.Now())
	h.hub.publish("upload", map[string]string{"bucket": bucket, "key": key, "etag": etag})
	h.healthChanged()
}

// PublishDocument tells the open pages about a new document (the caller
// has put it in the gallery).
func (h *Handler) PublishDocument(it gallery.Item) {
	code := ""
	if it.Failed {
		code = it.Error
	}
	h.stats.image(h.cfg.Now(), code)
	h.hub.publish("document", it)
	h.healthChanged()
}

// PublishRemoved tells the open pages that an object's document is gone.
func (h *Handler) PublishRemoved(key string) {
	h.hub.publish("removed", map[string]string{"key": key})
}

// PublishExecution records a started or finished execution and tells the
// open pages.
func (h *Handler) PublishExecution(e Execution) {
	h.execs.put(e)
	e.Input, e.Output = nil, nil
	h.hub.publish("execution", e)
	h.healthChanged()
}

// stateEvent is a state entered or exited, for an execution's graph.
type stateEvent struct {
	Execution string    `json:"execution"`
	ID        int64     `json:"id"`
	Type      string    `json:"type"`
	State     string    `json:"state,omitempty"`
	Timestamp time.Time `json:"timestamp"`
}

// PublishState tells the open pages about a history event of a running
// execution (by name).
func (h *Handler) PublishState(execution string, id int64, typ, state string, ts time.Time) {
	h.hub.publish("state", stateEvent{Execution: execution, ID: id, Type: typ, State: state, Timestamp: ts})
}

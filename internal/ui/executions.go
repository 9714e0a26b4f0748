package ui

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/imagerec/imagerec/internal/gallery"
)

// Execution is one execution as the console shows it.
type Execution struct {
	ARN       string    `json:"executionArn"`
	Name      string    `json:"name"`
	Status    string    `json:"status"`
	StartDate time.Time `json:"startDate"`
	StopDate  time.Time `json:"stopDate,omitzero"`
	// Bucket and Key are the uploaded object it works on.
	Bucket string `json:"bucket,omitempty"`
	Key    string `json:"key,omitempty"`
	Error  string `json:"error,omitempty"`
	Cause  string `json:"cause,omitempty"`
	// Input and Output are set by Describe only.
	Input  json.RawMessage `json:"input,omitempty"`
	Output json.RawMessage `json:"output,omitempty"`
}

// Event is one history event, shaped like GetExecutionHistory's.
type Event struct {
	ID              int64           `json:"id"`
	PreviousEventID int64           `json:"previousEventId"`
	Type            string          `json:"type"`
	Timestamp       time.Time       `json:"timestamp"`
	Details         json.RawMessage `json:"details,omitempty"`
}

// Executions reads the executor's executions.
type Executions interface {
	// ListExecutions returns every execution, newest first, without
	// Input and Output.
	ListExecutions(ctx context.Context) ([]Execution, error)
	// Describe returns one execution by name; the error wraps
	// ErrNotFound when there is none.
	Describe(ctx context.Context, name string) (Execution, error)
	// History returns an execution's events by name.
	History(ctx context.Context, name string) ([]Event, error)
}

// execIndex is the executions list, read from the executor once and kept
// up to date by PublishExecution.
type execIndex struct {
	src    Executions
	mu     sync.Mutex
	loaded bool
	byARN  map[string]*Execution
	order  []*Execution // newest first
}

func newExecIndex(src Executions) *execIndex {
	return &execIndex{src: src, byARN: map[string]*Execution{}}
}

func (x *execIndex) sortLocked() {
	sort.Slice(x.order, func(i, j int) bool {
		a, b := x.order[i], x.order[j]
		if !a.StartDate.Equal(b.StartDate) {
			return a.StartDate.After(b.StartDate)
		}
		return a.ARN < b.ARN
	})
}

func (x *execIndex) load(ctx context.Context) error {
	x.mu.Lock()
	loaded := x.loaded
	x.mu.Unlock()
	if loaded || x.src == nil {
		return nil
	}
	all, err := x.src.ListExecutions(ctx)
	if err != nil {
		return err
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.loaded {
		return nil
	}
	for i := range all {
		if _, ok := x.byARN[all[i].ARN]; ok {
			continue // a live update is newer
		}
		e := all[i]
		e.Input, e.Output = nil, nil
		x.byARN[e.ARN] = &e
		x.order = append(x.order, &e)
	}
	x.sortLocked()
	x.loaded = true
	return nil
}

// put records a new or changed execution.
func (x *execIndex) put(e Execution) {
	e.Input, e.Output = nil, nil
	x.mu.Lock()
	defer x.mu.Unlock()
	if old, ok := x.byARN[e.ARN]; ok {
		*old = e
		return
	}
	p := &e
	x.byARN[e.ARN] = p
	x.order = append(x.order, p)
	x.sortLocked()
}

// execPage is the executions API's answer.
type execPage struct {
	Items []Execution `json:"items"`
	// Next is the offset of the next page, 0 on the last.
	Next   int            `json:"next,omitempty"`
	Total  int            `json:"total"`
	Counts map[string]int `json:"counts"`
}

func (x *execIndex) query(status string, offset, limit int) execPage {
	x.mu.Lock()
	defer x.mu.Unlock()
	p := execPage{Items: []Execution{}, Counts: map[string]int{}}
	for _, e := range x.order {
		p.Counts[e.Status]++
		if status != "" && e.Status != status {
			continue
		}
		p.Total++
		if p.Total <= offset {
			continue
		}
		if len(p.Items) < limit {
			p.Items = append(p.Items, *e)
		} else if p.Next == 0 {
			p.Next = offset + limit
		}
	}
	return p
}

func (x *execIndex) running() int {
	x.mu.Lock()
	defer x.mu.Unlock()
	n := 0
	for _, e := range x.order {
		if e.Status == "RUNNING" {
			n++
		}
	}
	return n
}

// executions lists executions: ?status=SUCCEEDED&offset=N&limit=N.
func (h *Handler) executions(w http.ResponseWriter, r *http.Request, _ *session) {
	if err := h.execs.load(r.Context()); err != nil {
		h.fail(w, r, err)
		return
	}
	q := r.URL.Query()
	status := q.Get("status")
	switch status {
	case "", "RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED":
	default:
		h.errorJSON(w, http.StatusBadRequest, "InvalidStatus", "status must be RUNNING, SUCCEEDED, FAILED, TIMED_OUT or ABORTED")
		return
	}
	offset, limit := 0, 100
	var err error
	if s := q.Get("offset"); s != "" {
		if offset, err = strconv.Atoi(s); err != nil || offset < 0 {
			h.errorJSON(w, http.StatusBadRequest, "InvalidOffset", "offset must be a number from 0")
			return
		}
	}
	if s := q.Get("limit"); s != "" {
		if limit, err = strconv.Atoi(s); err != nil || limit < 1 || limit > 500 {
			h.errorJSON(w, http.StatusBadRequest, "InvalidLimit", "limit must be 1-500")
			return
		}
	}
	h.writeJSON(w, h.execs.query(status, offset, limit))
}

// executionDetail is one execution with its history.
type executionDetail struct {
	Execution Execution `json:"execution"`
	Events    []Event   `json:"events"`
	// Item is the gallery item of its object, when it has a document.
	Item *gallery.Item `json:"item,omitempty"`
}

// execution describes ?name=N with its history.
func (h *Handler) execution(w http.ResponseWriter, r *http.Request, _ *session) {
	name := r.URL.Query().Get("name")
	if name == "" || h.cfg.Executions == nil {
		h.errorJSON(w, http.StatusBadRequest, "MissingName", "name is required")
		return
	}
	ex, err := h.cfg.Executions.Describe(r.Context(), name)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	events, err := h.cfg.Executions.History(r.Context(), name)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	d := executionDetail{Execution: ex, Events: events}
	if d.Events == nil {
		d.Events = []Event{}
	}
	if it, ok := h.cfg.Gallery.Get(ex.Key); ok && it.Execution == ex.Name {
		d.Item = &it
	}
	h.writeJSON(w, d)
}

func (h *Handler) stateMachine(w http.ResponseWriter, r *http.Request, _ *session) {
	if len(h.cfg.StateMachine) == 0 {
		h.fail(w, r, fmt.Errorf("state machine definition: %w", ErrNotFound))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "private, no-cache")
	_, _ = w.Write(h.cfg.StateMachine)
}

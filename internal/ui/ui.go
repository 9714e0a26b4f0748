// Package ui serves the web page that shows the pipeline at work: upload an
// image, watch its execution, see the result drawn over the image (boxes for
// labels, faces and text). It is a read-mostly view over small interfaces;
// uploads go from the browser straight to the S3 endpoint with a presigned
// URL, so they take exactly the path `aws s3 cp` takes and raise the same
// event.
//
// The page has no login: it is meant for the loopback address `imagerec
// serve` listens on by default.
package ui

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Execution is one execution as the page shows it.
type Execution struct {
	ARN       string    `json:"executionArn"`
	Name      string    `json:"name"`
	Status    string    `json:"status"`
	StartDate time.Time `json:"startDate"`
	StopDate  time.Time `json:"stopDate,omitzero"`
	Input     string    `json:"input,omitempty"`
	Output    string    `json:"output,omitempty"`
	Error     string    `json:"error,omitempty"`
	Cause     string    `json:"cause,omitempty"`
}

// Event is one history event.
type Event struct {
	ID        int64     `json:"id"`
	Type      string    `json:"type"`
	Timestamp time.Time `json:"timestamp"`
	Details   string    `json:"details,omitempty"`
}

// Executions lists and describes executions.
type Executions interface {
	ListExecutions(ctx context.Context, limit int) ([]Execution, error)
	History(ctx context.Context, arn string) ([]Event, error)
}

// Object is a stored object.
type Object struct {
	Key          string    `json:"key"`
	Size         int64     `json:"size"`
	LastModified time.Time `json:"lastModified"`
}

// Objects lists a bucket.
type Objects interface {
	List(ctx context.Context, bucket, prefix string, limit int) ([]Object, error)
}

// Presigner makes time-limited URLs to the S3 endpoint.
type Presigner interface {
	PresignGet(ctx context.Context, bucket, key string) (string, error)
	PresignPut(ctx context.Context, bucket, key, contentType string) (string, error)
}

// Status is the server's health as the page and /healthz show it.
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

// Config wires the handler.
type Config struct {
	// Status reports health; nil means always healthy.
	Status       func(ctx context.Context) Status
	Executions   Executions
	Objects      Objects
	Presigner    Presigner
	UploadBucket string
	ResultBucket string
	// Static holds index.html and its assets (package web).
	Static fs.FS
	Logger *slog.Logger
}

// Handler serves the page under a prefix stripped by the caller.
type Handler struct {
	cfg Config
	mux *http.ServeMux
}

// New returns the page's handler. Mount it with http.StripPrefix.
func New(cfg Config) *Handler {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	cfg.Logger = cfg.Logger.With("component", "ui")
	h := &Handler{cfg: cfg, mux: http.NewServeMux()}
	h.mux.Handle("GET /", http.FileServerFS(cfg.Static))
	h.mux.HandleFunc("GET /api/config", h.config)
	h.mux.HandleFunc("GET /api/results", h.results)
	h.mux.HandleFunc("GET /api/executions", h.executions)
	h.mux.HandleFunc("GET /api/history", h.history)
	h.mux.HandleFunc("GET /api/status", h.status)
	h.mux.HandleFunc("POST /api/upload-url", h.uploadURL)
	return h
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mux.ServeHTTP(w, r)
}

func (h *Handler) writeJSON(w http.ResponseWriter, r *http.Request, v any, err error) {
	if err != nil {
		h.cfg.Logger.ErrorContext(r.Context(), "ui request failed", "path", r.URL.Path, "err", err)
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(v)
}

func (h *Handler) config(w http.ResponseWriter, r *http.Request) {
	h.writeJSON(w, r, map[string]string{"uploadBucket": h.cfg.UploadBucket, "resultBucket": h.cfg.ResultBucket}, nil)
}

// resultItem pairs an uploaded image with its document.
type resultItem struct {
	Key          string    `json:"key"`
	Document     string    `json:"document"`
	Failed       bool      `json:"failed"`
	LastModified time.Time `json:"lastModified"`
	DocumentURL  string    `json:"documentUrl"`
	ImageURL     string    `json:"imageUrl"`
}

func limitParam(r *http.Request, def int) int {
	if n, err := strconv.Atoi(r.URL.Query().Get("limit")); err == nil && n > 0 && n <= 1000 {
		return n
	}
	return def
}

func (h *Handler) results(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	objs, err := h.cfg.Objects.List(ctx, h.cfg.ResultBucket, "", 1000)
	if err != nil {
		h.writeJSON(w, r, nil, err)
		return
	}
	sort.Slice(objs, func(i, j int) bool { return objs[i].LastModified.After(objs[j].LastModified) })
	items := []resultItem{}
	for _, o := range objs {
		if len(items) == limitParam(r, 48) {
			break
		}
		it := resultItem{Document: o.Key, LastModified: o.LastModified}
		switch {
		case strings.HasPrefix(o.Key, "_imagerec/"):
			continue
		case strings.HasSuffix(o.Key, ".error.json"):
			it.Key, it.Failed = strings.TrimSuffix(o.Key, ".error.json"), true
		case strings.HasSuffix(o.Key, ".json"):
			it.Key = strings.TrimSuffix(o.Key, ".json")
		default:
			continue
		}
		if it.DocumentURL, err = h.cfg.Presigner.PresignGet(ctx, h.cfg.ResultBucket, o.Key); err != nil {
			h.writeJSON(w, r, nil, err)
			return
		}
		if it.ImageURL, err = h.cfg.Presigner.PresignGet(ctx, h.cfg.UploadBucket, it.Key); err != nil {
			h.writeJSON(w, r, nil, err)
			return
		}
		items = append(items, it)
	}
	h.writeJSON(w, r, items, nil)
}

func (h *Handler) executions(w http.ResponseWriter, r *http.Request) {
	execs, err := h.cfg.Executions.ListExecutions(r.Context(), limitParam(r, 50))
	if execs == nil {
		execs = []Execution{}
	}
	h.writeJSON(w, r, execs, err)
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

func (h *Handler) status(w http.ResponseWriter, r *http.Request) {
	h.writeJSON(w, r, h.currentStatus(r.Context()), nil)
}

// Health is the plain-text health check: "ok", or "degraded" and one line
// per problem. Both are 200: the server works, something needs a look.
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

func (h *Handler) history(w http.ResponseWriter, r *http.Request) {
	arn := r.URL.Query().Get("arn")
	if arn == "" {
		http.Error(w, "missing arn", http.StatusBadRequest)
		return
	}
	events, err := h.cfg.Executions.History(r.Context(), arn)
	h.writeJSON(w, r, events, err)
}

func (h *Handler) uploadURL(w http.ResponseWriter, r *http.Request) {
	key := r.URL.Query().Get("key")
	if key == "" || len(key) > 1024 {
		h.writeJSON(w, r, nil, errors.New("key must be 1-1024 bytes"))
		return
	}
	url, err := h.cfg.Presigner.PresignPut(r.Context(), h.cfg.UploadBucket, key, r.URL.Query().Get("type"))
	h.writeJSON(w, r, map[string]string{"url": url}, err)
}

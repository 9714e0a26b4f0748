package ui

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/imagerec/imagerec/internal/gallery"
	"github.com/imagerec/imagerec/internal/thumbnail"
)

// Objects reads the buckets for the console.
type Objects interface {
	// Open streams an object; the error wraps ErrNotFound when it does
	// not exist.
	Open(ctx context.Context, bucket, key string) (io.ReadCloser, ObjectInfo, error)
	// Exists reports whether an object exists.
	Exists(ctx context.Context, bucket, key string) (bool, error)
}

// ObjectInfo describes an object the console serves.
type ObjectInfo struct {
	Size        int64
	ETag        string
	ContentType string
	Modified    time.Time
}

// ErrNotFound is what Objects, Renditions and Executions wrap for
// something that does not exist.
var ErrNotFound = errors.New("not found")

// Renditions makes the gallery's images (package thumbnail).
type Renditions interface {
	Get(ctx context.Context, bucket, key, etag string, size thumbnail.Size) (thumbnail.Rendition, error)
}

// Uploads presigns the page's uploads.
type Uploads interface {
	// PresignPut returns a URL that PUTs key into the upload bucket with
	// that Content-Type, signed for the given host (the one the browser
	// reached the console at).
	PresignPut(ctx context.Context, host, key, contentType string) (string, error)
}

// Config wires the handler.
type Config struct {
	// Prefix is the path the handler is mounted at (default /_imagerec);
	// the caller strips it (http.StripPrefix).
	Prefix string
	// PublicURL is the server's base URL: its host is accepted in Host
	// headers beside the loopback names, and a session cookie is Secure
	// when it is https.
	PublicURL *url.URL
	// PublicMetrics lets Guard serve non-loopback clients.
	PublicMetrics bool
	// CheckSecret reports whether a key pair is one the endpoint accepts
	// (sigv4.Verifier.CheckSecret); nil refuses every sign-in form.
	CheckSecret func(accessKeyID, secret string) bool
	// Status reports health; nil means always healthy.
	Status func(ctx context.Context) Status
	// QueueDepth reports the events waiting (nil: not shown).
	QueueDepth func() int
	Executions Executions
	Gallery    *gallery.Index
	// Indexing reports whether the gallery is still being loaded.
	Indexing   func() bool
	Objects    Objects
	Renditions Renditions
	Uploads    Uploads
	// UploadBucket and ResultBucket are the pipeline's buckets.
	UploadBucket, ResultBucket string
	// KeyCheck refuses keys the pipeline cannot give a document
	// (pipeline.CheckKey); nil accepts any valid S3 key.
	KeyCheck func(key string) error
	// StateMachine is the definition the executions run, for the graph.
	StateMachine json.RawMessage
	// Static holds index.html and its assets (package web).
	Static fs.FS
	Logger *slog.Logger
	// Now is the clock (default time.Now); TokenTTL and SessionTTL the
	// sign-in lifetimes (defaults DefaultTokenTTL, DefaultSessionTTL).
	Now                  func() time.Time
	TokenTTL, SessionTTL time.Duration
}

// Handler serves the console under a prefix stripped by the caller.
type Handler struct {
	cfg      Config
	log      *slog.Logger
	sessions *sessions
	hub      *hub
	xorigin  *http.CrossOriginProtection
	static   http.Handler
	etags    map[string]string
	api      map[string]apiRoute
	execs    *execIndex
	stats    *stats
	closeMu  sync.Once
}

// apiRoute is one /api/ endpoint: its method and whether it changes
// state (CSRF-protected).
type apiRoute struct {
	method string
	serve  func(w http.ResponseWriter, r *http.Request, ss *session)
}

// New returns the console's handler. Mount it with http.StripPrefix.
func New(cfg Config) *Handler {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Prefix == "" {
		cfg.Prefix = "/_imagerec"
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.TokenTTL <= 0 {
		cfg.TokenTTL = DefaultTokenTTL
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = DefaultSessionTTL
	}
	if cfg.Gallery == nil {
		cfg.Gallery = gallery.New()
	}
	h := &Handler{
		cfg: cfg, log: cfg.Logger.With("component", "ui"),
		sessions: newSessions(cfg.Now, cfg.TokenTTL, cfg.SessionTTL),
		hub:      newHub(),
		xorigin:  http.NewCrossOriginProtection(),
		static:   http.FileServerFS(cfg.Static),
		etags:    staticETags(cfg.Static),
		stats:    newStats(cfg.Now),
	}
	h.execs = newExecIndex(cfg.Executions)
	h.api = map[string]apiRoute{
		"session":      {http.MethodGet, h.session},
		"signout":      {http.MethodPost, h.signout},
		"results":      {http.MethodGet, h.results},
		"result":       {http.MethodGet, h.result},
		"thumb":        {http.MethodGet, h.rendition(thumbnail.Thumb)},
		"preview":      {http.MethodGet, h.rendition(thumbnail.Preview)},
		"original":     {http.MethodGet, h.original},
		"uploads":      {http.MethodPost, h.uploads},
		"executions":   {http.MethodGet, h.executions},
		"execution":    {http.MethodGet, h.execution},
		"statemachine": {http.MethodGet, h.stateMachine},
		"health":       {http.MethodGet, h.health},
		"events":       {http.MethodGet, h.events},
	}
	return h
}

// NewStartToken returns a single-use sign-in token for the start-up
// banner's link (…/_imagerec/?token=T), valid for Config.TokenTTL.
func (h *Handler) NewStartToken() string { return h.sessions.newToken() }

// Close ends the event streams, so a server shutting down does not wait
// for them. Register it with http.Server.RegisterOnShutdown.
func (h *Handler) Close() {
	h.closeMu.Do(func() {
		h.hub.close()
		h.stats.mu.Lock()
		defer h.stats.mu.Unlock()
		for _, t := range []*time.Timer{h.stats.soon, h.stats.decay} {
			if t != nil {
				t.Stop()
			}
		}
	})
}

// misdirected refuses a request whose Host is not this server's.
func (h *Handler) misdirected(w http.ResponseWriter, r *http.Request) bool {
	if hostAllowed(r.Host, h.cfg.PublicURL) {
		return false
	}
	h.log.WarnContext(r.Context(), "console request with a foreign Host header refused (DNS rebinding?); set --public-url to the name users reach the server at",
		"host", r.Host, "path", r.URL.Path)
	http.Error(w, "421 misdirected request: this server answers to loopback names and its --public-url only", http.StatusMisdirectedRequest)
	return true
}

// Guard serves next (metrics, health) to loopback clients, or to anyone
// with Config.PublicMetrics, after the Host check.
func (h *Handler) Guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h.misdirected(w, r) {
			return
		}
		if !h.cfg.PublicMetrics && !loopbackClient(r) {
			http.Error(w, "403 forbidden: metrics and health are served to loopback clients (serve --public-metrics opens them)", http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h.misdirected(w, r) {
		return
	}
	setSecurityHeaders(w)
	if name, ok := strings.CutPrefix(r.URL.Path, "/api/"); ok {
		h.serveAPI(w, r, name)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if r.URL.Path == "/" && r.URL.Query().Has("token") {
		h.redeem(w, r)
		return
	}
	name := strings.TrimPrefix(path.Clean(r.URL.Path), "/")
	if name == "" {
		name = "index.html"
	}
	if tag, ok := h.etags[name]; ok {
		w.Header().Set("ETag", tag)
		w.Header().Set("Cache-Control", "no-cache")
	}
	h.static.ServeHTTP(w, r)
}

func setSecurityHeaders(w http.ResponseWriter) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data: blob:; script-src 'self'; style-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Referrer-Policy", "no-referrer")
}

// staticETags hashes each static file once, so reloads are 304s.
func staticETags(fsys fs.FS) map[string]string {
	tags := map[string]string{}
	if fsys == nil {
		return tags
	}
	_ = fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil //nolint:nilerr // a file that cannot be read is served without an ETag
		}
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return nil //nolint:nilerr // as above
		}
		sum := sha256.Sum256(b)
		tags[p] = `"` + hex.EncodeToString(sum[:8]) + `"`
		return nil
	})
	return tags
}

// serveAPI authenticates and dispatches an /api/ call.
func (h *Handler) serveAPI(w http.ResponseWriter, r *http.Request, name string) {
	if name == "signin" {
		h.signin(w, r)
		return
	}
	ss, ok := h.sessions.get(r)
	if !ok {
		h.errorJSON(w, http.StatusUnauthorized, "SignInRequired", "sign in with the access key and secret, or open the link serve printed")
		return
	}
	rt, ok := h.api[name]
	if !ok {
		h.errorJSON(w, http.StatusNotFound, "NotFound", "no such API call")
		return
	}
	if r.Method != rt.method && (rt.method != http.MethodGet || r.Method != http.MethodHead) {
		w.Header().Set("Allow", rt.method)
		h.errorJSON(w, http.StatusMethodNotAllowed, "MethodNotAllowed", "use "+rt.method)
		return
	}
	if rt.method != http.MethodGet {
		if err := h.xorigin.Check(r); err != nil {
			h.errorJSON(w, http.StatusForbidden, "CrossOriginRequest", err.Error())
			return
		}
		if !ss.checkCSRF(r) {
			h.errorJSON(w, http.StatusForbidden, "InvalidCSRFToken", "the "+csrfHeader+" header is missing or does not match the session")
			return
		}
	}
	rt.serve(w, r, ss)
}

// apiError is the JSON body of an error.
type apiError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (h *Handler) errorJSON(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(apiError{Code: code, Message: msg})
}

// fail answers err: a not-found as 404, anything else as a 500 that is
// logged.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, ErrNotFound) || errors.Is(err, thumbnail.ErrNotFound) {
		h.errorJSON(w, http.StatusNotFound, "NotFound", err.Error())
		return
	}
	if errors.Is(err, context.Canceled) {
		return
	}
	h.log.ErrorContext(r.Context(), "console request failed", "path", r.URL.Path, "err", err)
	h.errorJSON(w, http.StatusInternalServerError, "InternalError", err.Error())
}

func (h *Handler) writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(v)
}

// Package webhook is the notify.Notifier that POSTs each message as JSON to
// an HTTP endpoint. Requests are signed with HMAC-SHA256 over
// "<timestamp>.<body>" (header X-Imagerec-Signature: sha256=<hex>, header
// X-Imagerec-Timestamp: unix seconds), retried with exponential back-off on
// network errors, 429 and 5xx, and appended to a dead-letter file (JSON
// lines, file 0600) when every attempt failed, so no notification is
// silently lost. The URL's userinfo never leaves the Notifier: logs,
// errors and dead letters name it as Redact gives it.
package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/imagerec/imagerec/internal/fsperm"
	"github.com/imagerec/imagerec/internal/notify"
)

var _ notify.Notifier = (*Notifier)(nil)

// Headers set on every request.
const (
	HeaderSignature = "X-Imagerec-Signature"
	HeaderTimestamp = "X-Imagerec-Timestamp"
	HeaderEvent     = "X-Imagerec-Event"
	// HeaderDeliveryID repeats the envelope's DeliveryId: the same on
	// every retry and re-run for one object version.
	HeaderDeliveryID = "X-Imagerec-Delivery-Id"
)

// Options configure a Notifier. The zero value means the defaults.
type Options struct {
	// Secret signs requests; empty means unsigned.
	Secret string
	// Attempts is the number of tries (default 5).
	Attempts int
	// Backoff is the first retry delay, doubled each time (default 200ms).
	Backoff time.Duration
	// Timeout bounds one request (default 10s).
	Timeout time.Duration
	// DeadLetterFile receives undeliverable messages as JSON lines; empty
	// means they are only logged.
	DeadLetterFile string
	// Client is the HTTP client (default: one with Timeout).
	Client *http.Client
	// Logger for retries and dead letters.
	Logger *slog.Logger
	// Now is the clock for the signature timestamp.
	Now func() time.Time
	// Sleep waits between attempts (default: a context-aware timer).
	Sleep func(ctx context.Context, d time.Duration) error
}

// Notifier posts messages to one URL.
type Notifier struct {
	url   string
	shown string // url with its userinfo redacted, for logs, errors and dead letters
	opts  Options
	mu    sync.Mutex // serialises dead-letter appends
}

// New returns a Notifier for url.
func New(url string, opts Options) *Notifier {
	if opts.Attempts <= 0 {
		opts.Attempts = 5
	}
	if opts.Backoff <= 0 {
		opts.Backoff = 200 * time.Millisecond
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Second
	}
	if opts.Client == nil {
		opts.Client = &http.Client{Timeout: opts.Timeout}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Sleep == nil {
		opts.Sleep = sleep
	}
	opts.Logger = opts.Logger.With("component", "webhook")
	return &Notifier{url: url, shown: Redact(url), opts: opts}
}

// Redact returns rawURL with any userinfo (user name and password, which
// may be a token) replaced by "REDACTED", for logs and files. A URL that
// does not parse is replaced whole.
func Redact(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "REDACTED (unparseable URL)"
	}
	if u.User != nil {
		u.User = url.User("REDACTED")
	}
	return u.String()
}

// URL is the notifier's URL with its userinfo redacted.
func (n *Notifier) URL() string { return n.shown }

// Signed reports whether requests carry a signature (Options.Secret set).
func (n *Notifier) Signed() bool { return n.opts.Secret != "" }

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Sign returns the signature header value for body at timestamp ts.
func Sign(secret string, ts int64, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(mac, "%d.", ts)
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// Verify checks a signature header value; receivers can use it.
func Verify(secret string, ts int64, body []byte, signature string) bool {
	return hmac.Equal([]byte(Sign(secret, ts, body)), []byte(signature))
}

// Notify implements notify.Notifier. It returns an error only when the
// message could neither be delivered nor dead-lettered, or when ctx ended
// first (then nothing is dead-lettered: the caller will try again).
func (n *Notifier) Notify(ctx context.Context, msg notify.Message) error {
	body, err := json.Marshal(msg)
	if err != nil {
		return fmt.Errorf("encode message: %w", err)
	}
	var lastErr error
	delay := n.opts.Backoff
	for attempt := 1; attempt <= n.opts.Attempts; attempt++ {
		retry, err := n.post(ctx, msg, body)
		if err == nil {
			return nil
		}
		lastErr = err
		if !retry || attempt == n.opts.Attempts {
			break
		}
		n.opts.Logger.WarnContext(ctx, "webhook attempt failed", "attempt", attempt, "err", err)
		if err := n.opts.Sleep(ctx, delay); err != nil {
			lastErr = err
			break
		}
		delay *= 2
	}
	if ctx.Err() != nil {
		// Stopped, not undeliverable: the caller runs the task again
		// (the execution re-runs after a restart), so no dead letter.
		return fmt.Errorf("notify %s: %w", msg.DeliveryID, lastErr)
	}
	return n.deadLetter(ctx, body, lastErr)
}

// post sends one request and reports whether a failure is worth retrying.
func (n *Notifier) post(ctx context.Context, msg notify.Message, body []byte) (retry bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.url, bytes.NewReader(body))
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return false, fmt.Errorf("build request for %s: %w", n.shown, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "imagerec-webhook/1")
	req.Header.Set(HeaderEvent, msg.Type)
	if msg.DeliveryID != "" {
		req.Header.Set(HeaderDeliveryID, msg.DeliveryID)
	}
	ts := n.opts.Now().Unix()
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
	if n.opts.Secret != "" {
		req.Header.Set(HeaderSignature, Sign(n.opts.Secret, ts, body))
	}
	resp, err := n.opts.Client.Do(req)
	if err != nil {
		// *url.Error repeats the URL (net/http hides only the password);
		// keep the cause and name the URL redacted.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return ctx.Err() == nil, fmt.Errorf("post %s: %w", n.shown, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return false, nil
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return true, fmt.Errorf("post %s: %s", n.shown, resp.Status)
	default:
		return false, fmt.Errorf("post %s: %s", n.shown, resp.Status)
	}
}

// deadLetter records an undeliverable message.
func (n *Notifier) deadLetter(ctx context.Context, body []byte, cause error) error {
	n.opts.Logger.ErrorContext(ctx, "webhook undeliverable, dead-lettered", "url", n.shown, "file", n.opts.DeadLetterFile, "err", cause)
	if n.opts.DeadLetterFile == "" {
		return nil
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if err := os.MkdirAll(filepath.Dir(n.opts.DeadLetterFile), fsperm.Dir); err != nil {
		return fmt.Errorf("dead-letter %w: %w", cause, err)
	}
	f, err := os.OpenFile(n.opts.DeadLetterFile, os.O_APPEND|os.O_CREATE|os.O_WRONLY, fsperm.File)
	if err != nil {
		return fmt.Errorf("dead-letter %w: %w", cause, err)
	}
	// A file left by an older version may be world-readable.
	_ = f.Chmod(fsperm.File)
	line, _ := json.Marshal(struct {
		URL     string          `json:"url"`
		Error   string          `json:"error"`
		Message json.RawMessage `json:"message"`
	}{n.shown, cause.Error(), body})
	_, werr := f.Write(append(line, '\n'))
	if err := f.Sync(); werr == nil {
		werr = err
	}
	if err := f.Close(); werr == nil {
		werr = err
	}
	if werr != nil {
		return fmt.Errorf("dead-letter %w: %w", cause, werr)
	}
	return nil
}

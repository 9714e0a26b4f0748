package modelpack

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"time"
)

// Timeouts bound one download; zero fields take the defaults. A machine
// without network fails within Dial (name resolution included), a server
// that stops sending within Stall.
type Timeouts struct {
	// Dial bounds name resolution and the TCP connect (default 15s).
	Dial time.Duration
	// TLS bounds the TLS handshake (default 15s).
	TLS time.Duration
	// Header bounds the wait for the response header once the request is
	// sent (default 30s).
	Header time.Duration
	// Stall bounds any stretch without progress, from the request until
	// the last byte of the body (default 30s).
	Stall time.Duration
}

func (t Timeouts) withDefaults() Timeouts {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&t.Dial, 15*time.Second)
	def(&t.TLS, 15*time.Second)
	def(&t.Header, 30*time.Second)
	def(&t.Stall, 30*time.Second)
	return t
}

// ErrStalled is the cause of a download cancelled because the server sent
// nothing for Timeouts.Stall.
var ErrStalled = errors.New("stalled")

// errFetchOff: Options.NoFetch forbids the download.
var errFetchOff = errors.New("fetching is off")

// FetchError reports a remote file that is neither in the cache nor in
// the mirror and could not be downloaded. Err is why the download failed
// (a *ChecksumError for a body with the wrong sha256, ErrStalled for a
// server that stopped sending); its text names the URL.
type FetchError struct {
	// Name is the remote file's name, URL where it was fetched from.
	Name, URL string
	// Mirror is Options.Mirror ("" when none was given).
	Mirror string
	Err    error
}

func (e *FetchError) Error() string {
	hint := "no mirror given: to install offline, pass --mirror DIR or set IMAGEREC_MODEL_MIRROR=DIR, DIR holding " + e.Name
	if e.Mirror != "" {
		hint = "not in the mirror " + e.Mirror + " either (--mirror DIR / IMAGEREC_MODEL_MIRROR): put " + e.Name + " there"
	}
	return fmt.Sprintf("fetch %s: %v (%s)", e.Name, e.Err, hint)
}

func (e *FetchError) Unwrap() error { return e.Err }

// fetcher makes remote files present under sources/ in the cache. One
// is made per Install; its client is reused for every download.
type fetcher struct {
	root     string
	opts     Options
	timeouts Timeouts
	client   *http.Client
	progress func(string, ...any)
	// unreachable holds, by URL host, the error of a request that got
	// no response: later files from that host fail at once instead of
	// waiting out the time-outs again.
	unreachable map[string]error
}

func newFetcher(root string, opts Options, progress func(string, ...any)) *fetcher {
	t := opts.Timeouts.withDefaults()
	return &fetcher{
		root: root, opts: opts, timeouts: t, progress: progress, unreachable: map[string]error{},
		client: &http.Client{Transport: &http.Transport{
			Proxy:                 opts.Proxy,
			DialContext:           (&net.Dialer{Timeout: t.Dial, KeepAlive: 30 * time.Second}).DialContext,
			TLSHandshakeTimeout:   t.TLS,
			ResponseHeaderTimeout: t.Header,
			ForceAttemptHTTP2:     true,
			MaxIdleConnsPerHost:   2,
			IdleConnTimeout:       30 * time.Second,
		}},
	}
}

func (f *fetcher) close() { f.client.CloseIdleConnections() }

// url is where the remote file name is downloaded from.
func (f *fetcher) url(r Remote, name string) string {
	if b, ok := f.opts.BaseURLs[r.Name]; ok {
		return b + url.PathEscape(name)
	}
	return r.URL(name)
}

// fetch returns the path of r's file name, verified, under
// sources/<remote>/: already there, else copied from the mirror, else
// downloaded. A mirror file with the wrong sha256 is an error, not a
// reason to download. label names the asset in progress lines.
func (f *fetcher) fetch(ctx context.Context, label string, r Remote, name string) (string, error) {
	want, ok := r.Files[name]
	if !ok {
		return "", fmt.Errorf("remote %s: no file %q declared", r.Name, name)
	}
	dst := filepath.Join(f.root, "sources", r.Name, name)
	if _, err := os.Stat(dst); err == nil {
		err := checkFile(dst, want)
		if err == nil {
			return dst, nil
		}
		var ce *ChecksumError
		if !errors.As(err, &ce) {
			return "", err
		}
		f.progress("%-12s bad source %s (%v); fetching again", label, dst, err)
		if err := os.Remove(dst); err != nil {
			return "", err
		}
	}
	if f.opts.Mirror != "" {
		p := filepath.Join(f.opts.Mirror, name)
		start := time.Now()
		mf, err := os.Open(p)
		switch {
		case err == nil:
			defer mf.Close()
			n, err := writeVerified(dst, mf, want, p)
			if err != nil {
				return "", fmt.Errorf("mirror: %w", err)
			}
			f.progress("%-12s copied   %s from mirror %s (%s, %v)", label, name, f.opts.Mirror, size(n), time.Since(start).Round(time.Millisecond))
			return dst, nil
		case !errors.Is(err, fs.ErrNotExist):
			return "", fmt.Errorf("mirror: %w", err)
		}
	}
	u := f.url(r, name)
	fe := &FetchError{Name: name, URL: u, Mirror: f.opts.Mirror}
	if f.opts.NoFetch {
		fe.Err = fmt.Errorf("%s not downloaded: %w", u, errFetchOff)
		return "", fe
	}
	host := u
	if pu, err := url.Parse(u); err == nil {
		host = pu.Host
	}
	if err := f.unreachable[host]; err != nil {
		fe.Err = fmt.Errorf("%s not tried, %s did not answer before: %w", u, host, err)
		return "", fe
	}
	f.progress("%-12s download %s", label, u)
	start := time.Now()
	n, answered, err := f.download(ctx, u, dst, want)
	if err != nil {
		if !answered && ctx.Err() == nil {
			f.unreachable[host] = err
		}
		fe.Err = err
		return "", fe
	}
	f.progress("%-12s fetched  %s (%s, %v)", label, name, size(n), time.Since(start).Round(time.Millisecond))
	return dst, nil
}

// download GETs u into dst through a temporary file, verifying the
// sha256 before the rename. Every stretch without progress is bounded by
// the stall timeout. answered reports whether a response header arrived.
func (f *fetcher) download(ctx context.Context, u, dst, want string) (n int64, answered bool, err error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	stall := f.timeouts.Stall
	timer := time.AfterFunc(stall, func() { cancel(fmt.Errorf("%w: no data for %v", ErrStalled, stall)) })
	defer timer.Stop()
	// stalled prefers the watchdog's cause to the transport's "context
	// canceled".
	stalled := func(err error) error {
		if c := context.Cause(ctx); errors.Is(c, ErrStalled) {
			return fmt.Errorf("GET %s: %w", u, c)
		}
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, false, err
	}
	resp, err := f.client.Do(req)
	if err != nil {
		return 0, false, stalled(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, true, fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	if resp.ContentLength > maxEntry {
		return 0, true, fmt.Errorf("GET %s: %d bytes, more than the %d allowed", u, resp.ContentLength, maxEntry)
	}
	body := &progressReader{r: resp.Body, tick: func() { timer.Reset(stall) }}
	if n, err = writeVerified(dst, body, want, u); err != nil {
		return 0, true, stalled(err)
	}
	return n, true, nil
}

// progressReader calls tick after every read that returned data.
type progressReader struct {
	r    io.Reader
	tick func()
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	if n > 0 {
		p.tick()
	}
	return n, err
}

// writeVerified copies r (the file from, named in errors) to dst through
// a temporary file beside it and renames it into place only when its
// sha256 is want. It returns the byte count.
func writeVerified(dst string, r io.Reader, want, from string) (int64, error) {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil { //nolint:gosec // the model cache is shared, read-only data, not user data
		return 0, err
	}
	f, err := os.CreateTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".*")
	if err != nil {
		return 0, err
	}
	tmp := f.Name()
	done := false
	defer func() {
		if !done {
			_ = f.Close()
			_ = os.Remove(tmp)
		}
	}()
	h := sha256.New()
	var n int64
	buf := make([]byte, 256<<10)
	for {
		k, rerr := r.Read(buf)
		if k > 0 {
			n += int64(k)
			if n > maxEntry {
				return 0, fmt.Errorf("%s: more than the %d bytes allowed", from, maxEntry)
			}
			h.Write(buf[:k])
			if _, err := f.Write(buf[:k]); err != nil {
				return 0, fmt.Errorf("write %s: %w", dst, err)
			}
		}
		if errors.Is(rerr, io.EOF) {
			break
		}
		if rerr != nil {
			return 0, fmt.Errorf("read %s: %w", from, rerr)
		}
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != want {
		return 0, &ChecksumError{Path: from, Got: got, Want: want}
	}
	err = f.Chmod(0o644)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	done = true
	if err == nil {
		err = os.Rename(tmp, dst)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return 0, fmt.Errorf("write %s: %w", dst, err)
	}
	return n, nil
}

package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/imagerec/imagerec/deploy"
	"github.com/imagerec/imagerec/internal/asl"
	"github.com/imagerec/imagerec/internal/config"
	"github.com/imagerec/imagerec/internal/gallery"
	"github.com/imagerec/imagerec/internal/imageio"
	"github.com/imagerec/imagerec/internal/objstore"
	"github.com/imagerec/imagerec/internal/pipeline"
	"github.com/imagerec/imagerec/internal/sfn"
	"github.com/imagerec/imagerec/internal/sigv4"
	"github.com/imagerec/imagerec/internal/thumbnail"
	"github.com/imagerec/imagerec/internal/ui"
	"github.com/imagerec/imagerec/web"
)

// publicURL is the base of every URL serve hands out: --public-url, else
// http:// and the bound address, with 127.0.0.1 for an unspecified host
// (0.0.0.0, ::), which no client can reach.
func publicURL(cfg config.Config, addr net.Addr) (*url.URL, error) {
	if cfg.PublicURL != "" {
		return config.ParsePublicURL(cfg.PublicURL)
	}
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return nil, fmt.Errorf("listening address %s: %w", addr, err)
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return &url.URL{Scheme: "http", Host: net.JoinHostPort(host, port)}, nil
}

// console is the web console's server side: the gallery index and the
// renditions, fed by the store's writes and the executor's events, and
// the ui handler that serves them.
type console struct {
	s        *server
	page     *ui.Handler
	gallery  *gallery.Index
	thumbs   *thumbnail.Cache
	indexing atomic.Bool
	changes  *changeQueue
}

// newConsole wires the console; the executor and queue are read through
// s when the page asks, as they are made after it.
func newConsole(s *server) (*console, error) {
	c := &console{s: s, gallery: gallery.New(), changes: newChangeQueue()}
	// Sign-in checks the key pair the endpoint verifies signatures with.
	verifier := sigv4.New([]sigv4.Credentials{{AccessKeyID: s.cfg.AccessKeyID, SecretAccessKey: s.cfg.SecretAccessKey}}, nil)
	c.indexing.Store(true)
	var err error
	c.thumbs, err = thumbnail.New(filepath.Join(s.cfg.DataDir, "thumbnails"), c.openForRendition, thumbnail.Options{
		Budget: s.budget, Limits: imageio.Limits{MaxBytes: s.cfg.MaxBytes}, Workers: 2,
	})
	if err != nil {
		return nil, err
	}
	def := asl.Substitute(deploy.StateMachine, deploy.LocalSubstitutions(s.cfg.ResultBucket))
	c.page = ui.New(ui.Config{
		Prefix:        uiPrefix,
		PublicURL:     s.public,
		PublicMetrics: s.cfg.PublicMetrics,
		CheckSecret:   verifier.CheckSecret,
		Status:        s.status,
		QueueDepth: func() int {
			n, err := s.queue.Pending(context.Background())
			if err != nil {
				return -1
			}
			return int(n) //nolint:gosec // a queue depth fits an int
		},
		Executions:   uiExecutions{s},
		Gallery:      c.gallery,
		Indexing:     c.indexing.Load,
		Objects:      uiObjects{s.store},
		Renditions:   c.thumbs,
		Uploads:      newPresigner(s.cfg),
		UploadBucket: s.cfg.UploadBucket,
		ResultBucket: s.cfg.ResultBucket,
		KeyCheck:     pipeline.CheckKey,
		StateMachine: def,
		Static:       web.Static(),
		Logger:       s.log,
	})
	return c, nil
}

// routes serves the console, metrics and health under uiPrefix.
func (c *console) routes() *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle(uiPrefix+"/metrics", c.page.Guard(c.s.metrics.Handler()))
	mux.Handle(uiPrefix+"/healthz", c.page.Guard(c.page.Health()))
	mux.Handle(uiPrefix+"/", c.s.metrics.Instrument("ui", http.StripPrefix(uiPrefix, c.page)))
	mux.Handle(uiPrefix, http.RedirectHandler(uiPrefix+"/", http.StatusFound))
	return mux
}

// signInURL is the banner's one-time sign-in link.
func (c *console) signInURL() string {
	return c.s.public.String() + uiPrefix + "/?token=" + c.page.NewStartToken()
}

// run indexes the result bucket, then applies the store's changes to the
// gallery and tells the open pages, until ctx ends.
func (c *console) run(ctx context.Context) {
	start := time.Now()
	n, err := c.load(ctx)
	c.indexing.Store(false)
	if err != nil && ctx.Err() == nil {
		c.s.log.Error("console: indexing the result bucket failed; the gallery shows what was read and new results", "err", err)
	} else {
		c.s.log.Info("console: result bucket indexed", "results", n, "duration_ms", time.Since(start).Milliseconds())
	}
	for {
		ch, ok := c.changes.next(ctx)
		if !ok {
			return
		}
		c.apply(ctx, ch)
	}
}

// load reads every document of the result bucket into the gallery.
func (c *console) load(ctx context.Context) (int, error) {
	bucket := c.s.cfg.ResultBucket
	opts := objstore.ListOptions{}
	total := 0
	for {
		page, err := c.s.store.ListObjects(ctx, bucket, opts)
		if err != nil {
			return total, fmt.Errorf("list s3://%s: %w", bucket, err)
		}
		var (
			mu    sync.Mutex
			items []gallery.Item
			wg    sync.WaitGroup
			work  = make(chan objstore.ObjectInfo)
		)
		for range 2 {
			wg.Go(func() {
				for o := range work {
					if it, ok := c.summarize(ctx, o.Key); ok {
						mu.Lock()
						items = append(items, it)
						mu.Unlock()
					}
				}
			})
		}
		for _, o := range page.Objects {
			if _, _, err := gallery.UploadKey(o.Key); err == nil {
				work <- o
			}
		}
		close(work)
		wg.Wait()
		c.gallery.PutAll(items)
		total += len(items)
		if !page.IsTruncated || ctx.Err() != nil {
			return total, ctx.Err()
		}
		opts.StartAfter = page.NextStartAfter
	}
}

// summarize reads one document into an item; a document that cannot be
// read is logged and left out.
func (c *console) summarize(ctx context.Context, key string) (gallery.Item, bool) {
	bucket := c.s.cfg.ResultBucket
	rc, info, err := c.s.store.GetObject(ctx, bucket, key)
	if errors.Is(err, objstore.ErrNoSuchKey) {
		return gallery.Item{}, false
	}
	if err != nil {
		c.s.log.Warn("console: document not read", "bucket", bucket, "key", key, "err", err)
		return gallery.Item{}, false
	}
	body, err := io.ReadAll(io.LimitReader(rc, 64<<20))
	_ = rc.Close()
	if err != nil {
		c.s.log.Warn("console: document not read", "bucket", bucket, "key", key, "err", err)
		return gallery.Item{}, false
	}
	it, err := gallery.Summarize(key, info.LastModified, body)
	if err != nil {
		if !errors.Is(err, gallery.ErrNotDocument) {
			c.s.log.Warn("console: document left out of the gallery", "bucket", bucket, "key", key, "err", err)
		}
		return gallery.Item{}, false
	}
	return it, true
}

// apply updates the gallery for one change to a bucket.
func (c *console) apply(ctx context.Context, ch change) {
	switch {
	case ch.bucket == c.s.cfg.ResultBucket && ch.deleted:
		if key, _, err := gallery.UploadKey(ch.key); err == nil && c.gallery.RemoveDocument(ch.key) {
			c.page.PublishRemoved(key)
		}
	case ch.bucket == c.s.cfg.ResultBucket:
		it, ok := c.summarize(ctx, ch.key)
		if !ok {
			return
		}
		c.gallery.Put(it)
		// Thumbnails are made when a page asks: a server nobody watches
		// decodes each image once, for recognition.
		c.page.PublishDocument(it)
	case ch.bucket == c.s.cfg.UploadBucket && ch.deleted:
		if err := c.thumbs.Forget(ch.bucket, ch.key); err != nil {
			c.s.log.Warn("console: renditions of a deleted object not removed", "err", err)
		}
	case ch.bucket == c.s.cfg.UploadBucket && !strings.HasPrefix(ch.key, "_imagerec/"):
		c.page.PublishUpload(ch.bucket, ch.key, ch.etag)
	}
}

// openForRendition opens an uploaded object for the thumbnail cache.
func (c *console) openForRendition(ctx context.Context, bucket, key string) (io.ReadCloser, string, error) {
	rc, info, err := c.s.store.GetObject(ctx, bucket, key)
	if errors.Is(err, objstore.ErrNoSuchKey) || errors.Is(err, objstore.ErrNoSuchBucket) {
		return nil, "", fmt.Errorf("s3://%s/%s: %w", bucket, key, thumbnail.ErrNotFound)
	}
	if err != nil {
		return nil, "", err
	}
	return rc, info.ETag, nil
}

// executionEvent passes the executor's history events to the open pages.
func (c *console) executionEvent(arn string, e sfn.Event) {
	if e.Type == "ExecutionStarted" {
		if ex, err := c.s.exec.Describe(context.Background(), arn); err == nil {
			c.page.PublishExecution(toUIExecution(ex))
		}
	}
	name, _ := e.Details["name"].(string)
	c.page.PublishState(arn[strings.LastIndex(arn, ":")+1:], e.ID, e.Type, name, e.Timestamp)
}

// executionDone passes a finished execution to the open pages.
func (c *console) executionDone(ex sfn.Execution) { c.page.PublishExecution(toUIExecution(ex)) }

// change is one write to a bucket.
type change struct {
	bucket, key, etag string
	deleted           bool
}

// changeQueue is an unbounded FIFO of changes: the store's writers never
// wait for the console.
type changeQueue struct {
	mu    sync.Mutex
	items []change
	ready chan struct{}
}

func newChangeQueue() *changeQueue { return &changeQueue{ready: make(chan struct{}, 1)} }

func (q *changeQueue) push(c change) {
	q.mu.Lock()
	q.items = append(q.items, c)
	q.mu.Unlock()
	select {
	case q.ready <- struct{}{}:
	default:
	}
}

func (q *changeQueue) next(ctx context.Context) (change, bool) {
	for {
		q.mu.Lock()
		if len(q.items) > 0 {
			c := q.items[0]
			q.items = q.items[1:]
			q.mu.Unlock()
			return c, true
		}
		q.mu.Unlock()
		select {
		case <-q.ready:
		case <-ctx.Done():
			return change{}, false
		}
	}
}

// watchedStore is the object store as the S3 endpoint and the pipeline
// use it, telling the console about every object written or deleted.
type watchedStore struct {
	objstore.Store
	mp objstore.Multiparter
	q  *changeQueue
}

var (
	_ objstore.Store       = (*watchedStore)(nil)
	_ objstore.Multiparter = (*watchedStore)(nil)
)

// watch wraps st (which must also be a Multiparter, as diskstore is).
func (c *console) watch(st interface {
	objstore.Store
	objstore.Multiparter
}) *watchedStore {
	return &watchedStore{Store: st, mp: st, q: c.changes}
}

func (w *watchedStore) PutObject(ctx context.Context, bucket, key string, body io.Reader, opts objstore.PutOptions) (objstore.ObjectInfo, error) {
	info, err := w.Store.PutObject(ctx, bucket, key, body, opts)
	if err == nil {
		w.q.push(change{bucket: bucket, key: key, etag: info.ETag})
	}
	return info, err
}

func (w *watchedStore) DeleteObject(ctx context.Context, bucket, key string) error {
	err := w.Store.DeleteObject(ctx, bucket, key)
	if err == nil {
		w.q.push(change{bucket: bucket, key: key, deleted: true})
	}
	return err
}

func (w *watchedStore) CreateMultipartUpload(ctx context.Context, bucket, key string, opts objstore.PutOptions) (string, error) {
	return w.mp.CreateMultipartUpload(ctx, bucket, key, opts)
}

func (w *watchedStore) UploadPart(ctx context.Context, bucket, key, uploadID string, n int, body io.Reader, opts objstore.PartOptions) (objstore.Part, error) {
	return w.mp.UploadPart(ctx, bucket, key, uploadID, n, body, opts)
}

func (w *watchedStore) ListParts(ctx context.Context, bucket, key, uploadID string) ([]objstore.Part, error) {
	return w.mp.ListParts(ctx, bucket, key, uploadID)
}

func (w *watchedStore) CompleteMultipartUpload(ctx context.Context, bucket, key, uploadID string, parts []objstore.Part, opts objstore.CompleteOptions) (objstore.ObjectInfo, error) {
	info, err := w.mp.CompleteMultipartUpload(ctx, bucket, key, uploadID, parts, opts)
	if err == nil {
		w.q.push(change{bucket: bucket, key: key, etag: info.ETag})
	}
	return info, err
}

func (w *watchedStore) AbortMultipartUpload(ctx context.Context, bucket, key, uploadID string) error {
	return w.mp.AbortMultipartUpload(ctx, bucket, key, uploadID)
}

func (w *watchedStore) ListMultipartUploads(ctx context.Context, bucket string) ([]objstore.Upload, error) {
	return w.mp.ListMultipartUploads(ctx, bucket)
}

// toUIExecution is an execution as the console lists it.
func toUIExecution(e sfn.Execution) ui.Execution {
	v := ui.Execution{ARN: e.ExecutionArn, Name: e.Name, Status: e.Status, StartDate: e.StartDate, Error: e.Error, Cause: e.Cause}
	if e.StopDate != nil {
		v.StopDate = *e.StopDate
	}
	var in pipeline.ExecutionInput
	if json.Unmarshal(e.Input, &in) == nil {
		v.Bucket, v.Key = in.Source.Bucket, in.Source.Key
	}
	return v
}

// uiExecutions shows the executor's executions on the page.
type uiExecutions struct{ s *server }

func (u uiExecutions) ListExecutions(ctx context.Context) ([]ui.Execution, error) {
	execs, err := u.s.exec.List(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]ui.Execution, 0, len(execs))
	for _, e := range execs {
		out = append(out, toUIExecution(e))
	}
	return out, nil
}

func notFoundExecution(err error) error {
	if errors.Is(err, sfn.ErrExecutionDoesNotExist) {
		return fmt.Errorf("%w: %w", ui.ErrNotFound, err)
	}
	return err
}

func (u uiExecutions) Describe(ctx context.Context, name string) (ui.Execution, error) {
	ex, err := u.s.exec.Describe(ctx, u.s.exec.ExecutionArn(name))
	if err != nil {
		return ui.Execution{}, notFoundExecution(err)
	}
	v := toUIExecution(ex)
	v.Input, v.Output = ex.Input, ex.Output
	return v, nil
}

func (u uiExecutions) History(ctx context.Context, name string) ([]ui.Event, error) {
	events, err := u.s.exec.History(ctx, u.s.exec.ExecutionArn(name))
	if err != nil {
		return nil, notFoundExecution(err)
	}
	out := make([]ui.Event, 0, len(events))
	for _, e := range events {
		var d json.RawMessage
		if len(e.Details) > 0 {
			d, _ = json.Marshal(e.Details)
		}
		out = append(out, ui.Event{ID: e.ID, PreviousEventID: e.PreviousEventID, Type: e.Type, Timestamp: e.Timestamp, Details: d})
	}
	return out, nil
}

// uiObjects reads the buckets for the page.
type uiObjects struct{ st objstore.Store }

func (u uiObjects) Open(ctx context.Context, bucket, key string) (io.ReadCloser, ui.ObjectInfo, error) {
	rc, info, err := u.st.GetObject(ctx, bucket, key)
	if errors.Is(err, objstore.ErrNoSuchKey) || errors.Is(err, objstore.ErrNoSuchBucket) {
		return nil, ui.ObjectInfo{}, fmt.Errorf("s3://%s/%s: %w", bucket, key, ui.ErrNotFound)
	}
	if err != nil {
		return nil, ui.ObjectInfo{}, err
	}
	return rc, ui.ObjectInfo{Size: info.Size, ETag: info.ETag, ContentType: info.ContentType, Modified: info.LastModified}, nil
}

func (u uiObjects) Exists(ctx context.Context, bucket, key string) (bool, error) {
	_, err := u.st.HeadObject(ctx, bucket, key)
	if errors.Is(err, objstore.ErrNoSuchKey) {
		return false, nil
	}
	return err == nil, err
}

// presigner signs the page's upload URLs with the SDK, so they pass the
// same SigV4 checks as any client's.
type presigner struct {
	c   *s3.PresignClient
	cfg config.Config
}

func newPresigner(cfg config.Config) presigner {
	c := s3.New(s3.Options{
		Region:       cfg.Region,
		BaseEndpoint: aws.String("http://127.0.0.1"),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(cfg.AccessKeyID, cfg.SecretAccessKey, ""),
	})
	return presigner{c: s3.NewPresignClient(c, s3.WithPresignExpires(15*time.Minute)), cfg: cfg}
}

// PresignPut signs a PUT into the upload bucket for host (the Host header
// the browser sends, which the signature covers).
func (p presigner) PresignPut(ctx context.Context, host, key, contentType string) (string, error) {
	in := &s3.PutObjectInput{Bucket: aws.String(p.cfg.UploadBucket), Key: aws.String(key)}
	if contentType != "" {
		in.ContentType = aws.String(contentType)
	}
	r, err := p.c.PresignPutObject(ctx, in, func(o *s3.PresignOptions) {
		o.ClientOptions = append(o.ClientOptions, func(o *s3.Options) { o.BaseEndpoint = aws.String("http://" + host) })
	})
	if err != nil {
		return "", fmt.Errorf("presign put %s/%s: %w", p.cfg.UploadBucket, key, err)
	}
	return r.URL, nil
}

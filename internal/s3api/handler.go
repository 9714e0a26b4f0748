package s3api

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/imagerec/imagerec/internal/objstore"
	"github.com/imagerec/imagerec/internal/s3event"
	"github.com/imagerec/imagerec/internal/sigv4"
)

// DefaultMaxObjectSize is S3's limit for a single PUT (5 GiB).
const DefaultMaxObjectSize = 5 << 30

// Credentials is an access key pair the endpoint accepts.
type Credentials = sigv4.Credentials

// s3Service is what requests must be signed for: S3, in any region.
var s3Service = sigv4.Service{Name: "s3"}

// Options configure a Handler. The zero value is usable except for
// Credentials: with none, every request is refused.
type Options struct {
	// Credentials the endpoint accepts (SigV4, header or presigned query).
	Credentials []Credentials
	// Region is reported by GetBucketLocation and in event records;
	// default "us-east-1". Requests signed for any region are accepted.
	Region string
	// Rules select the writes that produce event records. They can be
	// replaced per bucket with PutBucketNotificationConfiguration (kept in
	// memory only).
	Rules s3event.Rules
	// Notify, when set, is called synchronously for every record a rule
	// selects, after the object is durable and before the client gets its
	// 200. When it fails the client gets 503 ServiceUnavailable (and the
	// SDKs and CLI retry the request); the object stays written, so a
	// retried request emits the event again: delivery is at-least-once.
	Notify func(ctx context.Context, rec s3event.Record) error
	// KeyLimit, when set, is asked about every key that a rule selects
	// before an object is written under it (PutObject, PostObject,
	// CopyObject, CreateMultipartUpload, CompleteMultipartUpload). An error
	// refuses the request with 400 KeyTooLongError, the error's text in the
	// message, and nothing is stored: the consumer of the events can refuse
	// keys it could not finish (imagerec: no room for the document name).
	KeyLimit func(bucket, key string) error
	// MaxObjectSize caps PutObject and UploadPart bodies; 0 means
	// DefaultMaxObjectSize.
	MaxObjectSize int64
	// Logger receives one line per failed request; nil discards.
	Logger *slog.Logger
	// Now is the clock (tests); nil means time.Now.
	Now func() time.Time
}

// Handler is an S3-compatible http.Handler over an objstore.Store, with
// path-style addressing (http://host/BUCKET/KEY).
type Handler struct {
	store objstore.Store
	mp    objstore.Multiparter // nil when the store cannot do multipart
	opts  Options
	log   *slog.Logger
	auth  *sigv4.Verifier
	seq   s3event.Sequencer

	mu    sync.RWMutex
	rules map[string]s3event.Rules // by bucket, overriding opts.Rules
}

// New returns a Handler serving store.
func New(store objstore.Store, opts Options) *Handler {
	if opts.Region == "" {
		opts.Region = "us-east-1"
	}
	if opts.MaxObjectSize <= 0 {
		opts.MaxObjectSize = DefaultMaxObjectSize
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	h := &Handler{store: store, opts: opts, log: opts.Logger, rules: map[string]s3event.Rules{}}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	h.mp, _ = store.(objstore.Multiparter)
	h.auth = sigv4.New(opts.Credentials, opts.Now)
	return h
}

// request is the per-request state.
type request struct {
	w        http.ResponseWriter
	r        *http.Request
	id       string
	hostID   string
	bucket   string
	key      string
	auth     sigv4.Verified
	sourceIP string
}

func newRequestID() (string, string) {
	var b [8]byte
	_, _ = rand.Read(b[:])
	var h [24]byte
	_, _ = rand.Read(h[:])
	return strings.ToUpper(hex.EncodeToString(b[:])), base64.StdEncoding.EncodeToString(h[:])
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id, hostID := newRequestID()
	req := &request{w: w, r: r, id: id, hostID: hostID}
	req.sourceIP, _, _ = net.SplitHostPort(r.RemoteAddr)
	w.Header().Set("X-Amz-Request-Id", id)
	w.Header().Set("X-Amz-Id-2", hostID)
	w.Header().Set("Server", "imagerec")
	path := strings.TrimPrefix(r.URL.Path, "/")
	req.bucket, req.key, _ = strings.Cut(path, "/")

	if isPostUpload(r, req.bucket, req.key) && r.Header.Get("Authorization") == "" {
		if err := h.postObject(req); err != nil {
			h.fail(req, toAPIError(err), err)
		}
		return
	}
	ar, err := h.auth.Verify(r, s3Service)
	if err != nil {
		h.fail(req, toAPIError(err), nil)
		return
	}
	req.auth = ar
	if err := h.route(req); err != nil {
		h.fail(req, toAPIError(err), err)
	}
}

func (h *Handler) route(req *request) error {
	r := req.r
	q := r.URL.Query()
	if req.bucket == "" {
		if r.Method == http.MethodGet {
			return h.listBuckets(req)
		}
		return ErrMethodNotAllowed
	}
	if req.key == "" {
		switch r.Method {
		case http.MethodPut:
			switch {
			case q.Has("notification"):
				return h.putNotification(req)
			case len(q) > 0 && !q.Has("x-id"):
				return notImplemented(q)
			}
			return h.createBucket(req)
		case http.MethodDelete:
			if len(q) > 0 && !q.Has("x-id") {
				return notImplemented(q)
			}
			return h.deleteBucket(req)
		case http.MethodHead:
			return h.headBucket(req)
		case http.MethodPost:
			if q.Has("delete") {
				return h.deleteObjects(req)
			}
			return notImplemented(q)
		case http.MethodGet:
			switch {
			case q.Has("location"):
				return h.getLocation(req)
			case q.Has("notification"):
				return h.getNotification(req)
			case q.Has("uploads"):
				return h.multipart(req, h.listUploads)
			case q.Has("versioning"):
				return h.getVersioning(req)
			case q.Has("versions"):
				return h.listVersions(req)
			case q.Get("list-type") == "2":
				return h.listObjectsV2(req)
			case q.Has("acl"), q.Has("policy"), q.Has("cors"), q.Has("lifecycle"), q.Has("tagging"),
				q.Has("website"), q.Has("replication"), q.Has("encryption"), q.Has("object-lock"):
				return notImplemented(q)
			}
			return h.listObjectsV1(req)
		}
		return ErrMethodNotAllowed
	}
	// Versioning is never on: the only version of an object is "null".
	if v := q.Get("versionId"); q.Has("versionId") && v != "null" {
		return ErrInvalidArgument.withMessage("Invalid version id specified")
	}
	switch r.Method {
	case http.MethodPut:
		switch {
		case q.Has("uploadId") && q.Has("partNumber"):
			if r.Header.Get("X-Amz-Copy-Source") != "" {
				return h.multipart(req, h.uploadPartCopy)
			}
			return h.multipart(req, h.uploadPart)
		case q.Has("tagging"), q.Has("acl"), q.Has("retention"), q.Has("legal-hold"):
			return notImplemented(q)
		case r.Header.Get("X-Amz-Copy-Source") != "":
			return h.copyObject(req)
		}
		return h.putObject(req)
	case http.MethodGet:
		if q.Has("uploadId") {
			return h.multipart(req, h.listParts)
		}
		if q.Has("tagging") {
			return h.getObjectTagging(req)
		}
		if q.Has("acl") || q.Has("attributes") {
			return notImplemented(q)
		}
		return h.getObject(req, false)
	case http.MethodHead:
		return h.getObject(req, true)
	case http.MethodDelete:
		if q.Has("uploadId") {
			return h.multipart(req, h.abortUpload)
		}
		return h.deleteObject(req)
	case http.MethodPost:
		switch {
		case q.Has("uploads"):
			return h.multipart(req, h.createUpload)
		case q.Has("uploadId"):
			return h.multipart(req, h.completeUpload)
		}
		return notImplemented(q)
	}
	return ErrMethodNotAllowed
}

func notImplemented(q map[string][]string) *APIError {
	var names []string
	for k := range q {
		names = append(names, k)
	}
	return ErrNotImplemented.withMessage("Not implemented by imagerec: %s", strings.Join(names, ", "))
}

// fail writes an S3 error document (no body for HEAD).
func (h *Handler) fail(req *request, ae *APIError, cause error) {
	if ae == ErrInternal || ae.Status >= 500 {
		h.log.Error("s3 request failed", "method", req.r.Method, "bucket", req.bucket, "key", req.key,
			"request_id", req.id, "code", ae.Code, "error", cause)
	} else {
		h.log.Debug("s3 request refused", "method", req.r.Method, "bucket", req.bucket, "key", req.key,
			"request_id", req.id, "code", ae.Code, "error", cause)
	}
	hdr := req.w.Header()
	if ae.Status == http.StatusServiceUnavailable {
		hdr.Set("Retry-After", "1")
	}
	if req.r.Method == http.MethodHead {
		req.w.WriteHeader(ae.Status)
		return
	}
	doc := errorDoc{Code: ae.Code, Message: ae.Message, RequestID: req.id, HostID: req.hostID, Resource: req.r.URL.Path}
	if req.key != "" {
		doc.Key = req.key
	}
	if req.bucket != "" {
		doc.BucketName = req.bucket
	}
	h.writeXML(req, ae.Status, doc)
}

const xmlNS = "http://s3.amazonaws.com/doc/2006-03-01/"

func (h *Handler) writeXML(req *request, status int, v any) {
	out, err := xml.Marshal(v)
	if err != nil {
		h.log.Error("marshal s3 response", "request_id", req.id, "error", err)
		status, out = http.StatusInternalServerError, []byte("<Error><Code>InternalError</Code></Error>")
	}
	hdr := req.w.Header()
	hdr.Set("Content-Type", "application/xml")
	hdr.Set("Content-Length", strconv.Itoa(len(xml.Header)+len(out)))
	req.w.WriteHeader(status)
	_, _ = req.w.Write([]byte(xml.Header))
	_, _ = req.w.Write(out)
}

// s3Time formats a time as S3 does in XML: ISO 8601 with milliseconds.
func s3Time(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

func parseSize(s string) (int64, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("invalid size %q", s)
	}
	return n, nil
}

// emit sends the event records that the rules select for a created object.
// It returns an error (503 for the client) if delivery fails.
func (h *Handler) emit(req *request, eventName string, info objstore.ObjectInfo) error {
	if h.opts.Notify == nil {
		return nil
	}
	rules := h.rulesFor(info.Bucket).Match(info.Bucket, info.Key, eventName)
	if len(rules) == 0 {
		return nil
	}
	now := h.opts.Now()
	seq := h.seq.Next(now)
	for _, rule := range rules {
		rec := s3event.NewRecord(s3event.ObjectParams{
			EventName:       eventName,
			Region:          h.opts.Region,
			Time:            now,
			PrincipalID:     req.auth.AccessKeyID,
			SourceIP:        req.sourceIP,
			RequestID:       req.id,
			HostID:          req.hostID,
			ConfigurationID: rule.ID,
			Bucket:          info.Bucket,
			Key:             info.Key,
			Size:            info.Size,
			ETag:            info.ETag,
			VersionID:       info.VersionID,
			Sequencer:       seq,
		})
		if err := h.opts.Notify(req.r.Context(), rec); err != nil {
			return errors.Join(ErrServiceUnavailable.withMessage("The object was stored but its event notification could not be delivered; retry the request."), err)
		}
	}
	return nil
}

func (h *Handler) rulesFor(bucket string) s3event.Rules {
	h.mu.RLock()
	defer h.mu.RUnlock()
	if rs, ok := h.rules[bucket]; ok {
		return rs
	}
	return h.opts.Rules
}

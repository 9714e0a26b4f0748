package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/imagerec/imagerec/internal/imageio"
	"github.com/imagerec/imagerec/internal/notify"
	"github.com/imagerec/imagerec/internal/vision"
)

// ErrNotFound is returned by Objects when the bucket or key does not exist.
var ErrNotFound = errors.New("object not found")

// ObjectMeta describes a stored object.
type ObjectMeta struct {
	Size        int64
	ETag        string
	VersionID   string
	ContentType string
}

// Objects is the object storage the tasks need: the local store or S3.
type Objects interface {
	// Head returns an object's metadata or ErrNotFound.
	Head(ctx context.Context, bucket, key string) (ObjectMeta, error)
	// Open streams an object's body or returns ErrNotFound.
	Open(ctx context.Context, bucket, key string) (io.ReadCloser, ObjectMeta, error)
	// Put stores body durably.
	Put(ctx context.Context, bucket, key string, body []byte, contentType string) error
	// Delete removes an object; a missing object is not an error.
	Delete(ctx context.Context, bucket, key string) error
}

// Suffixes of the documents written to the result bucket.
const (
	ResultSuffix = ".json"
	ErrorSuffix  = ".error.json"
	// PendingPrefix holds results too large for the state payload until
	// StoreResults moves them to their final key.
	PendingPrefix = "_imagerec/pending/"
)

// maxInlineResult is the largest result passed inline between states. Step
// Functions allows 256 KiB for the whole state; leave room for the rest.
const maxInlineResult = 200 << 10

// Tasks holds the dependencies of the state machine's task functions. The
// same methods run in the local executor and behind the Lambda mains.
type Tasks struct {
	Objects    Objects
	Recognizer vision.Recognizer
	Notifier   notify.Notifier
	Logger     *slog.Logger
	// Options are passed to the recognizer for every image.
	Options vision.Options
	// MaxBytes refuses larger objects with ImageTooLargeException before
	// downloading them (default 15 MiB, Rekognition's S3 limit).
	MaxBytes int64
	// Now is the clock (default time.Now).
	Now func() time.Time
	// FaceCollection, when set, has every image's faces searched in this
	// face collection by Faces (Result.FaceSearch, one SearchFacesByImage
	// response per face).
	FaceCollection string
	// IndexFaces also adds them to the collection, with the object key as
	// ExternalImageId (vision.ExternalImageID).
	IndexFaces bool
	// Faces searches and indexes: a facecollection.Store locally, the
	// rekognition engine (SearchFacesByImage, IndexFaces) on AWS.
	Faces FaceSearcher
}

// FaceSearcher searches a recognised image's faces in a face collection
// and, with opts.Index, adds them to it. A missing collection is a
// *vision.Error with vision.CodeResourceNotFound.
type FaceSearcher interface {
	SearchFaces(ctx context.Context, img vision.Input, res *vision.Result, opts vision.FaceSearchOptions) (*vision.FaceSearch, error)
}

func (t *Tasks) maxBytes() int64 {
	if t.MaxBytes > 0 {
		return t.MaxBytes
	}
	return 15 << 20
}

func (t *Tasks) now() time.Time {
	if t.Now != nil {
		return t.Now()
	}
	return time.Now()
}

func (t *Tasks) logger() *slog.Logger {
	if t.Logger != nil {
		return t.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// sniffBytes is how much of an object Inspect reads.
const sniffBytes = 4096

// Inspect checks that the object exists, is not empty or too large, and
// starts like an image format the engine decodes.
func (t *Tasks) Inspect(ctx context.Context, in InspectInput) (InspectOutput, error) {
	if err := in.Source.validate(); err != nil {
		return InspectOutput{}, err
	}
	if in.ResultBucket != "" {
		if out, done, err := t.existing(ctx, in); done || err != nil {
			return out, err
		}
	}
	body, meta, err := t.Objects.Open(ctx, in.Source.Bucket, in.Source.Key)
	if errors.Is(err, ErrNotFound) {
		return InspectOutput{}, imageError(ErrNameInvalidS3Object, "object s3://%s/%s does not exist (deleted before it was processed?)", in.Source.Bucket, in.Source.Key)
	}
	if err != nil {
		return InspectOutput{}, transient(err, "open s3://%s/%s", in.Source.Bucket, in.Source.Key)
	}
	defer body.Close()
	out := InspectOutput{Size: meta.Size, ETag: meta.ETag}
	if meta.Size > t.maxBytes() {
		return out, imageError(ErrNameImageTooLarge, "object is %d bytes; the limit is %d bytes", meta.Size, t.maxBytes())
	}
	head, err := io.ReadAll(io.LimitReader(body, sniffBytes))
	if err != nil {
		return out, transient(err, "read s3://%s/%s", in.Source.Bucket, in.Source.Key)
	}
	if len(head) == 0 {
		out.Reason = "the object is empty (0 bytes)"
		return out, nil
	}
	format, ok := imageio.Sniff(head)
	out.Format = format
	if !ok {
		out.Reason = imageio.Describe(head)
		return out, nil
	}
	out.Supported = true
	return out, nil
}

// existing reports, for the backfill, an object that gets no document
// (Ignored) or already has one (Document, unless Force): done is then
// set and the object is not looked at.
func (t *Tasks) existing(ctx context.Context, in InspectInput) (InspectOutput, bool, error) {
	src := in.Source
	if reason := ignored(src.Bucket, src.Key, src.Size, in.ResultBucket); reason != "" {
		return InspectOutput{Size: src.Size, Ignored: reason}, true, nil
	}
	if err := CheckKey(src.Key); err != nil {
		return InspectOutput{Size: src.Size, Ignored: err.Error()}, true, nil
	}
	if in.Force {
		return InspectOutput{}, false, nil
	}
	for _, suffix := range []string{ResultSuffix, ErrorSuffix} {
		_, err := t.Objects.Head(ctx, in.ResultBucket, src.Key+suffix)
		switch {
		case err == nil:
			return InspectOutput{Size: src.Size, Document: &ObjectRef{Bucket: in.ResultBucket, Key: src.Key + suffix}}, true, nil
		case !errors.Is(err, ErrNotFound):
			return InspectOutput{}, true, transient(err, "look up s3://%s/%s", in.ResultBucket, src.Key+suffix)
		}
	}
	return InspectOutput{}, false, nil
}

// Recognize downloads the object and runs the recognizer on it.
func (t *Tasks) Recognize(ctx context.Context, in RecognizeInput) (RecognizeOutput, error) {
	if err := in.Source.validate(); err != nil {
		return RecognizeOutput{}, err
	}
	data, meta, err := t.read(ctx, in.Source)
	if err != nil {
		return RecognizeOutput{}, err
	}
	img := vision.Input{Bytes: data, Name: in.Source.Key}
	opts := t.Options
	searching := t.FaceCollection != "" && t.Faces != nil && opts.Has(vision.FeatureFaces)
	opts.FaceDescriptors = searching
	res, err := t.Recognizer.Recognize(ctx, img, opts)
	if err != nil {
		return RecognizeOutput{}, classify(err, "recognize s3://"+in.Source.Bucket+"/"+in.Source.Key)
	}
	if searching && res.FaceDetails != nil {
		fs, err := t.Faces.SearchFaces(ctx, img, res, vision.FaceSearchOptions{
			CollectionID: t.FaceCollection, Index: t.IndexFaces, ExternalImageID: vision.ExternalImageID(in.Source.Key),
		})
		if err != nil {
			return RecognizeOutput{}, faceSearchError(err, in.Source, t.FaceCollection)
		}
		res.FaceSearch = fs
	}
	src := in.Source
	if meta.ETag != "" {
		src.ETag = meta.ETag
	}
	res.Source = &vision.Source{Bucket: src.Bucket, Key: src.Key, ETag: src.ETag, Size: int64(len(data)), VersionID: src.VersionID}
	t.logger().DebugContext(ctx, "image recognised", "bucket", src.Bucket, "key", src.Key)
	// The one serialisation of the result: its size decides inline or
	// aside, and the bytes go on as they are to Store.
	doc, err := json.Marshal(res)
	if err != nil {
		return RecognizeOutput{}, &Error{Name: ErrNameTransient, Message: "encode result", Err: err}
	}
	if len(doc) <= maxInlineResult {
		return RecognizeOutput{Result: doc}, nil
	}
	if in.ResultBucket == "" {
		return RecognizeOutput{}, imageError(ErrNameInvalidInput, "result of %d bytes is too large to pass inline and no ResultBucket was given", len(doc))
	}
	ref := ObjectRef{Bucket: in.ResultBucket, Key: PendingPrefix + idempotencyKey(src) + ".json"}
	if err := t.Objects.Put(ctx, ref.Bucket, ref.Key, doc, "application/json"); err != nil {
		return RecognizeOutput{}, transient(err, "write pending result s3://%s/%s", ref.Bucket, ref.Key)
	}
	return RecognizeOutput{ResultRef: &ref}, nil
}

// faceSearchError names a failed face search. A missing collection
// (ResourceNotFoundException) is not retried; its message says that the
// image is kept and how to recognise it again.
func faceSearchError(err error, src Source, collection string) *Error {
	e := classify(err, "search the faces of s3://"+src.Bucket+"/"+src.Key+" in face collection "+collection)
	if e.Name == ErrNameResourceNotFound {
		e = &Error{Name: e.Name, Message: fmt.Sprintf("face collection %s: %s; the image is kept in s3://%s: create the collection again and run `imagerec backfill --force --prefix %s` to recognise it", collection, e.Message, src.Bucket, shellQuote(src.Key))}
	}
	return e
}

// shellQuote quotes s for a POSIX shell: as it is when it needs no
// quoting, else in single quotes.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-/:+=@%,") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func (t *Tasks) read(ctx context.Context, src Source) ([]byte, ObjectMeta, error) {
	body, meta, err := t.Objects.Open(ctx, src.Bucket, src.Key)
	if errors.Is(err, ErrNotFound) {
		return nil, meta, imageError(ErrNameInvalidS3Object, "object s3://%s/%s does not exist", src.Bucket, src.Key)
	}
	if err != nil {
		return nil, meta, transient(err, "open s3://%s/%s", src.Bucket, src.Key)
	}
	defer body.Close()
	data, err := io.ReadAll(io.LimitReader(body, t.maxBytes()+1))
	if err != nil {
		return nil, meta, transient(err, "read s3://%s/%s", src.Bucket, src.Key)
	}
	if int64(len(data)) > t.maxBytes() {
		return nil, meta, imageError(ErrNameImageTooLarge, "object is larger than the limit of %d bytes", t.maxBytes())
	}
	return data, meta, nil
}

// Store writes the result document <key>.json, or the error document
// <key>.error.json when the input carries a Failure, and removes the other
// one so that each object has exactly one document.
func (t *Tasks) Store(ctx context.Context, in StoreInput) (StoreOutput, error) {
	if err := in.Source.validate(); err != nil {
		return StoreOutput{}, err
	}
	if in.ResultBucket == "" {
		return StoreOutput{}, imageError(ErrNameInvalidInput, "ResultBucket is empty")
	}
	if in.Failure != nil {
		return t.storeError(ctx, in)
	}
	if in.Recognition == nil {
		return StoreOutput{}, imageError(ErrNameInvalidInput, "neither Recognition nor Failure is set")
	}
	doc, err := t.resultDocument(ctx, in.Recognition)
	if err != nil {
		return StoreOutput{}, err
	}
	out := StoreOutput{Bucket: in.ResultBucket, Key: in.Source.Key + ResultSuffix}
	if err := t.Objects.Put(ctx, out.Bucket, out.Key, doc, "application/json"); err != nil {
		return StoreOutput{}, transient(err, "write s3://%s/%s", out.Bucket, out.Key)
	}
	if err := t.Objects.Delete(ctx, in.ResultBucket, in.Source.Key+ErrorSuffix); err != nil {
		return StoreOutput{}, transient(err, "remove stale error document")
	}
	if ref := in.Recognition.ResultRef; ref != nil {
		if err := t.Objects.Delete(ctx, ref.Bucket, ref.Key); err != nil {
			t.logger().WarnContext(ctx, "pending result not removed", "bucket", ref.Bucket, "key", ref.Key, "err", err)
		}
	}
	return out, nil
}

// resultDocument returns the result document, fetching the result first
// when it was passed by reference. The result is not decoded: its JSON,
// serialised once by Recognize, is laid out as EncodeDocument would
// (see layoutDocument).
func (t *Tasks) resultDocument(ctx context.Context, rec *RecognizeOutput) ([]byte, error) {
	raw := rec.Result
	if string(raw) == "null" {
		raw = nil
	}
	if rec.ResultRef != nil {
		ref := rec.ResultRef
		body, _, err := t.Objects.Open(ctx, ref.Bucket, ref.Key)
		if err != nil {
			return nil, transient(err, "open pending result s3://%s/%s", ref.Bucket, ref.Key)
		}
		defer body.Close()
		if raw, err = io.ReadAll(body); err != nil {
			return nil, transient(err, "read pending result s3://%s/%s", ref.Bucket, ref.Key)
		}
		doc, err := layoutDocument(raw)
		if err != nil {
			return nil, transient(err, "pending result s3://%s/%s", ref.Bucket, ref.Key)
		}
		return doc, nil
	}
	if raw == nil {
		return nil, imageError(ErrNameInvalidInput, "Recognition has neither Result nor ResultRef")
	}
	doc, err := layoutDocument(raw)
	if err != nil {
		return nil, &Error{Name: ErrNameInvalidInput, Message: "Recognition.Result", Err: err}
	}
	return doc, nil
}

func (t *Tasks) storeError(ctx context.Context, in StoreInput) (StoreOutput, error) {
	doc := NewErrorDocument(in.Source, *in.Failure, in.Execution)
	b, err := EncodeDocument(doc)
	if err != nil {
		return StoreOutput{}, &Error{Name: ErrNameTransient, Message: "encode error document", Err: err}
	}
	out := StoreOutput{Bucket: in.ResultBucket, Key: in.Source.Key + ErrorSuffix, Error: doc.Error, Message: doc.Message}
	if err := t.Objects.Put(ctx, out.Bucket, out.Key, b, "application/json"); err != nil {
		return StoreOutput{}, transient(err, "write s3://%s/%s", out.Bucket, out.Key)
	}
	if err := t.Objects.Delete(ctx, in.ResultBucket, in.Source.Key+ResultSuffix); err != nil {
		return StoreOutput{}, transient(err, "remove stale result document")
	}
	return out, nil
}

// Notify sends the completion message.
func (t *Tasks) Notify(ctx context.Context, in NotifyInput) (NotifyOutput, error) {
	if t.Notifier == nil {
		return NotifyOutput{}, nil
	}
	msg := notify.Message{
		DeliveryID: DeliveryID(in.Source),
		Type:       "imagerec.recognition." + strings.ToLower(in.Status),
		Status:     in.Status,
		Bucket:     in.Source.Bucket,
		Key:        in.Source.Key,
		ETag:       in.Source.ETag,
		Document:   notify.Object{Bucket: in.Document.Bucket, Key: in.Document.Key},
		Error:      in.Document.Error,
		Message:    in.Document.Message,
		Execution:  in.Execution,
		Topic:      in.TopicArn,
		Time:       t.now().UTC().Format(time.RFC3339Nano),
	}
	if err := t.Notifier.Notify(ctx, msg); err != nil {
		return NotifyOutput{}, transient(err, "notify")
	}
	return NotifyOutput{Delivered: true}, nil
}

func (s Source) validate() error {
	if s.Bucket == "" || s.Key == "" {
		return imageError(ErrNameInvalidInput, "Source needs Bucket and Key, got %+v", s)
	}
	return nil
}

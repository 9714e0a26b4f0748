package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/imagerec/imagerec/internal/s3event"
)

// MaxKeyLen is the longest key an upload may have for its documents to fit
// S3's 1024-byte key limit: <key>.error.json is the longer name. The local
// endpoint refuses longer keys at PUT (KeyTooLongError), so that every
// accepted upload can get its document.
const MaxKeyLen = 1024 - len(ErrorSuffix)

// KeyTooLongError is returned by CheckKey.
type KeyTooLongError struct{ Len int }

func (e *KeyTooLongError) Error() string {
	return fmt.Sprintf("the key is %d bytes; keys that are recognised may have at most %d bytes, so that <key>%s fits the 1024-byte key limit",
		e.Len, MaxKeyLen, ErrorSuffix)
}

// CheckKey returns a *KeyTooLongError for a key whose result or error
// document name would exceed S3's key limit.
func CheckKey(key string) error {
	if len(key) > MaxKeyLen {
		return &KeyTooLongError{Len: len(key)}
	}
	return nil
}

// Start is one execution to start for an S3 event record.
type Start struct {
	// Name is deterministic for (bucket, key, ETag, version): starting it
	// twice is idempotent, on AWS (StartExecution with the same name and
	// input) as in the local executor, so duplicate events do no work.
	Name string
	// Input is the execution input JSON (ExecutionInput).
	Input []byte
	// Source is the decoded object reference.
	Source Source
}

// Trigger decides which S3 event records start an execution.
type Trigger struct {
	// ResultBucket is never processed: results must not trigger
	// recognition of themselves (the recursive-loop guard).
	ResultBucket string
}

// Plan returns the execution to start for rec, or ok=false with the reason
// the record is ignored. The key is URL-decoded here, once.
func (t Trigger) Plan(rec s3event.Record) (start Start, ok bool, reason string, err error) {
	if !strings.HasPrefix(rec.EventName, "ObjectCreated:") {
		return Start{}, false, "event " + rec.EventName + " is not ObjectCreated", nil
	}
	key, err := rec.DecodedKey()
	if err != nil {
		return Start{}, false, "", err
	}
	bucket := rec.S3.Bucket.Name
	if reason := ignored(bucket, key, rec.S3.Object.Size, t.ResultBucket); reason != "" {
		return Start{}, false, reason, nil
	}
	if err := CheckKey(key); err != nil {
		return Start{}, false, "", err
	}
	src := Source{
		Bucket:    bucket,
		Key:       key,
		ETag:      strings.Trim(rec.S3.Object.ETag, `"`),
		Size:      rec.S3.Object.Size,
		VersionID: rec.S3.Object.VersionID,
		Sequencer: rec.S3.Object.Sequencer,
		EventName: rec.EventName,
		EventTime: rec.EventTime.UTC().Format(s3event.TimeFormat),
	}
	input, err := json.Marshal(ExecutionInput{Source: src})
	if err != nil {
		return Start{}, false, "", fmt.Errorf("encode execution input: %w", err)
	}
	return Start{Name: ExecutionName(src), Input: input, Source: src}, true, "", nil
}

// ignored says why an object is not recognised ("" if it is): results
// must not trigger recognition of themselves (the recursive-loop guard),
// imagerec's own objects and folder markers are not images.
func ignored(bucket, key string, size int64, resultBucket string) string {
	switch {
	case bucket == resultBucket:
		return "object is in the result bucket"
	case strings.HasPrefix(key, "_imagerec/"):
		return "object is imagerec's own"
	case strings.HasSuffix(key, "/") && size == 0:
		return "object is a folder marker"
	}
	return ""
}

// ErrExecutionExists is what a StartFunc returns when an execution of
// that name exists already: the record is a duplicate.
var ErrExecutionExists = errors.New("execution already exists")

// StartFunc starts the execution st (the local executor, or Step
// Functions' StartExecution) and returns its ARN, or ErrExecutionExists.
type StartFunc func(ctx context.Context, st Start) (arn string, err error)

// TriggerResult sums up the records of one event.
type TriggerResult struct {
	Started    int `json:"Started"`
	Duplicates int `json:"Duplicates"`
	Ignored    int `json:"Ignored"`
}

// RecordError is a record whose execution was not started. Execution is
// empty when the record itself could not be planned (its key is too
// long): trying it again does not help.
type RecordError struct {
	Bucket, Key string
	Execution   string
	Err         error
}

func (e *RecordError) Error() string {
	if e.Execution == "" {
		return fmt.Sprintf("plan %s/%s: %v", e.Bucket, e.Key, e.Err)
	}
	return fmt.Sprintf("start execution %s for %s/%s: %v", e.Execution, e.Bucket, e.Key, e.Err)
}

func (e *RecordError) Unwrap() error { return e.Err }

// Records is the trigger loop of both shells: it plans every record (Plan)
// and starts the execution of each one accepted, through start; a
// duplicate (ErrExecutionExists) does nothing. Every record is tried. When
// some were not started, the error is a TransientError joining their
// *RecordError, so that the event is delivered again; retrying is safe,
// since the executions already started are duplicates then.
func (t Trigger) Records(ctx context.Context, recs []s3event.Record, start StartFunc, log *slog.Logger) (TriggerResult, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var res TriggerResult
	var errs []error
	for _, rec := range recs {
		st, ok, reason, err := t.Plan(rec)
		if err != nil {
			errs = append(errs, &RecordError{Bucket: rec.S3.Bucket.Name, Key: rec.S3.Object.Key, Err: err})
			continue
		}
		if !ok {
			res.Ignored++
			log.InfoContext(ctx, "record ignored", "bucket", rec.S3.Bucket.Name, "key", rec.S3.Object.Key, "reason", reason)
			continue
		}
		arn, err := start(ctx, st)
		switch {
		case errors.Is(err, ErrExecutionExists):
			res.Duplicates++
			log.InfoContext(ctx, "duplicate event", "bucket", st.Source.Bucket, "key", st.Source.Key, "execution", st.Name)
		case err != nil:
			errs = append(errs, &RecordError{Bucket: st.Source.Bucket, Key: st.Source.Key, Execution: st.Name, Err: err})
		default:
			res.Started++
			log.InfoContext(ctx, "execution started", "bucket", st.Source.Bucket, "key", st.Source.Key, "execution", arn)
		}
	}
	if len(errs) > 0 {
		return res, &Error{Name: ErrNameTransient, Message: fmt.Sprintf("%d of %d records not started", len(errs), len(recs)), Err: errors.Join(errs...)}
	}
	return res, nil
}

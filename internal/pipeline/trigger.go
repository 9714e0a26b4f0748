package pipeline

import (
	"encoding/json"
	"fmt"
	"path"
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

// ExecutionName is a readable, valid and deterministic Step Functions
// execution name: up to 40 safe characters of the key's base name, then a
// hash of bucket, key, ETag and version (80 characters at most, only
// [A-Za-z0-9._-]).
func ExecutionName(s Source) string {
	var b strings.Builder
	for _, r := range path.Base(s.Key) {
		if b.Len() >= 40 {
			break
		}
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '-', r == '_':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	return b.String() + "-" + idempotencyKey(s)[:32]
}

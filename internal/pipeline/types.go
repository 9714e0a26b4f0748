package pipeline

import (
	"encoding/json"
)

// Source identifies the uploaded object an execution works on. It is the
// execution input's "Source" field, built by the trigger from an S3 event
// record with the key already URL-decoded.
//
// Bucket is omitted from JSON when empty: only for a local file, in the
// error document `imagerec recognize` writes (an execution's Source always
// has one).
type Source struct {
	Bucket    string `json:"Bucket,omitempty"`
	Key       string `json:"Key"`
	ETag      string `json:"ETag,omitempty"`
	Size      int64  `json:"Size"`
	VersionID string `json:"VersionId,omitempty"`
	Sequencer string `json:"Sequencer,omitempty"`
	EventName string `json:"EventName,omitempty"`
	EventTime string `json:"EventTime,omitempty"`
}

// ExecutionInput is the state machine's input document.
type ExecutionInput struct {
	Source Source `json:"Source"`
}

// InspectInput is the InspectImage task's input.
type InspectInput struct {
	Source Source `json:"Source"`
	// ResultBucket, set by the backfill, makes Inspect report the
	// object's existing document (Document) unless Force, and objects
	// that get no document at all (Ignored).
	ResultBucket string `json:"ResultBucket,omitempty"`
	Force        bool   `json:"Force,omitempty"`
}

// InspectOutput says whether the object looks like an image the engine can
// decode. The state machine's ImageTypeCheck branches on Supported.
type InspectOutput struct {
	Supported bool   `json:"Supported"`
	Format    string `json:"Format,omitempty"`
	Reason    string `json:"Reason,omitempty"`
	Size      int64  `json:"Size"`
	ETag      string `json:"ETag,omitempty"`
	// Document is the object's result or error document, when it has one
	// (backfill); Ignored says why an object gets none (a folder marker,
	// imagerec's own, the result bucket, a key too long).
	Document *ObjectRef `json:"Document,omitempty"`
	Ignored  string     `json:"Ignored,omitempty"`
}

// RecognizeInput is the ImageRecognition task's input.
type RecognizeInput struct {
	Source       Source `json:"Source"`
	ResultBucket string `json:"ResultBucket"`
}

// ObjectRef points at an object.
type ObjectRef struct {
	Bucket string `json:"Bucket"`
	Key    string `json:"Key"`
}

// RecognizeOutput carries the result inline when it fits in the state
// payload, or a reference to where it was written aside (claim check: Step
// Functions limits state payloads to 256 KiB). Either way the result is a
// vision.Result serialised once, by Recognize: Result holds its JSON as
// it is passed on, and Store writes the document from those bytes
// without decoding them.
type RecognizeOutput struct {
	Result    json.RawMessage `json:"Result,omitempty"`
	ResultRef *ObjectRef      `json:"ResultRef,omitempty"`
}

// Failure is what a Catch puts at ResultPath: Step Functions' {Error, Cause}.
type Failure struct {
	Error string `json:"Error"`
	Cause string `json:"Cause"`
}

// StoreInput is the input of the StoreResults and StoreError states: exactly
// one of Recognition and Failure is set.
type StoreInput struct {
	Source       Source           `json:"Source"`
	ResultBucket string           `json:"ResultBucket"`
	Recognition  *RecognizeOutput `json:"Recognition,omitempty"`
	Failure      *Failure         `json:"Failure,omitempty"`
	Execution    string           `json:"Execution,omitempty"`
}

// StoreOutput names the document written. For an error document, Error and
// Message repeat its code and message (the Fail state reads them).
type StoreOutput struct {
	Bucket  string `json:"Bucket"`
	Key     string `json:"Key"`
	Error   string `json:"Error,omitempty"`
	Message string `json:"Message,omitempty"`
}

// NotifyInput is the Notify task's input.
type NotifyInput struct {
	Status    string      `json:"Status"` // SUCCEEDED or FAILED
	Source    Source      `json:"Source"`
	Document  StoreOutput `json:"Document"`
	TopicArn  string      `json:"TopicArn,omitempty"`
	Execution string      `json:"Execution,omitempty"`
}

// NotifyOutput reports what the notifier did.
type NotifyOutput struct {
	Delivered bool `json:"Delivered"`
}

package s3event

import (
	"fmt"
	"strings"
	"sync"
	"time"
)

// Rule selects the writes that produce a record, like one entry of S3's
// notification configuration (QueueConfiguration / LambdaFunctionConfiguration
// with a prefix and suffix filter).
type Rule struct {
	// ID becomes the record's configurationId.
	ID     string `json:"id"`
	Bucket string `json:"bucket"`
	Prefix string `json:"prefix,omitempty"`
	Suffix string `json:"suffix,omitempty"`
	// Events are S3 event types: "s3:ObjectCreated:*",
	// "s3:ObjectCreated:Put"... (the "s3:" prefix is optional). Empty means
	// all ObjectCreated events.
	Events []string `json:"events,omitempty"`
}

// Match reports whether a write of key in bucket with the given event name
// (e.g. "ObjectCreated:Put") falls under the rule.
func (r Rule) Match(bucket, key, eventName string) bool {
	if r.Bucket != bucket || !strings.HasPrefix(key, r.Prefix) || !strings.HasSuffix(key, r.Suffix) {
		return false
	}
	if len(r.Events) == 0 {
		return strings.HasPrefix(eventName, "ObjectCreated:")
	}
	for _, e := range r.Events {
		e = strings.TrimPrefix(e, "s3:")
		if e == eventName {
			return true
		}
		if base, ok := strings.CutSuffix(e, "*"); ok && strings.HasPrefix(eventName, base) {
			return true
		}
	}
	return false
}

// Validate reports a rule without a bucket or with an unknown event type.
func (r Rule) Validate() error {
	if r.Bucket == "" {
		return fmt.Errorf("notification rule %q: no bucket", r.ID)
	}
	for _, e := range r.Events {
		switch strings.TrimPrefix(e, "s3:") {
		case "ObjectCreated:*", ObjectCreatedPut, ObjectCreatedPost, ObjectCreatedCopy,
			ObjectCreatedCompleteMultipartUpload, "ObjectRemoved:*", ObjectRemovedDelete:
		default:
			return fmt.Errorf("notification rule %q: unknown event type %q", r.ID, e)
		}
	}
	return nil
}

// Rules is a notification configuration.
type Rules []Rule

// Match returns the rules that match, in order.
func (rs Rules) Match(bucket, key, eventName string) []Rule {
	var out []Rule
	for _, r := range rs {
		if r.Match(bucket, key, eventName) {
			out = append(out, r)
		}
	}
	return out
}

// Sequencer hands out sequencer values: upper-case hex strings of fixed
// width that increase strictly with each call, so for any one key a later
// event compares greater, as S3 promises. They are based on the clock, so
// they keep increasing across restarts. Safe for concurrent use.
type Sequencer struct {
	mu   sync.Mutex
	last uint64
}

// Next returns the next sequencer value for an event at time t.
func (s *Sequencer) Next(t time.Time) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	v := uint64(t.UnixNano())
	if v <= s.last {
		v = s.last + 1
	}
	s.last = v
	return fmt.Sprintf("%018X", v)
}

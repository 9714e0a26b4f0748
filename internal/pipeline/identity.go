package pipeline

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path"
	"strings"
)

// One object version has one identity, idempotencyKey, and every name
// that must be the same for each event, retry and re-run of it derives
// from it: ExecutionName is the execution's name and the queue message id
// (the local queue de-duplicates on it, and the Reconciler asks the queue
// about it), DeliveryID the notification's id. They are the same on AWS
// and locally.

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

// DeliveryID is the notification's stable id for one object version:
// "imagerec-" and a hash of bucket, key, ETag and version id, the same for
// every retry and re-run (and on AWS and locally alike).
func DeliveryID(s Source) string { return "imagerec-" + idempotencyKey(s) }

// idempotencyKey identifies one version of one object: bucket, key and
// ETag (or version id). Duplicate events for it map to one execution.
func idempotencyKey(s Source) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%s\x00%s", s.Bucket, s.Key, s.ETag, s.VersionID)
	return hex.EncodeToString(h.Sum(nil))[:40]
}

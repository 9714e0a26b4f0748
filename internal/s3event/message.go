package s3event

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Event sources ParseMessage accepts: AWS S3, MinIO and Ceph RGW, which
// write the same record shape.
var messageSources = map[string]bool{EventSource: true, "minio:s3": true, "ceph:s3": true}

// ErrNoRecords is returned by ParseMessage for a message without records
// (S3's s3:TestEvent, for instance).
var ErrNoRecords = errors.New("no S3 event records")

// ParseMessage decodes a queued message: one record (what imagerec's S3
// endpoint queues) or an event with Records (AWS's S3 event, and the
// message MinIO's NATS and webhook targets send, which adds EventName and
// Key beside Records). Records are normalised to AWS's form: an "s3:"
// prefix of eventName (MinIO) is removed. Each must come from an S3
// source (aws:s3, minio:s3, ceph:s3), name a bucket and have a decodable
// key.
func ParseMessage(data []byte) ([]Record, error) {
	var probe struct {
		Records json.RawMessage `json:"Records"`
	}
	if err := json.Unmarshal(data, &probe); err != nil {
		return nil, fmt.Errorf("parse s3 event message: %w", err)
	}
	var recs []Record
	if len(probe.Records) > 0 && !bytes.Equal(bytes.TrimSpace(probe.Records), []byte("null")) {
		if err := json.Unmarshal(probe.Records, &recs); err != nil {
			return nil, fmt.Errorf("parse s3 event message: Records: %w", err)
		}
		if len(recs) == 0 {
			return nil, fmt.Errorf("parse s3 event message: %w", ErrNoRecords)
		}
	} else {
		var r Record
		if err := json.Unmarshal(data, &r); err != nil {
			return nil, fmt.Errorf("parse s3 event message: %w", err)
		}
		if r.EventSource == "" && r.S3.Bucket.Name == "" {
			return nil, fmt.Errorf("parse s3 event message: %w", ErrNoRecords)
		}
		recs = []Record{r}
	}
	for i := range recs {
		r := &recs[i]
		if !messageSources[r.EventSource] {
			return nil, fmt.Errorf("parse s3 event message: record %d: eventSource %q is not an S3 store's", i, r.EventSource)
		}
		r.EventName = strings.TrimPrefix(r.EventName, "s3:")
		if r.EventName == "" {
			return nil, fmt.Errorf("parse s3 event message: record %d: no eventName", i)
		}
		if r.S3.Bucket.Name == "" {
			return nil, fmt.Errorf("parse s3 event message: record %d: no bucket name", i)
		}
		if _, err := r.DecodedKey(); err != nil {
			return nil, fmt.Errorf("parse s3 event message: record %d: %w", i, err)
		}
	}
	return recs, nil
}

package s3api

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/imagerec/imagerec/internal/objstore"
	"github.com/imagerec/imagerec/internal/s3event"
)

// NotifyOptions configure a NotifyingStore.
type NotifyOptions struct {
	Rules  s3event.Rules
	Notify func(ctx context.Context, rec s3event.Record) error
	// Region and PrincipalID fill the records; defaults "us-east-1" and
	// "imagerec".
	Region      string
	PrincipalID string
	Now         func() time.Time
}

// NotifyingStore wraps a Store for code that writes objects directly (not
// over HTTP) and still wants S3 events for them: a PutObject that matches a
// rule emits ObjectCreated:Put after the object is durable; if the
// notification fails PutObject returns the error (the object stays
// written). Other methods pass through.
type NotifyingStore struct {
	objstore.Store
	opts NotifyOptions
	seq  s3event.Sequencer
}

// NewNotifyingStore wraps s.
func NewNotifyingStore(s objstore.Store, opts NotifyOptions) *NotifyingStore {
	if opts.Region == "" {
		opts.Region = "us-east-1"
	}
	if opts.PrincipalID == "" {
		opts.PrincipalID = "imagerec"
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &NotifyingStore{Store: s, opts: opts}
}

// PutObject implements objstore.Store.
func (n *NotifyingStore) PutObject(ctx context.Context, bucket, key string, body io.Reader, po objstore.PutOptions) (objstore.ObjectInfo, error) {
	info, err := n.Store.PutObject(ctx, bucket, key, body, po)
	if err != nil || n.opts.Notify == nil {
		return info, err
	}
	now := n.opts.Now()
	seq := n.seq.Next(now)
	for _, rule := range n.opts.Rules.Match(bucket, key, s3event.ObjectCreatedPut) {
		rec := s3event.NewRecord(s3event.ObjectParams{
			EventName: s3event.ObjectCreatedPut, Region: n.opts.Region, Time: now,
			PrincipalID: n.opts.PrincipalID, SourceIP: "127.0.0.1", RequestID: "internal", HostID: "internal",
			ConfigurationID: rule.ID, Bucket: bucket, Key: key, Size: info.Size, ETag: info.ETag, Sequencer: seq,
		})
		if err := n.opts.Notify(ctx, rec); err != nil {
			return info, fmt.Errorf("notify put %q: %w", key, err)
		}
	}
	return info, nil
}

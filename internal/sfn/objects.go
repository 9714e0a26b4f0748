package sfn

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/imagerec/imagerec/internal/objstore"
)

// Objects is the S3 access a Distributed Map needs: listing and reading
// for ItemReader, writing for ResultWriter. serve wires the local object
// store; nil fails those states with States.ItemReaderFailed and
// States.ResultWriterFailed.
type Objects interface {
	// List returns up to max objects under prefix after startAfter, in
	// key order, and whether more follow.
	List(ctx context.Context, bucket, prefix, startAfter string, max int) ([]ObjectInfo, bool, error)
	// Get returns an object's body; ErrNoSuchObject when it is missing.
	Get(ctx context.Context, bucket, key string) ([]byte, error)
	// Put stores an object.
	Put(ctx context.Context, bucket, key string, body []byte, contentType string) error
}

// ObjectInfo is one listed object.
type ObjectInfo struct {
	Key          string
	ETag         string // without quotes
	Size         int64
	LastModified time.Time
	StorageClass string
}

// ErrNoSuchObject is returned by Objects.Get for a missing object or
// bucket.
var ErrNoSuchObject = errors.New("no such object")

// StoreObjects adapts an objstore.Store (the local object store) to
// Objects.
type StoreObjects struct{ Store objstore.Store }

var _ Objects = StoreObjects{}

// List implements Objects.
func (o StoreObjects) List(ctx context.Context, bucket, prefix, startAfter string, max int) ([]ObjectInfo, bool, error) {
	page, err := o.Store.ListObjects(ctx, bucket, objstore.ListOptions{Prefix: prefix, StartAfter: startAfter, MaxKeys: max})
	if err != nil {
		return nil, false, err
	}
	out := make([]ObjectInfo, len(page.Objects))
	for i, ob := range page.Objects {
		out[i] = ObjectInfo{Key: ob.Key, ETag: ob.ETag, Size: ob.Size, LastModified: ob.LastModified, StorageClass: "STANDARD"}
	}
	return out, page.IsTruncated, nil
}

// Get implements Objects.
func (o StoreObjects) Get(ctx context.Context, bucket, key string) ([]byte, error) {
	rc, _, err := o.Store.GetObject(ctx, bucket, key)
	if errors.Is(err, objstore.ErrNoSuchKey) || errors.Is(err, objstore.ErrNoSuchBucket) {
		return nil, fmt.Errorf("%w: s3://%s/%s: %w", ErrNoSuchObject, bucket, key, err)
	}
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

// Put implements Objects.
func (o StoreObjects) Put(ctx context.Context, bucket, key string, body []byte, contentType string) error {
	_, err := o.Store.PutObject(ctx, bucket, key, bytes.NewReader(body), objstore.PutOptions{ContentType: contentType})
	return err
}

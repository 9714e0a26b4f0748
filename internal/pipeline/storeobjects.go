package pipeline

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/imagerec/imagerec/internal/objstore"
)

// StoreObjects adapts an objstore.Store to Objects: the local disk store,
// and on AWS Amazon S3 through objstore/s3store.
type StoreObjects struct{ Store objstore.Store }

var _ Objects = StoreObjects{}

func notFound(err error) error {
	if errors.Is(err, objstore.ErrNoSuchKey) || errors.Is(err, objstore.ErrNoSuchBucket) {
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	}
	return err
}

func meta(oi objstore.ObjectInfo) ObjectMeta {
	return ObjectMeta{Size: oi.Size, ETag: oi.ETag, VersionID: oi.VersionID, ContentType: oi.ContentType}
}

// Head implements Objects.
func (s StoreObjects) Head(ctx context.Context, bucket, key string) (ObjectMeta, error) {
	oi, err := s.Store.HeadObject(ctx, bucket, key)
	if err != nil {
		return ObjectMeta{}, notFound(err)
	}
	return meta(oi), nil
}

// Open implements Objects.
func (s StoreObjects) Open(ctx context.Context, bucket, key string) (io.ReadCloser, ObjectMeta, error) {
	rc, oi, err := s.Store.GetObject(ctx, bucket, key)
	if err != nil {
		return nil, ObjectMeta{}, notFound(err)
	}
	return rc, meta(oi), nil
}

// Put implements Objects. A store that can (objstore.Uploader) writes
// without reading the object back: the Lambda roles may write documents
// they may not read.
func (s StoreObjects) Put(ctx context.Context, bucket, key string, body []byte, contentType string) error {
	opts := objstore.PutOptions{ContentType: contentType}
	if u, ok := s.Store.(objstore.Uploader); ok {
		return u.Upload(ctx, bucket, key, bytes.NewReader(body), opts)
	}
	_, err := s.Store.PutObject(ctx, bucket, key, bytes.NewReader(body), opts)
	return err
}

// Delete implements Objects.
func (s StoreObjects) Delete(ctx context.Context, bucket, key string) error {
	return s.Store.DeleteObject(ctx, bucket, key)
}

var _ Lister = StoreObjects{}

// List implements Lister.
func (s StoreObjects) List(ctx context.Context, bucket, startAfter string, max int) ([]Listed, bool, error) {
	res, err := s.Store.ListObjects(ctx, bucket, objstore.ListOptions{StartAfter: startAfter, MaxKeys: max})
	if err != nil {
		return nil, false, notFound(err)
	}
	out := make([]Listed, len(res.Objects))
	for i, o := range res.Objects {
		out[i] = Listed{Key: o.Key, ETag: o.ETag, VersionID: o.VersionID, Size: o.Size, LastModified: o.LastModified}
	}
	return out, res.IsTruncated, nil
}

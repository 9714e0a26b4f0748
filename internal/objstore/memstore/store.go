package memstore

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/imagerec/imagerec/internal/objstore"
)

var (
	_ objstore.Store       = (*Store)(nil)
	_ objstore.Multiparter = (*Store)(nil)
)

type object struct {
	info objstore.ObjectInfo
	data []byte
}

type bucket struct {
	created time.Time
	objects map[string]*object
}

type upload struct {
	objstore.Upload
	opts  objstore.PutOptions
	parts map[int]*object
}

// Store is an in-memory object store. The zero value is not usable; call
// New.
type Store struct {
	now     func() time.Time
	mu      sync.RWMutex
	buckets map[string]*bucket
	uploads map[string]*upload
}

// New returns an empty Store.
func New() *Store {
	return &Store{
		now:     func() time.Time { return time.Now().UTC() },
		buckets: map[string]*bucket{},
		uploads: map[string]*upload{},
	}
}

func (s *Store) bucket(name string) (*bucket, error) {
	b, ok := s.buckets[name]
	if !ok {
		return nil, fmt.Errorf("bucket %q: %w", name, objstore.ErrNoSuchBucket)
	}
	return b, nil
}

// CreateBucket implements objstore.Store.
func (s *Store) CreateBucket(ctx context.Context, name string) error {
	if err := objstore.CheckBucketName(name); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.buckets[name]; ok {
		return fmt.Errorf("create bucket %q: %w", name, objstore.ErrBucketExists)
	}
	s.buckets[name] = &bucket{created: s.now().Truncate(time.Millisecond), objects: map[string]*object{}}
	return nil
}

// DeleteBucket implements objstore.Store.
func (s *Store) DeleteBucket(ctx context.Context, name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, err := s.bucket(name)
	if err != nil {
		return err
	}
	if len(b.objects) > 0 {
		return fmt.Errorf("delete bucket %q: %w", name, objstore.ErrBucketNotEmpty)
	}
	for id, u := range s.uploads {
		if u.Bucket == name {
			delete(s.uploads, id)
		}
	}
	delete(s.buckets, name)
	return nil
}

// HeadBucket implements objstore.Store.
func (s *Store) HeadBucket(ctx context.Context, name string) (objstore.BucketInfo, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	b, err := s.bucket(name)
	if err != nil {
		return objstore.BucketInfo{}, err
	}
	return objstore.BucketInfo{Name: name, CreationDate: b.created}, nil
}

// ListBuckets implements objstore.Store.
func (s *Store) ListBuckets(ctx context.Context) ([]objstore.BucketInfo, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]objstore.BucketInfo, 0, len(s.buckets))
	for name, b := range s.buckets {
		out = append(out, objstore.BucketInfo{Name: name, CreationDate: b.created})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func readAll(body io.Reader, wantMD5 []byte) ([]byte, string, error) {
	data, err := io.ReadAll(body)
	if err != nil {
		return nil, "", fmt.Errorf("read body: %w", err)
	}
	sum := md5.Sum(data)
	if err := objstore.CheckDigest(wantMD5, sum[:]); err != nil {
		return nil, "", err
	}
	return data, hex.EncodeToString(sum[:]), nil
}

// PutObject implements objstore.Store.
func (s *Store) PutObject(ctx context.Context, bucketName, key string, body io.Reader, opts objstore.PutOptions) (objstore.ObjectInfo, error) {
	if err := objstore.CheckKey(key); err != nil {
		return objstore.ObjectInfo{}, err
	}
	s.mu.RLock()
	_, err := s.bucket(bucketName)
	s.mu.RUnlock()
	if err != nil {
		return objstore.ObjectInfo{}, err
	}
	data, etag, err := readAll(body, opts.ContentMD5)
	if err != nil {
		return objstore.ObjectInfo{}, fmt.Errorf("put object %q: %w", key, err)
	}
	info := objstore.ObjectInfo{Size: int64(len(data)), ETag: etag}
	if opts.Checksum != nil {
		info.Checksum = opts.Checksum()
	}
	info, err = s.store(bucketName, key, data, info, opts, opts.Conditions)
	if err != nil {
		return objstore.ObjectInfo{}, fmt.Errorf("put object %q: %w", key, err)
	}
	return info, nil
}

// store commits an object (info has its size, ETag, checksum, part
// table) after checking c against the current one, under the write lock.
func (s *Store) store(bucketName, key string, data []byte, info objstore.ObjectInfo, opts objstore.PutOptions, c objstore.Conditions) (objstore.ObjectInfo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.storeLocked(bucketName, key, data, info, opts, c)
}

func (s *Store) storeLocked(bucketName, key string, data []byte, info objstore.ObjectInfo, opts objstore.PutOptions, c objstore.Conditions) (objstore.ObjectInfo, error) {
	b, err := s.bucket(bucketName)
	if err != nil {
		return objstore.ObjectInfo{}, err
	}
	var cur *objstore.ObjectInfo
	if o, ok := b.objects[key]; ok {
		cur = &o.info
	}
	if err := objstore.CheckConditions(key, c, cur); err != nil {
		return objstore.ObjectInfo{}, err
	}
	info.Bucket, info.Key = bucketName, key
	info.ContentType, info.Headers = opts.ContentType, opts.Headers
	info.LastModified = s.now().Truncate(time.Millisecond)
	info.Metadata = maps.Clone(opts.Metadata)
	b.objects[key] = &object{info: info, data: data}
	return cloneInfo(info), nil
}

func cloneInfo(i objstore.ObjectInfo) objstore.ObjectInfo {
	i.Metadata = maps.Clone(i.Metadata)
	return i
}

func (s *Store) object(bucketName, key string) (*object, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	b, err := s.bucket(bucketName)
	if err != nil {
		return nil, err
	}
	o, ok := b.objects[key]
	if !ok {
		return nil, fmt.Errorf("object %q: %w", key, objstore.ErrNoSuchKey)
	}
	return o, nil
}

// GetObject implements objstore.Store.
func (s *Store) GetObject(ctx context.Context, bucketName, key string) (io.ReadCloser, objstore.ObjectInfo, error) {
	return s.GetObjectRange(ctx, bucketName, key, 0, -1)
}

// GetObjectRange implements objstore.Store.
func (s *Store) GetObjectRange(ctx context.Context, bucketName, key string, offset, length int64) (io.ReadCloser, objstore.ObjectInfo, error) {
	o, err := s.object(bucketName, key)
	if err != nil {
		return nil, objstore.ObjectInfo{}, err
	}
	n, err := objstore.RangeLength(key, offset, length, int64(len(o.data)))
	if err != nil {
		return nil, objstore.ObjectInfo{}, err
	}
	return io.NopCloser(bytes.NewReader(o.data[offset : offset+n])), cloneInfo(o.info), nil
}

// HeadObject implements objstore.Store.
func (s *Store) HeadObject(ctx context.Context, bucketName, key string) (objstore.ObjectInfo, error) {
	o, err := s.object(bucketName, key)
	if err != nil {
		return objstore.ObjectInfo{}, err
	}
	return cloneInfo(o.info), nil
}

// DeleteObject implements objstore.Store.
func (s *Store) DeleteObject(ctx context.Context, bucketName, key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, err := s.bucket(bucketName)
	if err != nil {
		return err
	}
	delete(b.objects, key)
	return nil
}

// ListObjects implements objstore.Store.
func (s *Store) ListObjects(ctx context.Context, bucketName string, opts objstore.ListOptions) (objstore.ListResult, error) {
	s.mu.RLock()
	b, err := s.bucket(bucketName)
	if err != nil {
		s.mu.RUnlock()
		return objstore.ListResult{}, err
	}
	all := objstore.Candidates(b.objects, func(o *object) objstore.ObjectInfo { return o.info }, opts)
	s.mu.RUnlock()
	return objstore.Page(all, opts), nil
}

// CreateMultipartUpload implements objstore.Multiparter.
func (s *Store) CreateMultipartUpload(ctx context.Context, bucketName, key string, opts objstore.PutOptions) (string, error) {
	if err := objstore.CheckKey(key); err != nil {
		return "", err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.bucket(bucketName); err != nil {
		return "", err
	}
	alg, typ, err := objstore.CheckChecksumOptions(opts.ChecksumAlgorithm, opts.ChecksumType)
	if err != nil {
		return "", err
	}
	id := rand.Text()
	opts.Metadata = maps.Clone(opts.Metadata)
	opts.Checksum, opts.Conditions = nil, objstore.Conditions{}
	s.uploads[id] = &upload{
		Upload: objstore.Upload{Bucket: bucketName, Key: key, UploadID: id, Initiated: s.now().Truncate(time.Millisecond),
			ChecksumAlgorithm: alg, ChecksumType: typ},
		opts:  opts,
		parts: map[int]*object{},
	}
	return id, nil
}

func (s *Store) upload(bucketName, key, id string) (*upload, error) {
	if _, err := s.bucket(bucketName); err != nil {
		return nil, err
	}
	u, ok := s.uploads[id]
	if !ok || u.Bucket != bucketName || u.Key != key {
		return nil, fmt.Errorf("upload %q: %w", id, objstore.ErrNoSuchUpload)
	}
	return u, nil
}

// UploadPart implements objstore.Multiparter.
func (s *Store) UploadPart(ctx context.Context, bucketName, key, id string, n int, body io.Reader, opts objstore.PartOptions) (objstore.Part, error) {
	if err := objstore.CheckPartNumber(n); err != nil {
		return objstore.Part{}, err
	}
	s.mu.RLock()
	u, err := s.upload(bucketName, key, id)
	var alg string
	if err == nil {
		alg = u.ChecksumAlgorithm
	}
	s.mu.RUnlock()
	if err != nil {
		return objstore.Part{}, err
	}
	data, etag, err := readAll(body, opts.ContentMD5)
	if err != nil {
		return objstore.Part{}, fmt.Errorf("upload part %d: %w", n, err)
	}
	sum, err := objstore.PartChecksum(alg, opts.Checksum)
	if err != nil {
		return objstore.Part{}, fmt.Errorf("upload part %d: %w", n, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u, err = s.upload(bucketName, key, id)
	if err != nil {
		return objstore.Part{}, err
	}
	p := objstore.Part{PartNumber: n, ETag: etag, Size: int64(len(data)), LastModified: s.now().Truncate(time.Millisecond), Checksum: sum}
	u.parts[n] = &object{info: objstore.ObjectInfo{ETag: etag, Size: p.Size, LastModified: p.LastModified, Checksum: objstore.Checksum{Value: sum}}, data: data}
	return p, nil
}

// ListParts implements objstore.Multiparter.
func (s *Store) ListParts(ctx context.Context, bucketName, key, id string) ([]objstore.Part, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	u, err := s.upload(bucketName, key, id)
	if err != nil {
		return nil, err
	}
	out := []objstore.Part{}
	for _, n := range slices.Sorted(maps.Keys(u.parts)) {
		p := u.parts[n]
		out = append(out, objstore.Part{PartNumber: n, ETag: p.info.ETag, Size: p.info.Size, LastModified: p.info.LastModified, Checksum: p.info.Checksum.Value})
	}
	return out, nil
}

// CompleteMultipartUpload implements objstore.Multiparter.
func (s *Store) CompleteMultipartUpload(ctx context.Context, bucketName, key, id string, parts []objstore.Part, opts objstore.CompleteOptions) (objstore.ObjectInfo, error) {
	s.mu.Lock()
	u, err := s.upload(bucketName, key, id)
	if errors.Is(err, objstore.ErrNoSuchUpload) {
		// A retried completion of the upload that made the object.
		if o, ok := s.buckets[bucketName].objects[key]; ok && o.info.UploadID == id {
			s.mu.Unlock()
			return cloneInfo(o.info), nil
		}
	}
	if err != nil {
		s.mu.Unlock()
		return objstore.ObjectInfo{}, err
	}
	chosen, etag, err := objstore.CompleteParts(parts, func(n int) (objstore.Part, bool) {
		p, ok := u.parts[n]
		if !ok {
			return objstore.Part{}, false
		}
		return objstore.Part{PartNumber: n, ETag: p.info.ETag, Size: p.info.Size, Checksum: p.info.Checksum.Value}, true
	})
	if err != nil {
		s.mu.Unlock()
		return objstore.ObjectInfo{}, fmt.Errorf("complete upload %q: %w", id, err)
	}
	var data []byte
	for _, p := range chosen {
		data = append(data, u.parts[p.PartNumber].data...)
	}
	defer s.mu.Unlock()
	info := objstore.ObjectInfo{Size: int64(len(data)), ETag: etag, Parts: objstore.PartTable(chosen), UploadID: id}
	var full []byte
	if h := objstore.NewChecksumHash(u.ChecksumAlgorithm); h != nil {
		h.Write(data)
		full = h.Sum(nil)
	}
	info.Checksum = objstore.MultipartChecksum(u.ChecksumAlgorithm, u.ChecksumType, info.Parts, full)
	info, err = s.storeLocked(bucketName, key, data, info, u.opts, opts.Conditions)
	if err != nil {
		return objstore.ObjectInfo{}, fmt.Errorf("complete upload %q: %w", id, err)
	}
	delete(s.uploads, id)
	return info, nil
}

// AbortMultipartUpload implements objstore.Multiparter.
func (s *Store) AbortMultipartUpload(ctx context.Context, bucketName, key, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.upload(bucketName, key, id); err != nil {
		return err
	}
	delete(s.uploads, id)
	return nil
}

// ListMultipartUploads implements objstore.Multiparter.
func (s *Store) ListMultipartUploads(ctx context.Context, bucketName string) ([]objstore.Upload, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if _, err := s.bucket(bucketName); err != nil {
		return nil, err
	}
	out := []objstore.Upload{}
	for _, u := range s.uploads {
		if u.Bucket == bucketName {
			out = append(out, u.Upload)
		}
	}
	objstore.SortUploads(out)
	return out, nil
}

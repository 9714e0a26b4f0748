package diskstore

import (
	"context"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/imagerec/imagerec/internal/fsperm"
	"github.com/imagerec/imagerec/internal/objstore"
)

var (
	_ objstore.Store       = (*Store)(nil)
	_ objstore.Multiparter = (*Store)(nil)
)

// Options configure a Store. The zero value is the default.
type Options struct {
	// Logger receives cleanup notes from Open; nil discards them.
	Logger *slog.Logger
	// NoSync skips fsync (tests and benchmarks of the upper layers only).
	NoSync bool
}

type entry struct {
	info objstore.ObjectInfo
	data string // data file name within the hash directory
}

type bucketIndex struct {
	created time.Time
	objects map[string]*entry
}

type upload struct {
	objstore.Upload
	Opts       objstore.PutOptions `json:"opts"`
	completing bool
}

// Store keeps objects in files under a root directory.
type Store struct {
	root    string
	opts    Options
	log     *slog.Logger
	mu      sync.RWMutex
	buckets map[string]*bucketIndex
	uploads map[string]*upload
	bufs    sync.Pool
}

// sidecar is the JSON file that describes one object.
type sidecar struct {
	Key          string            `json:"key"`
	Size         int64             `json:"size"`
	ETag         string            `json:"etag"`
	ContentType  string            `json:"contentType,omitempty"`
	Metadata     map[string]string `json:"metadata,omitempty"`
	LastModified time.Time         `json:"lastModified"`
	Data         string            `json:"data"`
	// Written with the object in the same sidecar, so never torn from it.
	Headers  objstore.ContentHeaders `json:"headers,omitzero"`
	Checksum objstore.Checksum       `json:"checksum,omitzero"`
	Parts    []objstore.ObjectPart   `json:"parts,omitempty"`
	UploadID string                  `json:"uploadId,omitempty"`
}

type bucketFile struct {
	Name         string    `json:"name"`
	CreationDate time.Time `json:"creationDate"`
}

// Open opens (creating if needed) a Store under root, loads its index and
// removes leftovers of interrupted writes.
func Open(root string, opts Options) (*Store, error) {
	s := &Store{
		root:    root,
		opts:    opts,
		log:     opts.Logger,
		buckets: map[string]*bucketIndex{},
		uploads: map[string]*upload{},
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.bufs.New = func() any { b := make([]byte, 256<<10); return &b }
	for _, d := range []string{"buckets", "tmp"} {
		if err := os.MkdirAll(filepath.Join(root, d), fsperm.Dir); err != nil {
			return nil, fmt.Errorf("open store %q: %w", root, err)
		}
	}
	if err := os.RemoveAll(filepath.Join(root, "tmp")); err != nil {
		return nil, fmt.Errorf("open store %q: clean tmp: %w", root, err)
	}
	if err := os.MkdirAll(filepath.Join(root, "tmp"), fsperm.Dir); err != nil {
		return nil, fmt.Errorf("open store %q: %w", root, err)
	}
	des, err := os.ReadDir(filepath.Join(root, "buckets"))
	if err != nil {
		return nil, fmt.Errorf("open store %q: %w", root, err)
	}
	for _, de := range des {
		if err := s.loadBucket(de.Name()); err != nil {
			return nil, fmt.Errorf("open store %q: %w", root, err)
		}
	}
	return s, nil
}

func (s *Store) bucketDir(name string) string { return filepath.Join(s.root, "buckets", name) }

func keyHash(key string) string {
	h := sha256.Sum256([]byte(key))
	return hex.EncodeToString(h[:])
}

func (s *Store) hashDir(bucket, hash string) string {
	return filepath.Join(s.bucketDir(bucket), "obj", hash[:2])
}

func (s *Store) loadBucket(name string) error {
	if objstore.CheckBucketName(name) != nil {
		return nil
	}
	var bf bucketFile
	b, err := os.ReadFile(filepath.Join(s.bucketDir(name), "bucket.json"))
	if err != nil {
		return fmt.Errorf("load bucket %q: %w", name, err)
	}
	if err := json.Unmarshal(b, &bf); err != nil {
		return fmt.Errorf("load bucket %q: %w", name, err)
	}
	idx := &bucketIndex{created: bf.CreationDate, objects: map[string]*entry{}}
	hds, err := os.ReadDir(filepath.Join(s.bucketDir(name), "obj"))
	if err != nil {
		return fmt.Errorf("load bucket %q: %w", name, err)
	}
	for _, hd := range hds {
		dir := filepath.Join(s.bucketDir(name), "obj", hd.Name())
		files, err := os.ReadDir(dir)
		if err != nil {
			return fmt.Errorf("load bucket %q: %w", name, err)
		}
		keep := map[string]bool{}
		for _, f := range files {
			if !strings.HasSuffix(f.Name(), ".json") {
				continue
			}
			raw, err := os.ReadFile(filepath.Join(dir, f.Name()))
			if err != nil {
				return fmt.Errorf("load bucket %q: %w", name, err)
			}
			var sc sidecar
			if err := json.Unmarshal(raw, &sc); err != nil {
				s.log.Warn("skipping unreadable sidecar", "path", filepath.Join(dir, f.Name()), "error", err)
				continue
			}
			keep[sc.Data] = true
			idx.objects[sc.Key] = &entry{data: sc.Data, info: objstore.ObjectInfo{
				Bucket: name, Key: sc.Key, Size: sc.Size, ETag: sc.ETag, ContentType: sc.ContentType,
				LastModified: sc.LastModified, Metadata: sc.Metadata,
				Headers: sc.Headers, Checksum: sc.Checksum, Parts: sc.Parts, UploadID: sc.UploadID,
			}}
		}
		for _, f := range files {
			n := f.Name()
			if strings.HasSuffix(n, ".json") || keep[n] {
				continue
			}
			s.log.Info("removing leftover file", "path", filepath.Join(dir, n))
			if err := os.Remove(filepath.Join(dir, n)); err != nil {
				return fmt.Errorf("load bucket %q: %w", name, err)
			}
		}
	}
	ups, err := os.ReadDir(filepath.Join(s.bucketDir(name), "uploads"))
	if err != nil {
		return fmt.Errorf("load bucket %q: %w", name, err)
	}
	for _, ud := range ups {
		raw, err := os.ReadFile(filepath.Join(s.bucketDir(name), "uploads", ud.Name(), "upload.json"))
		if err != nil {
			s.log.Warn("removing incomplete upload", "upload_id", ud.Name(), "error", err)
			if err := os.RemoveAll(filepath.Join(s.bucketDir(name), "uploads", ud.Name())); err != nil {
				return fmt.Errorf("load bucket %q: %w", name, err)
			}
			continue
		}
		var u upload
		if err := json.Unmarshal(raw, &u); err != nil {
			return fmt.Errorf("load upload %q: %w", ud.Name(), err)
		}
		s.uploads[u.UploadID] = &u
	}
	s.buckets[name] = idx
	return nil
}

func (s *Store) syncDir(dir string) error {
	if s.opts.NoSync {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// writeFileSync writes data to path via a temporary file, fsync and rename.
func (s *Store) writeFileSync(path string, data []byte) error {
	tmp := path + ".tmp-" + rand.Text()
	err := s.writeSynced(tmp, data)
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp)
	}
	return err
}

func (s *Store) bucket(name string) (*bucketIndex, error) {
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
	created := time.Now().UTC().Truncate(time.Millisecond)
	tmp := filepath.Join(s.root, "tmp", "bucket-"+rand.Text())
	if err := s.prepareBucketDir(tmp, name, created); err != nil {
		_ = os.RemoveAll(tmp)
		return fmt.Errorf("create bucket %q: %w", name, err)
	}
	if err := os.Rename(tmp, s.bucketDir(name)); err != nil {
		_ = os.RemoveAll(tmp)
		return fmt.Errorf("create bucket %q: %w", name, err)
	}
	if err := s.syncDir(filepath.Join(s.root, "buckets")); err != nil {
		return fmt.Errorf("create bucket %q: %w", name, err)
	}
	s.buckets[name] = &bucketIndex{created: created, objects: map[string]*entry{}}
	return nil
}

func (s *Store) prepareBucketDir(dir, name string, created time.Time) error {
	for i := range 256 {
		if err := os.MkdirAll(filepath.Join(dir, "obj", fmt.Sprintf("%02x", i)), fsperm.Dir); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(filepath.Join(dir, "uploads"), fsperm.Dir); err != nil {
		return err
	}
	raw, err := json.Marshal(bucketFile{Name: name, CreationDate: created})
	if err != nil {
		return err
	}
	if err := s.writeFileSync(filepath.Join(dir, "bucket.json"), raw); err != nil {
		return err
	}
	return s.syncDir(dir)
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
	for _, u := range s.uploads {
		if u.Bucket == name && u.completing {
			return fmt.Errorf("delete bucket %q: an upload is completing: %w", name, objstore.ErrBucketNotEmpty)
		}
	}
	gone := filepath.Join(s.root, "tmp", "deleted-"+rand.Text())
	if err := os.Rename(s.bucketDir(name), gone); err != nil {
		return fmt.Errorf("delete bucket %q: %w", name, err)
	}
	if err := s.syncDir(filepath.Join(s.root, "buckets")); err != nil {
		return fmt.Errorf("delete bucket %q: %w", name, err)
	}
	delete(s.buckets, name)
	// Unfinished uploads go with the bucket, as in S3.
	for id, u := range s.uploads {
		if u.Bucket == name {
			delete(s.uploads, id)
		}
	}
	if err := os.RemoveAll(gone); err != nil {
		s.log.Warn("removing deleted bucket", "path", gone, "error", err)
	}
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

func (s *Store) checkBucket(name string) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	_, err := s.bucket(name)
	return err
}

// writeData streams body into a new data file in dir and returns its name,
// size and MD5, and a function that fsyncs and closes it (which the caller
// must call). On any error the file is removed.
func (s *Store) writeData(dir, base string, body io.Reader, wantMD5 []byte) (name string, size int64, sum []byte, finish func() error, err error) {
	name = base + "." + strings.ToLower(rand.Text()) + ".data"
	path := filepath.Join(dir, name)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, fsperm.File)
	if err != nil {
		return "", 0, nil, nil, err
	}
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(path)
		}
	}()
	h := md5.New()
	size, err = s.copyHashing(f, h, body)
	if err != nil {
		return "", 0, nil, nil, fmt.Errorf("read body: %w", err)
	}
	sum = h.Sum(nil)
	if err := objstore.CheckDigest(wantMD5, sum); err != nil {
		return "", 0, nil, nil, err
	}
	finish = func() error {
		var err error
		if !s.opts.NoSync {
			err = f.Sync()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			_ = os.Remove(path)
		}
		return err
	}
	return name, size, sum, finish, nil
}

// copyHashing copies body to f while h hashes the same bytes in a second
// goroutine (MD5 is the most expensive step of a PUT), double-buffered.
func (s *Store) copyHashing(f io.Writer, h hash.Hash, body io.Reader) (int64, error) {
	b1, b2 := s.bufs.Get().(*[]byte), s.bufs.Get().(*[]byte)
	defer s.bufs.Put(b1)
	defer s.bufs.Put(b2)
	work := make(chan []byte)
	done := make(chan struct{})
	go func() {
		for p := range work {
			h.Write(p)
			done <- struct{}{}
		}
	}()
	bufs := [2][]byte{*b1, *b2}
	var n int64
	pending := false
	finish := func() {
		if pending {
			<-done
			pending = false
		}
	}
	defer close(work)
	defer finish()
	for i := 0; ; i ^= 1 {
		m, rerr := fill(body, bufs[i])
		if m > 0 {
			finish() // the hasher is done with the other buffer
			work <- bufs[i][:m]
			pending = true
			if _, err := f.Write(bufs[i][:m]); err != nil {
				return n, err
			}
			n += int64(m)
		}
		if rerr == io.EOF { //nolint:errorlint // io.EOF is returned unwrapped by contract
			finish()
			return n, nil
		}
		if rerr != nil {
			return n, rerr
		}
	}
}

// fill reads into p until it is full or the reader fails; io.EOF is
// returned only for a clean end of the stream.
func fill(r io.Reader, p []byte) (int, error) {
	n := 0
	for n < len(p) {
		m, err := r.Read(p[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// commit makes a written data file the object: it writes the sidecar to a
// temporary file while the data file is fsynced (finishData), fsyncs the
// sidecar, then, under the write lock, checks c against the current object
// and renames the sidecar into place (the commit point), then fsyncs the
// directory and removes the data file the object had before. Everything
// known about the object (content headers, checksum, part table) is in the
// one sidecar.
func (s *Store) commit(bucket, key, dataName string, finishData func() error, info objstore.ObjectInfo, c objstore.Conditions) (objstore.ObjectInfo, error) {
	hash := keyHash(key)
	dir := s.hashDir(bucket, hash)
	info.Bucket, info.Key = bucket, key
	info.Metadata = maps.Clone(info.Metadata)
	info.LastModified = time.Now().UTC().Truncate(time.Millisecond)
	raw, err := json.Marshal(sidecar{
		Key: key, Size: info.Size, ETag: info.ETag, ContentType: info.ContentType,
		Metadata: info.Metadata, LastModified: info.LastModified, Data: dataName,
		Headers: info.Headers, Checksum: info.Checksum, Parts: info.Parts, UploadID: info.UploadID,
	})
	if err != nil {
		_ = finishData()
		_ = os.Remove(filepath.Join(dir, dataName))
		return objstore.ObjectInfo{}, err
	}
	dataDone := make(chan error, 1)
	go func() { dataDone <- finishData() }()
	tmp := filepath.Join(dir, hash+".json.tmp-"+rand.Text())
	werr := s.writeSynced(tmp, raw)
	if derr := <-dataDone; werr == nil {
		werr = derr
	}
	if werr != nil {
		_ = os.Remove(tmp)
		_ = os.Remove(filepath.Join(dir, dataName))
		return objstore.ObjectInfo{}, fmt.Errorf("write object: %w", werr)
	}
	s.mu.Lock()
	b, err := s.bucket(bucket)
	if err == nil {
		var cur *objstore.ObjectInfo
		if e, ok := b.objects[key]; ok {
			cur = &e.info
		}
		err = objstore.CheckConditions(key, c, cur)
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(dir, hash+".json"))
	}
	if err != nil {
		s.mu.Unlock()
		_ = os.Remove(tmp)
		_ = os.Remove(filepath.Join(dir, dataName))
		return objstore.ObjectInfo{}, err
	}
	old := b.objects[key]
	b.objects[key] = &entry{info: info, data: dataName}
	s.mu.Unlock()
	if err := s.syncDir(dir); err != nil {
		return objstore.ObjectInfo{}, fmt.Errorf("sync dir: %w", err)
	}
	if old != nil && old.data != dataName {
		if err := os.Remove(filepath.Join(dir, old.data)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			s.log.Warn("removing old data file", "path", filepath.Join(dir, old.data), "error", err)
		}
	}
	info.Metadata = maps.Clone(info.Metadata)
	return info, nil
}

// writeSynced creates path with data and fsyncs it.
func (s *Store) writeSynced(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, fsperm.File)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil && !s.opts.NoSync {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// PutObject implements objstore.Store.
func (s *Store) PutObject(ctx context.Context, bucket, key string, body io.Reader, opts objstore.PutOptions) (objstore.ObjectInfo, error) {
	if err := objstore.CheckKey(key); err != nil {
		return objstore.ObjectInfo{}, err
	}
	if err := s.checkBucket(bucket); err != nil {
		return objstore.ObjectInfo{}, err
	}
	hash := keyHash(key)
	name, size, sum, finish, err := s.writeData(s.hashDir(bucket, hash), hash, body, opts.ContentMD5)
	if err != nil {
		return objstore.ObjectInfo{}, fmt.Errorf("put object %q: %w", key, err)
	}
	info := objstore.ObjectInfo{
		Size: size, ETag: hex.EncodeToString(sum), ContentType: opts.ContentType, Metadata: opts.Metadata, Headers: opts.Headers,
	}
	if opts.Checksum != nil {
		info.Checksum = opts.Checksum()
	}
	info, err = s.commit(bucket, key, name, finish, info, opts.Conditions)
	if err != nil {
		return objstore.ObjectInfo{}, fmt.Errorf("put object %q: %w", key, err)
	}
	return info, nil
}

// GetObject implements objstore.Store.
func (s *Store) GetObject(ctx context.Context, bucket, key string) (io.ReadCloser, objstore.ObjectInfo, error) {
	return s.GetObjectRange(ctx, bucket, key, 0, -1)
}

type sectionFile struct {
	*io.SectionReader
	f *os.File
}

func (r sectionFile) Close() error { return r.f.Close() }

// GetObjectRange implements objstore.Store.
func (s *Store) GetObjectRange(ctx context.Context, bucket, key string, offset, length int64) (io.ReadCloser, objstore.ObjectInfo, error) {
	s.mu.RLock()
	b, err := s.bucket(bucket)
	if err != nil {
		s.mu.RUnlock()
		return nil, objstore.ObjectInfo{}, err
	}
	e, ok := b.objects[key]
	if !ok {
		s.mu.RUnlock()
		return nil, objstore.ObjectInfo{}, fmt.Errorf("object %q: %w", key, objstore.ErrNoSuchKey)
	}
	info := e.info
	info.Metadata = maps.Clone(info.Metadata)
	n, err := objstore.RangeLength(key, offset, length, info.Size)
	if err != nil {
		s.mu.RUnlock()
		return nil, objstore.ObjectInfo{}, err
	}
	// Open under the read lock: a concurrent overwrite removes the old
	// data file only after taking the write lock.
	f, err := os.Open(filepath.Join(s.hashDir(bucket, keyHash(key)), e.data))
	s.mu.RUnlock()
	if err != nil {
		return nil, objstore.ObjectInfo{}, fmt.Errorf("get object %q: %w", key, err)
	}
	if n == info.Size {
		return f, info, nil
	}
	return sectionFile{io.NewSectionReader(f, offset, n), f}, info, nil
}

// HeadObject implements objstore.Store.
func (s *Store) HeadObject(ctx context.Context, bucket, key string) (objstore.ObjectInfo, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	b, err := s.bucket(bucket)
	if err != nil {
		return objstore.ObjectInfo{}, err
	}
	e, ok := b.objects[key]
	if !ok {
		return objstore.ObjectInfo{}, fmt.Errorf("object %q: %w", key, objstore.ErrNoSuchKey)
	}
	info := e.info
	info.Metadata = maps.Clone(info.Metadata)
	return info, nil
}

// DeleteObject implements objstore.Store.
func (s *Store) DeleteObject(ctx context.Context, bucket, key string) error {
	s.mu.Lock()
	b, err := s.bucket(bucket)
	if err != nil {
		s.mu.Unlock()
		return err
	}
	e, ok := b.objects[key]
	if !ok {
		s.mu.Unlock()
		return nil
	}
	hash := keyHash(key)
	dir := s.hashDir(bucket, hash)
	if err := os.Remove(filepath.Join(dir, hash+".json")); err != nil && !errors.Is(err, fs.ErrNotExist) {
		s.mu.Unlock()
		return fmt.Errorf("delete object %q: %w", key, err)
	}
	delete(b.objects, key)
	s.mu.Unlock()
	if err := s.syncDir(dir); err != nil {
		return fmt.Errorf("delete object %q: %w", key, err)
	}
	if err := os.Remove(filepath.Join(dir, e.data)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		s.log.Warn("removing deleted object data", "path", filepath.Join(dir, e.data), "error", err)
	}
	return nil
}

// ListObjects implements objstore.Store.
func (s *Store) ListObjects(ctx context.Context, bucket string, opts objstore.ListOptions) (objstore.ListResult, error) {
	s.mu.RLock()
	b, err := s.bucket(bucket)
	if err != nil {
		s.mu.RUnlock()
		return objstore.ListResult{}, err
	}
	all := objstore.Candidates(b.objects, func(e *entry) objstore.ObjectInfo { return e.info }, opts)
	s.mu.RUnlock()
	return objstore.Page(all, opts), nil
}

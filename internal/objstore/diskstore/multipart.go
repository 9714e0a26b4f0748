package diskstore

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/imagerec/imagerec/internal/fsperm"
	"github.com/imagerec/imagerec/internal/objstore"
)

func (s *Store) uploadDir(bucket, id string) string {
	return filepath.Join(s.bucketDir(bucket), "uploads", id)
}

// CreateMultipartUpload implements objstore.Multiparter.
func (s *Store) CreateMultipartUpload(ctx context.Context, bucket, key string, opts objstore.PutOptions) (string, error) {
	if err := objstore.CheckKey(key); err != nil {
		return "", err
	}
	if err := s.checkBucket(bucket); err != nil {
		return "", err
	}
	alg, typ, err := objstore.CheckChecksumOptions(opts.ChecksumAlgorithm, opts.ChecksumType)
	if err != nil {
		return "", err
	}
	id := strings.ToLower(rand.Text())
	opts.ContentMD5, opts.Checksum, opts.Conditions = nil, nil, objstore.Conditions{}
	opts.Metadata = maps.Clone(opts.Metadata)
	u := &upload{
		Upload: objstore.Upload{Bucket: bucket, Key: key, UploadID: id, Initiated: time.Now().UTC().Truncate(time.Millisecond),
			ChecksumAlgorithm: alg, ChecksumType: typ},
		Opts: opts,
	}
	raw, err := json.Marshal(u)
	if err != nil {
		return "", err
	}
	dir := s.uploadDir(bucket, id)
	if err := os.Mkdir(dir, fsperm.Dir); err != nil {
		return "", fmt.Errorf("create upload: %w", err)
	}
	if err := s.writeFileSync(filepath.Join(dir, "upload.json"), raw); err != nil {
		_ = os.RemoveAll(dir)
		return "", fmt.Errorf("create upload: %w", err)
	}
	if err := s.syncDir(filepath.Dir(dir)); err != nil {
		return "", fmt.Errorf("create upload: %w", err)
	}
	s.mu.Lock()
	s.uploads[id] = u
	s.mu.Unlock()
	return id, nil
}

// upload returns the upload, the caller holding s.mu.
func (s *Store) upload(bucket, key, id string) (*upload, error) {
	if _, err := s.bucket(bucket); err != nil {
		return nil, err
	}
	u, ok := s.uploads[id]
	if !ok || u.Bucket != bucket || u.Key != key || u.completing {
		return nil, fmt.Errorf("upload %q: %w", id, objstore.ErrNoSuchUpload)
	}
	return u, nil
}

func partPrefix(n int) string { return fmt.Sprintf("%05d.", n) }

// partName is a part's file name: NNNNN.MD5.part, or NNNNN.MD5.SUM.part
// with SUM the hex of its checksum, so that the checksum is committed with
// the part by the same rename.
func partName(n int, etag, checksum string) (string, error) {
	if checksum == "" {
		return partPrefix(n) + etag + ".part", nil
	}
	raw, err := base64.StdEncoding.DecodeString(checksum)
	if err != nil {
		return "", fmt.Errorf("part checksum %q: %w", checksum, objstore.ErrInvalidChecksum)
	}
	return partPrefix(n) + etag + "." + hex.EncodeToString(raw) + ".part", nil
}

// UploadPart implements objstore.Multiparter.
func (s *Store) UploadPart(ctx context.Context, bucket, key, id string, n int, body io.Reader, opts objstore.PartOptions) (objstore.Part, error) {
	if err := objstore.CheckPartNumber(n); err != nil {
		return objstore.Part{}, err
	}
	s.mu.RLock()
	u, err := s.upload(bucket, key, id)
	var alg string
	if err == nil {
		alg = u.ChecksumAlgorithm
	}
	s.mu.RUnlock()
	if err != nil {
		return objstore.Part{}, err
	}
	dir := s.uploadDir(bucket, id)
	tmp, size, sum, finish, err := s.writeData(dir, "tmp", body, opts.ContentMD5)
	if err == nil {
		err = finish()
	}
	if err != nil {
		return objstore.Part{}, fmt.Errorf("upload part %d: %w", n, err)
	}
	etag := hex.EncodeToString(sum)
	checksum, err := objstore.PartChecksum(alg, opts.Checksum)
	var name string
	if err == nil {
		name, err = partName(n, etag, checksum)
	}
	if err != nil {
		_ = os.Remove(filepath.Join(dir, tmp))
		return objstore.Part{}, fmt.Errorf("upload part %d: %w", n, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.upload(bucket, key, id); err != nil {
		_ = os.Remove(filepath.Join(dir, tmp))
		return objstore.Part{}, err
	}
	olds, _ := filepath.Glob(filepath.Join(dir, partPrefix(n)+"*.part"))
	if err := os.Rename(filepath.Join(dir, tmp), filepath.Join(dir, name)); err != nil {
		return objstore.Part{}, fmt.Errorf("upload part %d: %w", n, err)
	}
	if err := s.syncDir(dir); err != nil {
		return objstore.Part{}, fmt.Errorf("upload part %d: %w", n, err)
	}
	for _, old := range olds {
		if filepath.Base(old) != name {
			_ = os.Remove(old)
		}
	}
	return objstore.Part{PartNumber: n, ETag: etag, Size: size, LastModified: time.Now().UTC().Truncate(time.Millisecond), Checksum: checksum}, nil
}

// parts reads the part files of an upload directory.
func parts(dir string) (map[int]objstore.Part, error) {
	des, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	out := map[int]objstore.Part{}
	for _, de := range des {
		f := strings.Split(de.Name(), ".")
		if (len(f) != 3 && len(f) != 4) || f[len(f)-1] != "part" {
			continue
		}
		n, err := strconv.Atoi(f[0])
		if err != nil {
			continue
		}
		var checksum string
		if len(f) == 4 {
			raw, err := hex.DecodeString(f[2])
			if err != nil {
				continue
			}
			checksum = base64.StdEncoding.EncodeToString(raw)
		}
		fi, err := de.Info()
		if err != nil {
			return nil, err
		}
		out[n] = objstore.Part{PartNumber: n, ETag: f[1], Size: fi.Size(), LastModified: fi.ModTime().UTC().Truncate(time.Millisecond),
			Checksum: checksum}
	}
	return out, nil
}

// ListParts implements objstore.Multiparter.
func (s *Store) ListParts(ctx context.Context, bucket, key, id string) ([]objstore.Part, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if _, err := s.upload(bucket, key, id); err != nil {
		return nil, err
	}
	m, err := parts(s.uploadDir(bucket, id))
	if err != nil {
		return nil, fmt.Errorf("list parts: %w", err)
	}
	out := make([]objstore.Part, 0, len(m))
	for _, p := range m {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].PartNumber < out[j].PartNumber })
	return out, nil
}

// CompleteMultipartUpload implements objstore.Multiparter.
func (s *Store) CompleteMultipartUpload(ctx context.Context, bucket, key, id string, want []objstore.Part, opts objstore.CompleteOptions) (objstore.ObjectInfo, error) {
	s.mu.Lock()
	u, err := s.upload(bucket, key, id)
	if errors.Is(err, objstore.ErrNoSuchUpload) {
		// A retried completion of the upload that made the object.
		if e, ok := s.buckets[bucket].objects[key]; ok && e.info.UploadID == id {
			info := e.info
			info.Metadata = maps.Clone(info.Metadata)
			s.mu.Unlock()
			return info, nil
		}
	}
	if err != nil {
		s.mu.Unlock()
		return objstore.ObjectInfo{}, err
	}
	dir := s.uploadDir(bucket, id)
	have, err := parts(dir)
	if err != nil {
		s.mu.Unlock()
		return objstore.ObjectInfo{}, fmt.Errorf("complete upload: %w", err)
	}
	chosen, etag, err := objstore.CompleteParts(want, func(n int) (objstore.Part, bool) {
		p, ok := have[n]
		return p, ok
	})
	if err != nil {
		s.mu.Unlock()
		return objstore.ObjectInfo{}, fmt.Errorf("complete upload %q: %w", id, err)
	}
	u.completing = true
	s.mu.Unlock()
	info, err := s.assemble(bucket, key, dir, u, chosen, etag, opts.Conditions)
	s.mu.Lock()
	if err != nil {
		u.completing = false
		s.mu.Unlock()
		return objstore.ObjectInfo{}, fmt.Errorf("complete upload %q: %w", id, err)
	}
	delete(s.uploads, id)
	s.mu.Unlock()
	if err := os.RemoveAll(dir); err != nil {
		s.log.Warn("removing completed upload", "path", dir, "error", err)
	}
	return info, nil
}

func (s *Store) assemble(bucket, key, dir string, u *upload, chosen []objstore.Part, etag string, c objstore.Conditions) (objstore.ObjectInfo, error) {
	readers := make([]io.Reader, len(chosen))
	var files []*os.File
	defer func() {
		for _, f := range files {
			_ = f.Close()
		}
	}()
	for i, p := range chosen {
		name, err := partName(p.PartNumber, p.ETag, p.Checksum)
		if err != nil {
			return objstore.ObjectInfo{}, err
		}
		f, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			return objstore.ObjectInfo{}, err
		}
		files = append(files, f)
		readers[i] = f
	}
	hash := keyHash(key)
	body := io.MultiReader(readers...)
	full := objstore.NewChecksumHash(u.ChecksumAlgorithm)
	if full != nil && u.ChecksumType == objstore.ChecksumFullObject {
		body = io.TeeReader(body, full)
	}
	name, size, _, finish, err := s.writeData(s.hashDir(bucket, hash), hash, body, nil)
	if err != nil {
		return objstore.ObjectInfo{}, err
	}
	info := objstore.ObjectInfo{
		Size: size, ETag: etag, ContentType: u.Opts.ContentType, Metadata: u.Opts.Metadata, Headers: u.Opts.Headers,
		Parts: objstore.PartTable(chosen), UploadID: u.UploadID,
	}
	var fullSum []byte
	if full != nil {
		fullSum = full.Sum(nil)
	}
	info.Checksum = objstore.MultipartChecksum(u.ChecksumAlgorithm, u.ChecksumType, info.Parts, fullSum)
	return s.commit(bucket, key, name, finish, info, c)
}

// AbortMultipartUpload implements objstore.Multiparter.
func (s *Store) AbortMultipartUpload(ctx context.Context, bucket, key, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.upload(bucket, key, id); err != nil {
		return err
	}
	if err := os.RemoveAll(s.uploadDir(bucket, id)); err != nil {
		return fmt.Errorf("abort upload %q: %w", id, err)
	}
	delete(s.uploads, id)
	return nil
}

// ListMultipartUploads implements objstore.Multiparter.
func (s *Store) ListMultipartUploads(ctx context.Context, bucket string) ([]objstore.Upload, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if _, err := s.bucket(bucket); err != nil {
		return nil, err
	}
	out := []objstore.Upload{}
	for _, u := range s.uploads {
		if u.Bucket == bucket {
			out = append(out, u.Upload)
		}
	}
	objstore.SortUploads(out)
	return out, nil
}

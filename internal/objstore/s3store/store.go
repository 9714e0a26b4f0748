package s3store

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/imagerec/imagerec/internal/objstore"
)

var (
	_ objstore.Store       = (*Store)(nil)
	_ objstore.Multiparter = (*Store)(nil)
	_ objstore.Uploader    = (*Store)(nil)
)

// Store is an objstore.Store over an S3 client. Configure the client for
// the endpoint (for s3api: BaseEndpoint and UsePathStyle).
type Store struct {
	c *s3.Client
}

// New returns a Store using c.
func New(c *s3.Client) *Store { return &Store{c: c} }

// translate maps an SDK error to objstore's sentinels; notFound is the
// sentinel a bare 404 (HEAD has no error body) stands for.
func translate(err error, notFound error) error {
	if err == nil {
		return nil
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		var sentinel error
		switch ae.ErrorCode() {
		case "NoSuchBucket":
			sentinel = objstore.ErrNoSuchBucket
		case "NoSuchKey":
			sentinel = objstore.ErrNoSuchKey
		case "NotFound":
			sentinel = notFound
		case "BucketAlreadyOwnedByYou", "BucketAlreadyExists":
			sentinel = objstore.ErrBucketExists
		case "BucketNotEmpty":
			sentinel = objstore.ErrBucketNotEmpty
		case "InvalidBucketName":
			sentinel = objstore.ErrInvalidBucketName
		case "KeyTooLongError":
			sentinel = objstore.ErrInvalidKey
		case "BadDigest", "InvalidDigest":
			sentinel = objstore.ErrBadDigest
		case "InvalidRange":
			sentinel = objstore.ErrInvalidRange
		case "NoSuchUpload":
			sentinel = objstore.ErrNoSuchUpload
		case "InvalidPart":
			sentinel = objstore.ErrInvalidPart
		case "InvalidPartOrder":
			sentinel = objstore.ErrInvalidPartOrder
		case "EntityTooSmall":
			sentinel = objstore.ErrEntityTooSmall
		case "PreconditionFailed", "ConditionalRequestConflict":
			sentinel = objstore.ErrPreconditionFailed
		case "InvalidChecksum":
			sentinel = objstore.ErrInvalidChecksum
		case "InvalidRequest":
			if strings.Contains(strings.ToLower(ae.ErrorMessage()), "checksum") {
				sentinel = objstore.ErrInvalidChecksum
			}
		}
		if sentinel != nil {
			return fmt.Errorf("%w: %w", sentinel, err)
		}
	}
	return err
}

// CreateBucket implements objstore.Store. S3 in us-east-1 answers 200 to
// CreateBucket of a bucket the caller owns, so an existing bucket is
// looked for first.
func (s *Store) CreateBucket(ctx context.Context, bucket string) error {
	if err := objstore.CheckBucketName(bucket); err != nil {
		return err
	}
	if _, err := s.c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(bucket)}); err == nil {
		return fmt.Errorf("create bucket %q: %w", bucket, objstore.ErrBucketExists)
	}
	_, err := s.c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)})
	if err != nil {
		return fmt.Errorf("create bucket %q: %w", bucket, translate(err, objstore.ErrNoSuchBucket))
	}
	return nil
}

// DeleteBucket implements objstore.Store.
func (s *Store) DeleteBucket(ctx context.Context, bucket string) error {
	if err := objstore.CheckBucketName(bucket); err != nil {
		return fmt.Errorf("%w: %w", objstore.ErrNoSuchBucket, err)
	}
	_, err := s.c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(bucket)})
	if err != nil {
		return fmt.Errorf("delete bucket %q: %w", bucket, translate(err, objstore.ErrNoSuchBucket))
	}
	return nil
}

// HeadBucket implements objstore.Store. S3 reports no creation date in
// HeadBucket: it is looked up in ListBuckets.
func (s *Store) HeadBucket(ctx context.Context, bucket string) (objstore.BucketInfo, error) {
	if objstore.CheckBucketName(bucket) != nil {
		return objstore.BucketInfo{}, fmt.Errorf("bucket %q: %w", bucket, objstore.ErrNoSuchBucket)
	}
	if _, err := s.c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(bucket)}); err != nil {
		return objstore.BucketInfo{}, fmt.Errorf("head bucket %q: %w", bucket, translate(err, objstore.ErrNoSuchBucket))
	}
	bs, err := s.ListBuckets(ctx)
	if err != nil {
		return objstore.BucketInfo{}, err
	}
	for _, b := range bs {
		if b.Name == bucket {
			return b, nil
		}
	}
	return objstore.BucketInfo{Name: bucket}, nil
}

// ListBuckets implements objstore.Store.
func (s *Store) ListBuckets(ctx context.Context) ([]objstore.BucketInfo, error) {
	var out []objstore.BucketInfo
	p := s3.NewListBucketsPaginator(s.c, &s3.ListBucketsInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list buckets: %w", translate(err, objstore.ErrNoSuchBucket))
		}
		for _, b := range page.Buckets {
			out = append(out, objstore.BucketInfo{Name: aws.ToString(b.Name), CreationDate: aws.ToTime(b.CreationDate)})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// seekable returns body as a sized io.ReadSeeker, spooling it to a
// temporary file when it is not one (or when spool is set: the body must
// then have been read to its end on return); cleanup removes the file.
func seekable(body io.Reader, spool bool) (io.ReadSeeker, int64, func(), error) {
	if rs, ok := body.(io.ReadSeeker); ok && !spool {
		cur, err := rs.Seek(0, io.SeekCurrent)
		if err == nil {
			end, err := rs.Seek(0, io.SeekEnd)
			if err == nil {
				if _, err := rs.Seek(cur, io.SeekStart); err == nil {
					return rs, end - cur, func() {}, nil
				}
			}
		}
	}
	f, err := os.CreateTemp("", "s3store-*")
	if err != nil {
		return nil, 0, nil, err
	}
	cleanup := func() { _ = f.Close(); _ = os.Remove(f.Name()) }
	n, err := io.Copy(f, body)
	if err != nil {
		cleanup()
		return nil, 0, nil, fmt.Errorf("read body: %w", err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		cleanup()
		return nil, 0, nil, err
	}
	return f, n, cleanup, nil
}

// PutObject implements objstore.Store.
func (s *Store) PutObject(ctx context.Context, bucket, key string, body io.Reader, opts objstore.PutOptions) (objstore.ObjectInfo, error) {
	if err := s.Upload(ctx, bucket, key, body, opts); err != nil {
		return objstore.ObjectInfo{}, err
	}
	return s.HeadObject(ctx, bucket, key)
}

// Upload implements objstore.Uploader: PutObject without the HeadObject
// that reads the stored object's ObjectInfo back.
func (s *Store) Upload(ctx context.Context, bucket, key string, body io.Reader, opts objstore.PutOptions) error {
	if err := objstore.CheckKey(key); err != nil {
		return err
	}
	rs, n, cleanup, err := seekable(body, opts.Checksum != nil)
	if err != nil {
		return fmt.Errorf("put object %q: %w", key, err)
	}
	defer cleanup()
	in := &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: rs, ContentLength: aws.Int64(n), Metadata: opts.Metadata,
		CacheControl: optional(opts.Headers.CacheControl), ContentDisposition: optional(opts.Headers.ContentDisposition),
		ContentEncoding: optional(opts.Headers.ContentEncoding), ContentLanguage: optional(opts.Headers.ContentLanguage),
		ContentType: optional(opts.ContentType), IfMatch: optional(opts.IfMatch), IfNoneMatch: optional(opts.IfNoneMatch)}
	if t, err := http.ParseTime(opts.Headers.Expires); err == nil {
		in.Expires = aws.Time(t)
	}
	if len(opts.ContentMD5) > 0 {
		in.ContentMD5 = aws.String(base64.StdEncoding.EncodeToString(opts.ContentMD5))
	}
	if opts.Checksum != nil {
		setChecksum(opts.Checksum(), &in.ChecksumCRC32, &in.ChecksumCRC32C, &in.ChecksumCRC64NVME, &in.ChecksumSHA1, &in.ChecksumSHA256)
	}
	if _, err := s.c.PutObject(ctx, in); err != nil {
		return fmt.Errorf("put object %q: %w", key, translate(err, objstore.ErrNoSuchBucket))
	}
	return nil
}

func optional(v string) *string {
	if v == "" {
		return nil
	}
	return aws.String(v)
}

// setChecksum sets the one of the SDK's checksum fields that c's
// algorithm names.
func setChecksum(c objstore.Checksum, crc32, crc32c, crc64, sha1, sha256 **string) {
	if c.Value == "" {
		return
	}
	v := aws.String(strings.TrimSuffix(c.Value, "-"))
	switch strings.ToUpper(c.Algorithm) {
	case "CRC32":
		*crc32 = v
	case "CRC32C":
		*crc32c = v
	case "CRC64NVME":
		*crc64 = v
	case "SHA1":
		*sha1 = v
	case "SHA256":
		*sha256 = v
	}
}

// checksumOf reads the SDK's checksum fields back.
func checksumOf(typ types.ChecksumType, crc32, crc32c, crc64, sha1, sha256 *string) objstore.Checksum {
	for _, c := range []struct {
		alg string
		v   *string
	}{{"CRC32", crc32}, {"CRC32C", crc32c}, {"CRC64NVME", crc64}, {"SHA1", sha1}, {"SHA256", sha256}} {
		if v := aws.ToString(c.v); v != "" {
			return objstore.Checksum{Algorithm: c.alg, Value: v, Type: string(typ)}
		}
	}
	return objstore.Checksum{}
}

func infoFromHeaders(bucket, key string, size int64, etag, ct *string, lm *time.Time, meta map[string]string, version *string) objstore.ObjectInfo {
	return objstore.ObjectInfo{
		Bucket: bucket, Key: key, Size: size, ETag: strings.Trim(aws.ToString(etag), `"`),
		ContentType: aws.ToString(ct), LastModified: aws.ToTime(lm), Metadata: maps.Clone(meta), VersionID: aws.ToString(version),
	}
}

func headersOf(cc, cd, ce, cl, expires *string) objstore.ContentHeaders {
	return objstore.ContentHeaders{CacheControl: aws.ToString(cc), ContentDisposition: aws.ToString(cd),
		ContentEncoding: aws.ToString(ce), ContentLanguage: aws.ToString(cl), Expires: aws.ToString(expires)}
}

// GetObject implements objstore.Store.
func (s *Store) GetObject(ctx context.Context, bucket, key string) (io.ReadCloser, objstore.ObjectInfo, error) {
	return s.GetObjectRange(ctx, bucket, key, 0, -1)
}

// GetObjectRange implements objstore.Store.
func (s *Store) GetObjectRange(ctx context.Context, bucket, key string, offset, length int64) (io.ReadCloser, objstore.ObjectInfo, error) {
	if offset < 0 || length == 0 {
		return nil, objstore.ObjectInfo{}, fmt.Errorf("object %q offset %d length %d: %w", key, offset, length, objstore.ErrInvalidRange)
	}
	in := &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}
	if offset > 0 || length > 0 {
		r := "bytes=" + strconv.FormatInt(offset, 10) + "-"
		if length > 0 {
			r += strconv.FormatInt(offset+length-1, 10)
		}
		in.Range = aws.String(r)
	}
	out, err := s.c.GetObject(ctx, in)
	if err != nil {
		return nil, objstore.ObjectInfo{}, fmt.Errorf("get object %q: %w", key, translate(err, objstore.ErrNoSuchKey))
	}
	size := aws.ToInt64(out.ContentLength)
	if cr := aws.ToString(out.ContentRange); cr != "" {
		if _, total, ok := strings.Cut(cr, "/"); ok {
			if n, err := strconv.ParseInt(total, 10, 64); err == nil {
				size = n
			}
		}
	}
	info := infoFromHeaders(bucket, key, size, out.ETag, out.ContentType, out.LastModified, out.Metadata, out.VersionId)
	info.Headers = headersOf(out.CacheControl, out.ContentDisposition, out.ContentEncoding, out.ContentLanguage, out.ExpiresString)
	return out.Body, info, nil
}

// HeadObject implements objstore.Store. The checksum is asked for
// (ChecksumMode ENABLED); the part table of a multipart object costs one
// HEAD with partNumber per part.
func (s *Store) HeadObject(ctx context.Context, bucket, key string) (objstore.ObjectInfo, error) {
	out, err := s.c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), ChecksumMode: types.ChecksumModeEnabled})
	if err != nil {
		return objstore.ObjectInfo{}, fmt.Errorf("head object %q: %w", key, translate(err, objstore.ErrNoSuchKey))
	}
	info := infoFromHeaders(bucket, key, aws.ToInt64(out.ContentLength), out.ETag, out.ContentType, out.LastModified, out.Metadata, out.VersionId)
	info.Headers = headersOf(out.CacheControl, out.ContentDisposition, out.ContentEncoding, out.ContentLanguage, out.ExpiresString)
	info.Checksum = checksumOf(out.ChecksumType, out.ChecksumCRC32, out.ChecksumCRC32C, out.ChecksumCRC64NVME, out.ChecksumSHA1, out.ChecksumSHA256)
	if i := strings.LastIndex(info.ETag, "-"); i >= 0 {
		n, _ := strconv.Atoi(info.ETag[i+1:])
		for p := 1; p <= n; p++ {
			po, err := s.c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), PartNumber: aws.Int32(int32(p)),
				ChecksumMode: types.ChecksumModeEnabled, IfMatch: out.ETag})
			if err != nil {
				return objstore.ObjectInfo{}, fmt.Errorf("head object %q part %d: %w", key, p, translate(err, objstore.ErrNoSuchKey))
			}
			c := checksumOf(po.ChecksumType, po.ChecksumCRC32, po.ChecksumCRC32C, po.ChecksumCRC64NVME, po.ChecksumSHA1, po.ChecksumSHA256)
			info.Parts = append(info.Parts, objstore.ObjectPart{Number: p, Size: aws.ToInt64(po.ContentLength), Checksum: c.Value})
		}
	}
	return info, nil
}

// DeleteObject implements objstore.Store.
func (s *Store) DeleteObject(ctx context.Context, bucket, key string) error {
	_, err := s.c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return fmt.Errorf("delete object %q: %w", key, translate(err, objstore.ErrNoSuchKey))
	}
	return nil
}

// ListObjects implements objstore.Store (ListObjectsV2).
func (s *Store) ListObjects(ctx context.Context, bucket string, opts objstore.ListOptions) (objstore.ListResult, error) {
	in := &s3.ListObjectsV2Input{Bucket: aws.String(bucket)}
	if opts.Prefix != "" {
		in.Prefix = aws.String(opts.Prefix)
	}
	if opts.Delimiter != "" {
		in.Delimiter = aws.String(opts.Delimiter)
	}
	if opts.StartAfter != "" {
		in.StartAfter = aws.String(opts.StartAfter)
	}
	if opts.MaxKeys > 0 {
		in.MaxKeys = aws.Int32(int32(min(opts.MaxKeys, 1000)))
	}
	out, err := s.c.ListObjectsV2(ctx, in)
	if err != nil {
		return objstore.ListResult{}, fmt.Errorf("list objects: %w", translate(err, objstore.ErrNoSuchBucket))
	}
	var res objstore.ListResult
	for _, o := range out.Contents {
		res.Objects = append(res.Objects, objstore.ObjectInfo{
			Bucket: bucket, Key: aws.ToString(o.Key), Size: aws.ToInt64(o.Size),
			ETag: strings.Trim(aws.ToString(o.ETag), `"`), LastModified: aws.ToTime(o.LastModified),
		})
	}
	for _, p := range out.CommonPrefixes {
		res.CommonPrefixes = append(res.CommonPrefixes, aws.ToString(p.Prefix))
	}
	res.IsTruncated = aws.ToBool(out.IsTruncated)
	if res.IsTruncated {
		if n := len(res.Objects); n > 0 {
			res.NextStartAfter = res.Objects[n-1].Key
		}
		if n := len(res.CommonPrefixes); n > 0 && res.CommonPrefixes[n-1] > res.NextStartAfter {
			res.NextStartAfter = res.CommonPrefixes[n-1]
		}
	}
	return res, nil
}

// CreateMultipartUpload implements objstore.Multiparter.
func (s *Store) CreateMultipartUpload(ctx context.Context, bucket, key string, opts objstore.PutOptions) (string, error) {
	if err := objstore.CheckKey(key); err != nil {
		return "", err
	}
	in := &s3.CreateMultipartUploadInput{Bucket: aws.String(bucket), Key: aws.String(key), Metadata: opts.Metadata,
		CacheControl: optional(opts.Headers.CacheControl), ContentDisposition: optional(opts.Headers.ContentDisposition),
		ContentEncoding: optional(opts.Headers.ContentEncoding), ContentLanguage: optional(opts.Headers.ContentLanguage),
		ContentType: optional(opts.ContentType), ChecksumAlgorithm: types.ChecksumAlgorithm(strings.ToUpper(opts.ChecksumAlgorithm)),
		ChecksumType: types.ChecksumType(strings.ToUpper(opts.ChecksumType))}
	if t, err := http.ParseTime(opts.Headers.Expires); err == nil {
		in.Expires = aws.Time(t)
	}
	out, err := s.c.CreateMultipartUpload(ctx, in)
	if err != nil {
		return "", fmt.Errorf("create upload %q: %w", key, translate(err, objstore.ErrNoSuchBucket))
	}
	return aws.ToString(out.UploadId), nil
}

// UploadPart implements objstore.Multiparter.
func (s *Store) UploadPart(ctx context.Context, bucket, key, uploadID string, n int, body io.Reader, opts objstore.PartOptions) (objstore.Part, error) {
	if err := objstore.CheckPartNumber(n); err != nil {
		return objstore.Part{}, err
	}
	rs, size, cleanup, err := seekable(body, opts.Checksum != nil)
	if err != nil {
		return objstore.Part{}, fmt.Errorf("upload part %d: %w", n, err)
	}
	defer cleanup()
	in := &s3.UploadPartInput{Bucket: aws.String(bucket), Key: aws.String(key), UploadId: aws.String(uploadID),
		PartNumber: aws.Int32(int32(n)), Body: rs, ContentLength: aws.Int64(size)}
	if len(opts.ContentMD5) > 0 {
		in.ContentMD5 = aws.String(base64.StdEncoding.EncodeToString(opts.ContentMD5))
	}
	if opts.Checksum != nil {
		setChecksum(opts.Checksum(), &in.ChecksumCRC32, &in.ChecksumCRC32C, &in.ChecksumCRC64NVME, &in.ChecksumSHA1, &in.ChecksumSHA256)
	}
	out, err := s.c.UploadPart(ctx, in)
	if err != nil {
		return objstore.Part{}, fmt.Errorf("upload part %d: %w", n, translate(err, objstore.ErrNoSuchUpload))
	}
	c := checksumOf("", out.ChecksumCRC32, out.ChecksumCRC32C, out.ChecksumCRC64NVME, out.ChecksumSHA1, out.ChecksumSHA256)
	return objstore.Part{PartNumber: n, ETag: strings.Trim(aws.ToString(out.ETag), `"`), Size: size, LastModified: time.Now().UTC(), Checksum: c.Value}, nil
}

// ListParts implements objstore.Multiparter.
func (s *Store) ListParts(ctx context.Context, bucket, key, uploadID string) ([]objstore.Part, error) {
	out := []objstore.Part{}
	p := s3.NewListPartsPaginator(s.c, &s3.ListPartsInput{Bucket: aws.String(bucket), Key: aws.String(key), UploadId: aws.String(uploadID)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list parts: %w", translate(err, objstore.ErrNoSuchUpload))
		}
		for _, pt := range page.Parts {
			c := checksumOf("", pt.ChecksumCRC32, pt.ChecksumCRC32C, pt.ChecksumCRC64NVME, pt.ChecksumSHA1, pt.ChecksumSHA256)
			out = append(out, objstore.Part{PartNumber: int(aws.ToInt32(pt.PartNumber)), ETag: strings.Trim(aws.ToString(pt.ETag), `"`),
				Size: aws.ToInt64(pt.Size), LastModified: aws.ToTime(pt.LastModified), Checksum: c.Value})
		}
	}
	return out, nil
}

// CompleteMultipartUpload implements objstore.Multiparter.
func (s *Store) CompleteMultipartUpload(ctx context.Context, bucket, key, uploadID string, parts []objstore.Part, opts objstore.CompleteOptions) (objstore.ObjectInfo, error) {
	if len(parts) == 0 {
		return objstore.ObjectInfo{}, fmt.Errorf("complete upload %q: no parts: %w", uploadID, objstore.ErrInvalidPart)
	}
	alg := ""
	for _, p := range parts {
		if p.Checksum != "" {
			alg = s.uploadAlgorithm(ctx, bucket, uploadID)
			break
		}
	}
	var cps []types.CompletedPart
	for _, p := range parts {
		etag := strings.Trim(p.ETag, `"`)
		cp := types.CompletedPart{PartNumber: aws.Int32(int32(p.PartNumber)), ETag: aws.String(`"` + etag + `"`)}
		setChecksum(objstore.Checksum{Algorithm: alg, Value: p.Checksum}, &cp.ChecksumCRC32, &cp.ChecksumCRC32C, &cp.ChecksumCRC64NVME, &cp.ChecksumSHA1, &cp.ChecksumSHA256)
		cps = append(cps, cp)
	}
	_, err := s.c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String(bucket), Key: aws.String(key),
		UploadId: aws.String(uploadID), MultipartUpload: &types.CompletedMultipartUpload{Parts: cps},
		IfMatch: optional(opts.IfMatch), IfNoneMatch: optional(opts.IfNoneMatch)})
	if err != nil {
		return objstore.ObjectInfo{}, fmt.Errorf("complete upload %q: %w", uploadID, translate(err, objstore.ErrNoSuchUpload))
	}
	return s.HeadObject(ctx, bucket, key)
}

// uploadAlgorithm is the checksum algorithm an upload was created with
// ("" when unknown).
func (s *Store) uploadAlgorithm(ctx context.Context, bucket, uploadID string) string {
	out, err := s.c.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String(bucket)})
	if err != nil {
		return ""
	}
	for _, u := range out.Uploads {
		if aws.ToString(u.UploadId) == uploadID {
			return string(u.ChecksumAlgorithm)
		}
	}
	return ""
}

// AbortMultipartUpload implements objstore.Multiparter.
func (s *Store) AbortMultipartUpload(ctx context.Context, bucket, key, uploadID string) error {
	_, err := s.c.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: aws.String(bucket), Key: aws.String(key), UploadId: aws.String(uploadID)})
	if err != nil {
		return fmt.Errorf("abort upload %q: %w", uploadID, translate(err, objstore.ErrNoSuchUpload))
	}
	return nil
}

// ListMultipartUploads implements objstore.Multiparter.
func (s *Store) ListMultipartUploads(ctx context.Context, bucket string) ([]objstore.Upload, error) {
	out, err := s.c.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String(bucket)})
	if err != nil {
		return nil, fmt.Errorf("list uploads: %w", translate(err, objstore.ErrNoSuchBucket))
	}
	ups := []objstore.Upload{}
	for _, u := range out.Uploads {
		ups = append(ups, objstore.Upload{Bucket: bucket, Key: aws.ToString(u.Key), UploadID: aws.ToString(u.UploadId), Initiated: aws.ToTime(u.Initiated),
			ChecksumAlgorithm: string(u.ChecksumAlgorithm), ChecksumType: string(u.ChecksumType)})
	}
	return ups, nil
}

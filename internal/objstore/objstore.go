package objstore

import (
	"context"
	"errors"
	"io"
	"time"
)

// Sentinel errors. Drivers wrap them (errors.Is works) and may add context.
var (
	// ErrNoSuchBucket: the bucket does not exist. Returned by every method
	// that takes a bucket name, except CreateBucket.
	ErrNoSuchBucket = errors.New("no such bucket")
	// ErrNoSuchKey: the object does not exist (GetObject, GetObjectRange,
	// HeadObject). DeleteObject of a missing key succeeds, as in S3.
	ErrNoSuchKey = errors.New("no such key")
	// ErrBucketExists: CreateBucket of a bucket that already exists.
	ErrBucketExists = errors.New("bucket already exists")
	// ErrBucketNotEmpty: DeleteBucket of a bucket that holds objects.
	ErrBucketNotEmpty = errors.New("bucket not empty")
	// ErrInvalidBucketName: a bucket name that breaks S3's naming rules.
	ErrInvalidBucketName = errors.New("invalid bucket name")
	// ErrInvalidKey: an empty key, a key over 1024 bytes or not valid UTF-8.
	ErrInvalidKey = errors.New("invalid key")
	// ErrBadDigest: PutOptions.ContentMD5 or a part's MD5 did not match
	// the bytes received.
	ErrBadDigest = errors.New("bad digest")
	// ErrInvalidRange: GetObjectRange with an offset beyond the object.
	ErrInvalidRange = errors.New("invalid range")
	// ErrNoSuchUpload: a multipart upload ID that is unknown (or finished).
	ErrNoSuchUpload = errors.New("no such upload")
	// ErrInvalidPart: CompleteMultipartUpload names a part that was not
	// uploaded or whose ETag differs.
	ErrInvalidPart = errors.New("invalid part")
	// ErrInvalidPartOrder: CompleteMultipartUpload parts not in ascending
	// order.
	ErrInvalidPartOrder = errors.New("invalid part order")
	// ErrEntityTooSmall: a part other than the last is below MinPartSize.
	ErrEntityTooSmall = errors.New("entity too small")
	// ErrPreconditionFailed: a conditional write (Conditions) whose
	// condition did not hold when the object was to be committed; nothing
	// was written. PutObject, CompleteMultipartUpload.
	ErrPreconditionFailed = errors.New("precondition failed")
	// ErrInvalidChecksum: a part's checksum in CompleteMultipartUpload
	// differs from the one stored, or a checksum algorithm is unknown.
	ErrInvalidChecksum = errors.New("invalid checksum")
)

// MinPartSize is S3's minimum size of every multipart part but the last.
const MinPartSize = 5 << 20

// MaxPartNumber is the highest multipart part number (S3's limit, also
// the most parts CompleteMultipartUpload takes).
const MaxPartNumber = 10000

// MaxKeyLen is the longest key in bytes.
const MaxKeyLen = 1024

// BucketInfo describes a bucket.
type BucketInfo struct {
	Name         string
	CreationDate time.Time
}

// ObjectInfo describes a stored object.
type ObjectInfo struct {
	Bucket string
	Key    string
	Size   int64
	// ETag without quotes: hex MD5, or hex(md5 of part md5s)-N.
	ETag         string
	ContentType  string
	LastModified time.Time
	// VersionID is empty: versioning is not supported.
	VersionID string
	// Metadata holds user metadata (x-amz-meta-*), keys lower-case without
	// the prefix.
	Metadata map[string]string
	// Headers are the content headers stored with the object.
	Headers ContentHeaders
	// Checksum is the flexible checksum stored with the object (zero when
	// none was sent).
	Checksum Checksum
	// Parts is the part table of an object made by
	// CompleteMultipartUpload, in order; nil otherwise.
	Parts []ObjectPart
	// UploadID is the multipart upload that made the object ("" for
	// PutObject).
	UploadID string
}

// ContentHeaders are the HTTP content headers S3 stores with an object
// and returns on GET and HEAD, as the client sent them.
type ContentHeaders struct {
	CacheControl       string `json:"cacheControl,omitempty"`
	ContentDisposition string `json:"contentDisposition,omitempty"`
	ContentEncoding    string `json:"contentEncoding,omitempty"`
	ContentLanguage    string `json:"contentLanguage,omitempty"`
	Expires            string `json:"expires,omitempty"`
}

// Checksum is a flexible checksum (x-amz-checksum-*) of an object or part.
type Checksum struct {
	// Algorithm is one of ChecksumAlgorithms ("CRC32", "CRC32C",
	// "CRC64NVME", "SHA1", "SHA256"); empty means no checksum.
	Algorithm string `json:"algorithm,omitempty"`
	// Value is the base64 digest; for a COMPOSITE multipart checksum it is
	// the base64 digest of the parts' digests followed by "-N".
	Value string `json:"value,omitempty"`
	// Type is ChecksumFullObject or ChecksumComposite.
	Type string `json:"type,omitempty"`
}

// Checksum types (x-amz-checksum-type).
const (
	ChecksumFullObject = "FULL_OBJECT"
	ChecksumComposite  = "COMPOSITE"
)

// ObjectPart is one row of a multipart object's part table.
type ObjectPart struct {
	Number int    `json:"n"`
	Size   int64  `json:"size"`
	ETag   string `json:"etag"`
	// Checksum is the part's base64 checksum (the upload's algorithm), if
	// it had one.
	Checksum string `json:"checksum,omitempty"`
}

// Conditions make a write conditional on the object it replaces. They are
// checked atomically with the commit: of two writers with IfNoneMatch "*"
// exactly one succeeds. A condition that does not hold is
// ErrPreconditionFailed, except IfMatch on a missing object, which is
// ErrNoSuchKey (as S3 answers 404).
type Conditions struct {
	// IfMatch: write only if the current object's ETag is this one
	// (quotes ignored; "*" means any existing object).
	IfMatch string `json:"-"`
	// IfNoneMatch: "*" writes only if no object has the key.
	IfNoneMatch string `json:"-"`
}

// PutOptions are the optional attributes of a new object.
type PutOptions struct {
	ContentType string
	Metadata    map[string]string
	Headers     ContentHeaders
	// ContentMD5, when set (16 bytes), is checked against the MD5 of the
	// body; a mismatch returns ErrBadDigest and stores nothing.
	ContentMD5 []byte
	// Checksum, when set, is called once the body has been read to its
	// end, and what it returns is stored with the object (the caller has
	// verified it against the bytes by then). For CreateMultipartUpload
	// use ChecksumAlgorithm instead.
	Checksum func() Checksum `json:"-"`
	// ChecksumAlgorithm and ChecksumType (CreateMultipartUpload only) name
	// the checksum the parts carry and how the object's checksum is made
	// from them (ChecksumComposite by default, ChecksumFullObject for
	// CRC64NVME).
	ChecksumAlgorithm string
	ChecksumType      string
	Conditions
}

// PartOptions are the optional attributes of an uploaded part.
type PartOptions struct {
	// ContentMD5 as in PutOptions.
	ContentMD5 []byte
	// Checksum as in PutOptions: called at the end of the body; its Value
	// is stored as the part's checksum.
	Checksum func() Checksum
}

// CompleteOptions are the optional conditions of CompleteMultipartUpload.
type CompleteOptions struct {
	Conditions
}

// ListOptions select objects for ListObjects. The zero value lists every
// object, up to 1000.
type ListOptions struct {
	Prefix    string
	Delimiter string
	// StartAfter lists keys strictly after this one (also used for
	// continuation).
	StartAfter string
	// MaxKeys caps Objects+CommonPrefixes; 0 means 1000.
	MaxKeys int
}

// ListResult is one page of ListObjects.
type ListResult struct {
	Objects        []ObjectInfo
	CommonPrefixes []string
	// IsTruncated reports more results; NextStartAfter is the last key or
	// common prefix returned, to pass as the next StartAfter.
	IsTruncated    bool
	NextStartAfter string
}

// Store holds buckets of objects. Implementations are safe for concurrent
// use.
type Store interface {
	CreateBucket(ctx context.Context, bucket string) error
	// DeleteBucket returns ErrBucketNotEmpty when objects remain; it
	// discards unfinished multipart uploads, as S3 does.
	DeleteBucket(ctx context.Context, bucket string) error
	HeadBucket(ctx context.Context, bucket string) (BucketInfo, error)
	// ListBuckets returns buckets sorted by name.
	ListBuckets(ctx context.Context) ([]BucketInfo, error)

	// PutObject stores the object; opts.Conditions are checked against the
	// object it replaces, atomically with the commit.
	PutObject(ctx context.Context, bucket, key string, body io.Reader, opts PutOptions) (ObjectInfo, error)
	// GetObject returns the whole object; the caller closes the reader.
	GetObject(ctx context.Context, bucket, key string) (io.ReadCloser, ObjectInfo, error)
	// GetObjectRange returns length bytes from offset (length < 0: to the
	// end, clipped to the object's size). ErrInvalidRange when offset >= size
	// (unless both are 0).
	GetObjectRange(ctx context.Context, bucket, key string, offset, length int64) (io.ReadCloser, ObjectInfo, error)
	HeadObject(ctx context.Context, bucket, key string) (ObjectInfo, error)
	// DeleteObject of a missing key is not an error.
	DeleteObject(ctx context.Context, bucket, key string) error
	// ListObjects lists keys in UTF-8 byte order.
	ListObjects(ctx context.Context, bucket string, opts ListOptions) (ListResult, error)
}

// Part identifies an uploaded part.
type Part struct {
	PartNumber   int
	ETag         string // without quotes
	Size         int64
	LastModified time.Time
	// Checksum is the part's base64 checksum, if it has one. In
	// CompleteMultipartUpload's list, a non-empty Checksum must match the
	// stored one (ErrInvalidPart otherwise).
	Checksum string
}

// Upload describes an unfinished multipart upload.
type Upload struct {
	Bucket    string
	Key       string
	UploadID  string
	Initiated time.Time
	// ChecksumAlgorithm and ChecksumType as given at creation (type
	// defaulted).
	ChecksumAlgorithm string
	ChecksumType      string
}

// Uploader is the optional ability to store an object as PutObject does
// without reading its ObjectInfo back: for a store where that read is a
// second request the caller may not need, or may not be allowed (a
// write-only IAM role on AWS S3).
type Uploader interface {
	Upload(ctx context.Context, bucket, key string, body io.Reader, opts PutOptions) error
}

// Multiparter is the optional ability to assemble an object from parts.
// Parts are held in the store's backing medium (on disk for diskstore),
// not in RAM.
type Multiparter interface {
	CreateMultipartUpload(ctx context.Context, bucket, key string, opts PutOptions) (uploadID string, err error)
	// UploadPart stores part n (1..MaxPartNumber), replacing an earlier one.
	UploadPart(ctx context.Context, bucket, key, uploadID string, n int, body io.Reader, opts PartOptions) (Part, error)
	// ListParts returns the parts uploaded so far, by part number.
	ListParts(ctx context.Context, bucket, key, uploadID string) ([]Part, error)
	// CompleteMultipartUpload assembles the named parts (ascending numbers,
	// ETags as returned by UploadPart) into the object, keeping the part
	// table (ObjectInfo.Parts). Completing an upload that already made the
	// current object under key again returns that object (S3 answers a
	// retried completion with 200). opts.Conditions are checked against
	// the object being replaced, atomically with the commit.
	CompleteMultipartUpload(ctx context.Context, bucket, key, uploadID string, parts []Part, opts CompleteOptions) (ObjectInfo, error)
	AbortMultipartUpload(ctx context.Context, bucket, key, uploadID string) error
	// ListMultipartUploads returns the unfinished uploads of a bucket, by
	// key, then initiation time (SortUploads).
	ListMultipartUploads(ctx context.Context, bucket string) ([]Upload, error)
}

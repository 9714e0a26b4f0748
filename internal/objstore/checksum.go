package objstore

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"hash"
	"hash/crc32"
	"hash/crc64"
	"strings"
)

// ChecksumAlgorithms are the flexible checksum algorithms S3 knows, by
// their upper-case names (x-amz-checksum-algorithm values).
var ChecksumAlgorithms = []string{"CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256"}

var (
	crc32c    = crc32.MakeTable(crc32.Castagnoli)
	crc64nvme = crc64.MakeTable(0x9a6c9329ac4bc9b5)
)

// NewChecksumHash returns a hash for a checksum algorithm (any case), or
// nil for an unknown one.
func NewChecksumHash(alg string) hash.Hash {
	switch strings.ToUpper(alg) {
	case "CRC32":
		return crc32.NewIEEE()
	case "CRC32C":
		return crc32.New(crc32c)
	case "CRC64NVME":
		return crc64.New(crc64nvme)
	case "SHA1":
		return sha1.New()
	case "SHA256":
		return sha256.New()
	}
	return nil
}

// DefaultChecksumType is the type S3 gives a multipart upload's checksum
// when CreateMultipartUpload names none: FULL_OBJECT for CRC64NVME (the
// only type it supports), COMPOSITE otherwise.
func DefaultChecksumType(alg string) string {
	if strings.EqualFold(alg, "CRC64NVME") {
		return ChecksumFullObject
	}
	return ChecksumComposite
}

// CheckChecksumOptions validates the checksum algorithm and type of
// CreateMultipartUpload and returns them normalised (upper-case, type
// defaulted); ErrInvalidChecksum for an unknown algorithm or a type the
// algorithm cannot have (SHA checksums are only COMPOSITE, CRC64NVME only
// FULL_OBJECT).
func CheckChecksumOptions(alg, typ string) (string, string, error) {
	alg, typ = strings.ToUpper(alg), strings.ToUpper(typ)
	if alg == "" {
		if typ != "" {
			return "", "", fmt.Errorf("checksum type %q without algorithm: %w", typ, ErrInvalidChecksum)
		}
		return "", "", nil
	}
	if NewChecksumHash(alg) == nil {
		return "", "", fmt.Errorf("checksum algorithm %q: %w", alg, ErrInvalidChecksum)
	}
	if typ == "" {
		typ = DefaultChecksumType(alg)
	}
	switch {
	case typ != ChecksumComposite && typ != ChecksumFullObject,
		typ == ChecksumFullObject && strings.HasPrefix(alg, "SHA"),
		typ == ChecksumComposite && alg == "CRC64NVME":
		return "", "", fmt.Errorf("checksum type %q for %s: %w", typ, alg, ErrInvalidChecksum)
	}
	return alg, typ, nil
}

// CompositeChecksum is S3's checksum of a multipart object of type
// COMPOSITE: the base64 digest (alg) of the concatenated raw part digests,
// then "-N". It fails with ErrInvalidChecksum when a part has none.
func CompositeChecksum(alg string, parts []ObjectPart) (string, error) {
	h := NewChecksumHash(alg)
	if h == nil {
		return "", fmt.Errorf("checksum algorithm %q: %w", alg, ErrInvalidChecksum)
	}
	for _, p := range parts {
		raw, err := base64.StdEncoding.DecodeString(p.Checksum)
		if err != nil || p.Checksum == "" {
			return "", fmt.Errorf("part %d has no %s checksum: %w", p.Number, alg, ErrInvalidChecksum)
		}
		h.Write(raw)
	}
	return fmt.Sprintf("%s-%d", base64.StdEncoding.EncodeToString(h.Sum(nil)), len(parts)), nil
}

// CheckConditions applies c to the object a write would replace (cur,
// nil when there is none). Drivers call it under the lock that makes
// their commit atomic.
func CheckConditions(key string, c Conditions, cur *ObjectInfo) error {
	if c.IfNoneMatch != "" && cur != nil {
		return fmt.Errorf("object %q exists (If-None-Match %s): %w", key, c.IfNoneMatch, ErrPreconditionFailed)
	}
	if c.IfMatch == "" {
		return nil
	}
	if cur == nil {
		return fmt.Errorf("object %q (If-Match %s): %w", key, c.IfMatch, ErrNoSuchKey)
	}
	if !ETagMatches(c.IfMatch, cur.ETag) {
		return fmt.Errorf("object %q has etag %q (If-Match %s): %w", key, cur.ETag, c.IfMatch, ErrPreconditionFailed)
	}
	return nil
}

// ETagMatches reports whether list, the value of an If-Match or
// If-None-Match header (comma-separated, quoted or not, "*" for any),
// names etag.
func ETagMatches(list, etag string) bool {
	for _, e := range strings.Split(list, ",") {
		e = strings.TrimPrefix(strings.TrimSpace(e), "W/")
		if e == "*" || strings.Trim(e, `"`) == etag {
			return true
		}
	}
	return false
}

// PartRange returns the offset and size of part n of an object, counted
// from 1 in the order of its part table (clients read parts 1 to
// x-amz-mp-parts-count, whatever numbers they were uploaded with); an
// object that is not multipart is one part. ok is false when there is no
// part n.
func PartRange(info ObjectInfo, n int) (off, size int64, ok bool) {
	if len(info.Parts) == 0 {
		return 0, info.Size, n == 1
	}
	if n < 1 || n > len(info.Parts) {
		return 0, 0, false
	}
	for _, p := range info.Parts[:n-1] {
		off += p.Size
	}
	return off, info.Parts[n-1].Size, true
}

// PartChecksum returns the checksum value to store with a part of an
// upload created with algorithm alg, from the part's PartOptions.Checksum
// (nil: none). A part checksummed with another algorithm than the
// upload's is ErrInvalidChecksum, as S3 refuses it.
func PartChecksum(alg string, sum func() Checksum) (string, error) {
	if sum == nil {
		return "", nil
	}
	c := sum()
	if c.Algorithm == "" {
		return "", nil
	}
	if alg != "" && !strings.EqualFold(c.Algorithm, alg) {
		return "", fmt.Errorf("part checksum %s, upload created with %s: %w", c.Algorithm, alg, ErrInvalidChecksum)
	}
	return c.Value, nil
}

package objstore

import (
	"bytes"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
	"unicode/utf8"
)

// CheckBucketName reports whether name follows S3's bucket naming rules
// (3-63 characters of a-z, 0-9, '.', '-', starting and ending with a letter
// or digit, no "..", not an IP address). A valid name is a safe single path
// element.
func CheckBucketName(name string) error {
	if len(name) < 3 || len(name) > 63 {
		return fmt.Errorf("bucket %q: length must be 3-63: %w", name, ErrInvalidBucketName)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case c == '.' || c == '-':
			if i == 0 || i == len(name)-1 {
				return fmt.Errorf("bucket %q: must start and end with a letter or digit: %w", name, ErrInvalidBucketName)
			}
		default:
			return fmt.Errorf("bucket %q: invalid character %q: %w", name, c, ErrInvalidBucketName)
		}
	}
	if strings.Contains(name, "..") || strings.Contains(name, ".-") || strings.Contains(name, "-.") {
		return fmt.Errorf("bucket %q: adjacent periods or hyphens: %w", name, ErrInvalidBucketName)
	}
	dots, digits := 0, true
	for _, part := range strings.Split(name, ".") {
		dots++
		for _, c := range part {
			if c < '0' || c > '9' {
				digits = false
			}
		}
	}
	if dots == 4 && digits {
		return fmt.Errorf("bucket %q: formatted as an IP address: %w", name, ErrInvalidBucketName)
	}
	return nil
}

// CheckKey reports whether key is a valid object key: non-empty, valid
// UTF-8, at most MaxKeyLen bytes.
func CheckKey(key string) error {
	if key == "" || len(key) > MaxKeyLen || !utf8.ValidString(key) {
		return fmt.Errorf("key %q: %w", key, ErrInvalidKey)
	}
	return nil
}

// MultipartETag computes the ETag S3 gives an object assembled from parts
// whose ETags (hex MD5, without quotes) are given in order:
// hex(md5(md5_1 || ... || md5_N)) + "-N".
func MultipartETag(partETags []string) (string, error) {
	h := md5.New()
	for _, e := range partETags {
		b, err := hex.DecodeString(e)
		if err != nil || len(b) != md5.Size {
			return "", fmt.Errorf("part etag %q: %w", e, ErrInvalidPart)
		}
		h.Write(b)
	}
	return fmt.Sprintf("%x-%d", h.Sum(nil), len(partETags)), nil
}

// CheckPartNumber reports whether n is a valid multipart part number
// (1..MaxPartNumber).
func CheckPartNumber(n int) error {
	if n < 1 || n > MaxPartNumber {
		return fmt.Errorf("part number %d: %w", n, ErrInvalidPart)
	}
	return nil
}

// CheckDigest compares the MD5 a client sent (PutOptions.ContentMD5 or a
// part's contentMD5; nil or empty means none) with the MD5 of the bytes
// received and returns ErrBadDigest when they differ.
func CheckDigest(want, got []byte) error {
	if len(want) > 0 && !bytes.Equal(want, got) {
		return fmt.Errorf("content-md5 %x, body md5 %x: %w", want, got, ErrBadDigest)
	}
	return nil
}

// RangeLength applies the GetObjectRange rules to an object of size bytes:
// it returns how many bytes to read from offset (length < 0: to the end,
// clipped to size), or ErrInvalidRange when offset is negative or not
// below size (unless both are 0).
func RangeLength(key string, offset, length, size int64) (int64, error) {
	if offset < 0 || (offset >= size && (offset != 0 || size != 0)) {
		return 0, fmt.Errorf("object %q offset %d size %d: %w", key, offset, size, ErrInvalidRange)
	}
	n := size - offset
	if length >= 0 && length < n {
		n = length
	}
	return n, nil
}

// CompleteParts validates the part list of CompleteMultipartUpload against
// the uploaded parts (lookup): part numbers ascending, ETags equal (quotes
// ignored), checksums equal where the list gives one, every part but the
// last at least MinPartSize. It returns the
// uploaded parts in order and the ETag of the assembled object
// (MultipartETag of theirs).
func CompleteParts(parts []Part, lookup func(n int) (Part, bool)) ([]Part, string, error) {
	if len(parts) == 0 {
		return nil, "", fmt.Errorf("no parts: %w", ErrInvalidPart)
	}
	out := make([]Part, 0, len(parts))
	etags := make([]string, 0, len(parts))
	for i, want := range parts {
		if i > 0 && want.PartNumber <= parts[i-1].PartNumber {
			return nil, "", fmt.Errorf("part %d after part %d: %w", want.PartNumber, parts[i-1].PartNumber, ErrInvalidPartOrder)
		}
		got, ok := lookup(want.PartNumber)
		if !ok || strings.Trim(want.ETag, `"`) != got.ETag {
			return nil, "", fmt.Errorf("part %d etag %q: %w", want.PartNumber, want.ETag, ErrInvalidPart)
		}
		if want.Checksum != "" && want.Checksum != got.Checksum {
			return nil, "", fmt.Errorf("part %d checksum %q, stored %q: %w", want.PartNumber, want.Checksum, got.Checksum, ErrInvalidPart)
		}
		out = append(out, got)
		etags = append(etags, got.ETag)
	}
	for _, p := range out[:len(out)-1] {
		if p.Size < MinPartSize {
			return nil, "", fmt.Errorf("part %d is %d bytes: %w", p.PartNumber, p.Size, ErrEntityTooSmall)
		}
	}
	etag, err := MultipartETag(etags)
	if err != nil {
		return nil, "", err
	}
	return out, etag, nil
}

// PartTable is the part table of an object assembled from chosen (as
// CompleteParts returns them).
func PartTable(chosen []Part) []ObjectPart {
	out := make([]ObjectPart, len(chosen))
	for i, p := range chosen {
		out[i] = ObjectPart{Number: p.PartNumber, Size: p.Size, ETag: p.ETag, Checksum: p.Checksum}
	}
	return out
}

// MultipartChecksum is the checksum of an object assembled from parts by
// an upload created with algorithm alg and type typ: COMPOSITE from the
// parts' checksums (none when a part has none), FULL_OBJECT the base64
// digest full the driver computed over the assembled bytes.
func MultipartChecksum(alg, typ string, parts []ObjectPart, full []byte) Checksum {
	switch {
	case alg == "":
		return Checksum{}
	case typ == ChecksumFullObject:
		return Checksum{Algorithm: alg, Type: typ, Value: base64.StdEncoding.EncodeToString(full)}
	}
	v, err := CompositeChecksum(alg, parts)
	if err != nil {
		return Checksum{}
	}
	return Checksum{Algorithm: alg, Type: ChecksumComposite, Value: v}
}

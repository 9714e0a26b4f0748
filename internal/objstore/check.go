package objstore

import (
	"crypto/md5"
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

// Page applies opts to objects sorted by key (UTF-8 byte order) and
// returns one page. Drivers that keep a sorted index use it so that every
// driver lists the same way.
func Page(sorted []ObjectInfo, opts ListOptions) ListResult {
	max := opts.MaxKeys
	if max <= 0 || max > 1000 {
		max = 1000
	}
	var res ListResult
	lastPrefix := ""
	n := 0
	for _, o := range sorted {
		if o.Key <= opts.StartAfter || !strings.HasPrefix(o.Key, opts.Prefix) {
			continue
		}
		if opts.Delimiter != "" {
			rest := o.Key[len(opts.Prefix):]
			if i := strings.Index(rest, opts.Delimiter); i >= 0 {
				cp := opts.Prefix + rest[:i+len(opts.Delimiter)]
				if cp == lastPrefix {
					continue
				}
				// A continuation token inside a common prefix skips it.
				if strings.HasPrefix(opts.StartAfter, cp) {
					continue
				}
				if n == max {
					res.IsTruncated = true
					break
				}
				lastPrefix = cp
				res.CommonPrefixes = append(res.CommonPrefixes, cp)
				res.NextStartAfter = cp
				n++
				continue
			}
		}
		if n == max {
			res.IsTruncated = true
			break
		}
		res.Objects = append(res.Objects, o)
		res.NextStartAfter = o.Key
		n++
	}
	if !res.IsTruncated {
		res.NextStartAfter = ""
	}
	return res
}

// CheckCompleteParts validates the part list of CompleteMultipartUpload
// against the uploaded parts (lookup) and returns the uploaded parts in
// order: part numbers ascending, ETags equal (quotes ignored), every part
// but the last at least MinPartSize.
func CheckCompleteParts(parts []Part, lookup func(n int) (Part, bool)) ([]Part, error) {
	if len(parts) == 0 {
		return nil, fmt.Errorf("no parts: %w", ErrInvalidPart)
	}
	out := make([]Part, 0, len(parts))
	for i, want := range parts {
		if i > 0 && want.PartNumber <= parts[i-1].PartNumber {
			return nil, fmt.Errorf("part %d after part %d: %w", want.PartNumber, parts[i-1].PartNumber, ErrInvalidPartOrder)
		}
		got, ok := lookup(want.PartNumber)
		if !ok || strings.Trim(want.ETag, `"`) != got.ETag {
			return nil, fmt.Errorf("part %d etag %q: %w", want.PartNumber, want.ETag, ErrInvalidPart)
		}
		out = append(out, got)
	}
	for _, p := range out[:len(out)-1] {
		if p.Size < MinPartSize {
			return nil, fmt.Errorf("part %d is %d bytes: %w", p.PartNumber, p.Size, ErrEntityTooSmall)
		}
	}
	return out, nil
}

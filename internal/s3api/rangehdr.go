package s3api

import (
	"strconv"
	"strings"
)

// byteRange is a satisfiable range of an object: Length bytes from Start.
type byteRange struct {
	Start, Length int64
}

// parseRange interprets a Range header against an object of size bytes.
// It returns ok=false when the header is absent, malformed or asks for
// several ranges (S3 then serves the whole object), and ErrInvalidRange when
// a single well-formed range cannot be satisfied.
//
// Forms: bytes=A-B, bytes=A- (to the end), bytes=-N (the last N bytes).
func parseRange(h string, size int64) (byteRange, bool, *APIError) {
	spec, ok := strings.CutPrefix(strings.TrimSpace(h), "bytes=")
	if !ok || strings.Contains(spec, ",") {
		return byteRange{}, false, nil
	}
	first, last, ok := strings.Cut(strings.TrimSpace(spec), "-")
	if !ok {
		return byteRange{}, false, nil
	}
	first, last = strings.TrimSpace(first), strings.TrimSpace(last)
	num := func(s string) (int64, bool) {
		if s == "" || s[0] == '+' || s[0] == '-' {
			return 0, false
		}
		n, err := strconv.ParseInt(s, 10, 64)
		return n, err == nil && n >= 0
	}
	if first == "" {
		n, ok := num(last)
		if !ok {
			return byteRange{}, false, nil
		}
		if n == 0 || size == 0 {
			return byteRange{}, false, ErrInvalidRange
		}
		n = min(n, size)
		return byteRange{Start: size - n, Length: n}, true, nil
	}
	start, ok := num(first)
	if !ok {
		return byteRange{}, false, nil
	}
	end := size - 1
	if last != "" {
		e, ok := num(last)
		if !ok || e < start {
			return byteRange{}, false, nil
		}
		end = min(e, size-1)
	}
	if start >= size {
		return byteRange{}, false, ErrInvalidRange
	}
	return byteRange{Start: start, Length: end - start + 1}, true, nil
}

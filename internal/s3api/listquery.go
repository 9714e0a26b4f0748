package s3api

import (
	"encoding/base64"
	"net/url"
	"strconv"
	"unicode/utf8"

	"github.com/imagerec/imagerec/internal/objstore"
	"github.com/imagerec/imagerec/internal/sigv4"
)

// listQuery is a parsed ListObjects (v1 or v2) query.
type listQuery struct {
	V2                bool
	Prefix            string
	Delimiter         string
	MaxKeys           int
	StartAfter        string // v2 start-after
	ContinuationToken string // v2, as sent
	Marker            string // v1
	EncodingURL       bool
	FetchOwner        bool
}

// parseListQuery parses and validates the query of ListObjects /
// ListObjectsV2.
func parseListQuery(q url.Values) (listQuery, *APIError) {
	lq := listQuery{
		V2:         q.Get("list-type") == "2",
		Prefix:     q.Get("prefix"),
		Delimiter:  q.Get("delimiter"),
		MaxKeys:    1000,
		StartAfter: q.Get("start-after"),
		Marker:     q.Get("marker"),
		FetchOwner: q.Get("fetch-owner") == "true",
	}
	if lt := q.Get("list-type"); lt != "" && lt != "2" {
		return lq, ErrInvalidArgument.withMessage("Invalid list-type %q", lt)
	}
	if q.Has("max-keys") {
		n, ok := nonNegative(q.Get("max-keys"))
		if !ok {
			return lq, ErrInvalidArgument.withMessage("Provided max-keys not an integer or within integer range")
		}
		lq.MaxKeys = min(n, 1000)
	}
	switch e := q.Get("encoding-type"); e {
	case "":
	case "url":
		lq.EncodingURL = true
	default:
		return lq, ErrInvalidArgument.withMessage("Invalid Encoding Method specified in Request")
	}
	// An empty continuation-token is no token, as S3 takes it.
	if q.Get("continuation-token") != "" {
		lq.ContinuationToken = q.Get("continuation-token")
		if _, ok := decodeToken(lq.ContinuationToken); !ok {
			return lq, ErrInvalidArgument.withMessage("The continuation token provided is incorrect")
		}
	}
	for _, s := range []string{lq.Prefix, lq.Delimiter, lq.StartAfter, lq.Marker} {
		if !utf8.ValidString(s) || len(s) > objstore.MaxKeyLen {
			return lq, ErrInvalidArgument.withMessage("Invalid prefix, delimiter, start-after or marker")
		}
	}
	return lq, nil
}

// nonNegative parses a query parameter that counts something.
func nonNegative(v string) (int, bool) {
	n, err := strconv.Atoi(v)
	return n, err == nil && n >= 0
}

// after returns the key listing starts after.
func (lq listQuery) after() string {
	if !lq.V2 {
		return lq.Marker
	}
	if lq.ContinuationToken != "" {
		k, _ := decodeToken(lq.ContinuationToken)
		return k
	}
	return lq.StartAfter
}

// Continuation tokens are opaque to clients: the last key (or common
// prefix) returned, base64url-encoded.
func encodeToken(key string) string { return base64.RawURLEncoding.EncodeToString([]byte(key)) }

func decodeToken(t string) (string, bool) {
	b, err := base64.RawURLEncoding.DecodeString(t)
	if err != nil || !utf8.Valid(b) || len(b) > objstore.MaxKeyLen {
		return "", false
	}
	return string(b), true
}

// listEncode encodes a key for encoding-type=url: every byte except
// unreserved characters and '/' becomes %XX (a space is %20, so both
// unquote and unquote_plus decoders get it right).
func listEncode(s string, on bool) string {
	if !on {
		return s
	}
	return sigv4.URIEncode(s, false)
}

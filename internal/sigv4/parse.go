package sigv4

import (
	"encoding/hex"
	"strings"
	"time"
)

// Credential is a signature's credential scope, as in
// "AKID/20130524/us-east-1/s3/aws4_request".
type Credential struct {
	AccessKeyID string
	Date        string // yyyymmdd
	Region      string
	Service     string
}

func (c Credential) scope() string {
	return c.Date + "/" + c.Region + "/" + c.Service + "/aws4_request"
}

// ParseCredential parses "AKID/20130524/us-east-1/s3/aws4_request". The
// access key ID itself may not contain '/'.
func ParseCredential(s string) (Credential, bool) {
	parts := strings.Split(s, "/")
	if len(parts) != 5 || parts[0] == "" || parts[4] != "aws4_request" || parts[3] == "" || parts[2] == "" {
		return Credential{}, false
	}
	if len(parts[1]) != 8 {
		return Credential{}, false
	}
	if _, err := time.Parse("20060102", parts[1]); err != nil {
		return Credential{}, false
	}
	return Credential{AccessKeyID: parts[0], Date: parts[1], Region: parts[2], Service: parts[3]}, true
}

// authorization is a parsed SigV4 Authorization header (or the equivalent
// presigned query parameters).
type authorization struct {
	Credential
	SignedHeaders []string
	Signature     string
}

func parseSignedHeaders(s string) ([]string, bool) {
	if s == "" {
		return nil, false
	}
	hs := strings.Split(s, ";")
	for i, h := range hs {
		if h == "" || h != strings.ToLower(h) || strings.ContainsAny(h, " \t:,") {
			return nil, false
		}
		if i > 0 && hs[i-1] >= h {
			return nil, false // must be sorted and unique
		}
	}
	return hs, true
}

// validSignature reports 64 hex digits (a signature or a SHA-256).
func validSignature(s string) bool {
	if len(s) != 64 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}

const malformed = "The authorization header is malformed"

// parseAuthorization parses a SigV4 Authorization header:
//
//	AWS4-HMAC-SHA256 Credential=AKID/DATE/REGION/s3/aws4_request, SignedHeaders=host;x-amz-date, Signature=HEX
//
// Its refusals (ErrUnsupportedVersion, ErrMalformedHeader) are worded alike
// for every protocol.
func parseAuthorization(h string) (authorization, *Error) {
	var a authorization
	alg, rest, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok || alg != Algorithm {
		if strings.HasPrefix(h, "AWS ") {
			return a, refuse(ErrUnsupportedVersion, "Signature Version 2 is not supported; use AWS4-HMAC-SHA256.")
		}
		return a, refuse(ErrMalformedHeader, "Unsupported authorization type.")
	}
	seen := map[string]bool{}
	for _, field := range strings.Split(rest, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(field), "=")
		if !ok || seen[k] {
			return a, refuse(ErrMalformedHeader, malformed+".")
		}
		seen[k] = true
		switch k {
		case "Credential":
			if a.Credential, ok = ParseCredential(v); !ok {
				return a, refuse(ErrMalformedHeader, malformed+"; the Credential is mal-formed.")
			}
		case "SignedHeaders":
			if a.SignedHeaders, ok = parseSignedHeaders(v); !ok {
				return a, refuse(ErrMalformedHeader, malformed+"; SignedHeaders is invalid.")
			}
		case "Signature":
			if !validSignature(v) {
				return a, refuse(ErrMalformedHeader, malformed+"; the Signature is invalid.")
			}
			a.Signature = v
		default:
			return a, refuse(ErrMalformedHeader, malformed+".")
		}
	}
	if !seen["Credential"] || !seen["SignedHeaders"] || !seen["Signature"] {
		return a, refuse(ErrMalformedHeader, malformed+"; missing Credential, SignedHeaders or Signature.")
	}
	return a, nil
}

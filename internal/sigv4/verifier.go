package sigv4

import (
	"crypto/subtle"
	"time"
)

// Payload hash values a client may sign instead of the body's SHA-256.
const (
	UnsignedPayload                 = "UNSIGNED-PAYLOAD"
	StreamingPayload                = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
	StreamingPayloadTrailer         = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
	StreamingUnsignedPayloadTrailer = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
)

// Algorithm is the SigV4 algorithm name.
const Algorithm = "AWS4-HMAC-SHA256"

const (
	amzDateFormat    = "20060102T150405Z"
	maxClockSkew     = 15 * time.Minute
	maxPresignExpiry = 7 * 24 * time.Hour
	emptySHA256      = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
)

// Credentials is an access key pair a Verifier accepts.
type Credentials struct {
	AccessKeyID     string
	SecretAccessKey string
}

// Service is what a request's credential scope must name: the service
// (e.g. "s3", "rekognition", "states") and, unless Region is empty, the
// region.
type Service struct {
	Name   string
	Region string
}

// Verifier checks signatures against a set of credentials.
type Verifier struct {
	secrets map[string]string
	now     func() time.Time
}

// New returns a Verifier accepting creds. now is the clock; nil means
// time.Now.
func New(creds []Credentials, now func() time.Time) *Verifier {
	if now == nil {
		now = time.Now
	}
	v := &Verifier{secrets: make(map[string]string, len(creds)), now: now}
	for _, c := range creds {
		v.secrets[c.AccessKeyID] = c.SecretAccessKey
	}
	return v
}

// CheckSecret reports whether secret is the secret of accessKeyID, in
// constant time for a known key: for a sign-in form that takes the key pair
// itself (the web console), against the same credentials that signatures
// are checked with.
func (v *Verifier) CheckSecret(accessKeyID, secret string) bool {
	want, ok := v.secrets[accessKeyID]
	if !ok || want == "" {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(want), []byte(secret)) == 1
}

// Verified is what verification established about a request.
type Verified struct {
	// Credential is the signer's credential scope (for SigV2, only the
	// access key ID).
	Credential
	// PayloadHash is the body's signed value: a hex SHA-256,
	// UNSIGNED-PAYLOAD or one of the STREAMING-* values.
	PayloadHash string

	amzDate string // the request's date, part of chunk signatures
	seed    string // the request's signature, seed of the chunk chain
	key     []byte // the signing key
}

// Streaming reports whether the body is aws-chunked (see NewChunkedReader).
func (v Verified) Streaming() bool {
	switch v.PayloadHash {
	case StreamingPayload, StreamingPayloadTrailer, StreamingUnsignedPayloadTrailer:
		return true
	}
	return false
}

// scope finds the secret of c's key and checks c against s. The failure is
// ErrUnknownKey, ErrWrongService or ErrWrongRegion; the caller words it.
func (v *Verifier) scope(c Credential, s Service) (string, error) {
	secret, ok := v.secrets[c.AccessKeyID]
	switch {
	case !ok:
		return "", ErrUnknownKey
	case c.Service != s.Name:
		return "", ErrWrongService
	case s.Region != "" && c.Region != s.Region:
		return "", ErrWrongRegion
	}
	return secret, nil
}

func skewed(now, t time.Time) bool {
	d := now.Sub(t)
	return d > maxClockSkew || d < -maxClockSkew
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

package s3api

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
	"time"
)

// ServiceVerifier checks the SigV4 Authorization header of requests to
// another AWS JSON API served beside the S3 endpoint with the same
// credentials (the Rekognition-compatible API). Unlike S3, such clients
// sign the SHA-256 of the body without sending x-amz-content-sha256, so
// the caller passes the body it has read.
type ServiceVerifier struct {
	v       verifier
	service string
}

// NewServiceVerifier accepts creds for requests signed for service (the
// credential scope's service, e.g. "rekognition"). now defaults to
// time.Now.
func NewServiceVerifier(creds []Credentials, service string, now func() time.Time) *ServiceVerifier {
	if now == nil {
		now = time.Now
	}
	v := verifier{secrets: map[string]string{}, now: now}
	for _, c := range creds {
		v.secrets[c.AccessKeyID] = c.SecretAccessKey
	}
	return &ServiceVerifier{v: v, service: service}
}

// ServiceAuthError is a rejected signature with the error code AWS JSON
// APIs use for it (UnrecognizedClientException, InvalidSignatureException,
// MissingAuthenticationTokenException).
type ServiceAuthError struct {
	Code    string
	Message string
}

// Error returns the message alone: API responses carry the code in their
// own field (see ErrorCode).
func (e *ServiceAuthError) Error() string { return e.Message }

// ErrorCode is the code sent back to the client.
func (e *ServiceAuthError) ErrorCode() string { return e.Code }

// Verify checks r's signature over body. It returns nil or a
// *ServiceAuthError.
func (s *ServiceVerifier) Verify(r *http.Request, body []byte) error {
	h := r.Header.Get("Authorization")
	if h == "" {
		return &ServiceAuthError{"MissingAuthenticationTokenException", "Missing Authentication Token"}
	}
	a, aerr := parseAuthorization(h)
	if aerr != nil {
		return &ServiceAuthError{"IncompleteSignatureException", aerr.Message}
	}
	secret, ok := s.v.secrets[a.AccessKeyID]
	if !ok {
		return &ServiceAuthError{"UnrecognizedClientException", "The security token included in the request is invalid."}
	}
	if a.Service != s.service {
		return &ServiceAuthError{"InvalidSignatureException", "Credential should be scoped to correct service: '" + s.service + "'."}
	}
	amzDate := r.Header.Get("X-Amz-Date")
	t, err := time.Parse(amzDateFormat, amzDate)
	if err != nil || !strings.HasPrefix(amzDate, a.Date) {
		return &ServiceAuthError{"IncompleteSignatureException", "A valid X-Amz-Date header matching the credential scope is required."}
	}
	if d := s.v.now().Sub(t); d > maxClockSkew || d < -maxClockSkew {
		return &ServiceAuthError{"InvalidSignatureException", "Signature expired: " + amzDate + " is now earlier or later than the allowed 15 minutes."}
	}
	if !contains(a.SignedHeaders, "host") {
		return &ServiceAuthError{"IncompleteSignatureException", "The host header must be signed."}
	}
	sum := sha256.Sum256(body)
	payload := hex.EncodeToString(sum[:])
	if p := r.Header.Get("X-Amz-Content-Sha256"); p != "" && p != payload {
		return &ServiceAuthError{"InvalidSignatureException", "The provided x-amz-content-sha256 does not match the body."}
	}
	key := signingKey(secret, a.Date, a.Region, a.Service)
	if _, ok := matchSignature(r, r.URL.Query(), a, payload, "", key, amzDate); !ok {
		return &ServiceAuthError{"InvalidSignatureException", "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method."}
	}
	return nil
}

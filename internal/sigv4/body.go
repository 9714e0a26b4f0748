package sigv4

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"
	"time"
)

// VerifyBody authenticates a request to an AWS JSON API (Rekognition's JSON
// 1.1, Step Functions' JSON 1.0, ...) by its SigV4 Authorization header.
// Such clients sign the SHA-256 of the body without always sending
// x-amz-content-sha256, so the caller passes the body it has read; when the
// header is sent it must be the body's. Refusals are *Error, worded as the
// JSON protocols word them.
func (v *Verifier) VerifyBody(r *http.Request, body []byte, s Service) (Verified, error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return Verified{}, refuse(ErrMissing, "Missing Authentication Token")
	}
	a, rerr := parseAuthorization(h)
	if rerr != nil {
		return Verified{}, rerr
	}
	secret, rerr := v.jsonSecret(a.Credential, s)
	if rerr != nil {
		return Verified{}, rerr
	}
	amzDate := r.Header.Get("X-Amz-Date")
	t, err := time.Parse(amzDateFormat, amzDate)
	const needDate = "A valid X-Amz-Date header matching the credential scope is required."
	if err != nil {
		return Verified{}, refuse(ErrNoDate, needDate)
	}
	if !strings.HasPrefix(amzDate, a.Date) {
		return Verified{}, refuse(ErrDateMismatch, needDate)
	}
	if skewed(v.now(), t) {
		return Verified{}, refuse(ErrSkewed, "Signature expired: "+amzDate+" is now earlier or later than the allowed 15 minutes.")
	}
	if !contains(a.SignedHeaders, "host") {
		return Verified{}, refuse(ErrHostNotSigned, "The host header must be signed.")
	}
	sum := sha256.Sum256(body)
	payload := hex.EncodeToString(sum[:])
	if p := r.Header.Get("X-Amz-Content-Sha256"); p != "" && p != payload {
		return Verified{}, refuse(ErrBadPayloadHash, "The provided x-amz-content-sha256 does not match the body.")
	}
	key := signingKey(secret, a.Credential)
	sig, ok := matchSignature(r, r.URL.Query(), a, payload, "", key, amzDate)
	if !ok {
		return Verified{}, refuse(ErrSignatureMismatch, "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.")
	}
	return Verified{Credential: a.Credential, PayloadHash: payload, amzDate: amzDate, seed: sig, key: key}, nil
}

// jsonSecret is the secret of c's key once c's scope is s.
func (v *Verifier) jsonSecret(c Credential, s Service) (string, *Error) {
	secret, kind := v.scope(c, s)
	switch {
	case kind == nil:
		return secret, nil
	case errors.Is(kind, ErrUnknownKey):
		return "", refuse(kind, "The security token included in the request is invalid.")
	case errors.Is(kind, ErrWrongService):
		return "", refuse(kind, "Credential should be scoped to correct service: '"+s.Name+"'.")
	}
	return "", refuse(kind, "Credential should be scoped to a valid region.")
}

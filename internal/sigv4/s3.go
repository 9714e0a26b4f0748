package sigv4

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Verify authenticates r as S3 does: by its SigV4 Authorization header, its
// SigV4 presigned query parameters, its SigV2 Authorization header or its
// SigV2 presigned query parameters. It does not read the body: Verified.PayloadHash says how the
// caller must check it. Refusals are *Error, worded as S3 words them.
func (v *Verifier) Verify(r *http.Request, s Service) (Verified, error) {
	q := r.URL.Query()
	if h := r.Header.Get("Authorization"); h != "" {
		if q.Has("X-Amz-Algorithm") {
			return Verified{}, refuse(ErrAmbiguous, "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter or the Authorization header should be specified.")
		}
		if strings.HasPrefix(h, "AWS ") {
			if q.Has("AWSAccessKeyId") || q.Has("Signature") {
				return Verified{}, refuse(ErrAmbiguous, "Only one auth mechanism allowed; only the Signature query parameter or the Authorization header should be specified.")
			}
			return v.verifyHeaderV2(r, h)
		}
		return v.verifyHeader(r, h, s)
	}
	if q.Has("X-Amz-Algorithm") || q.Has("X-Amz-Signature") || q.Has("X-Amz-Credential") {
		return v.verifyPresigned(r, q, s)
	}
	if q.Has("AWSAccessKeyId") && q.Has("Signature") && q.Has("Expires") {
		return v.verifyPresignedV2(r, q)
	}
	return Verified{}, refuse(ErrMissing, "Anonymous access is not allowed; sign requests with AWS Signature Version 4 (or 2).")
}

// Messages of S3 that more than one check sends.
const (
	s3UnknownKey        = "The AWS Access Key Id you provided does not exist in our records."
	s3SignatureMismatch = "The request signature we calculated does not match the signature you provided. Check your key and signing method."
	s3Expired           = "Request has expired"
)

// s3Secret is the secret of c's key once c's scope is s.
func (v *Verifier) s3Secret(c Credential, s Service) (string, *Error) {
	secret, kind := v.scope(c, s)
	switch {
	case kind == nil:
		return secret, nil
	case errors.Is(kind, ErrUnknownKey):
		return "", refuse(kind, s3UnknownKey)
	case errors.Is(kind, ErrWrongService):
		return "", refuse(kind, fmt.Sprintf(malformed+"; incorrect service %q. This endpoint expects '%s'.", c.Service, s.Name))
	}
	return "", refuse(kind, fmt.Sprintf(malformed+"; the region '%s' is wrong; expecting '%s'", c.Region, s.Region))
}

func (v *Verifier) verifyHeader(r *http.Request, h string, s Service) (Verified, error) {
	a, rerr := parseAuthorization(h)
	if rerr != nil {
		return Verified{}, rerr
	}
	secret, rerr := v.s3Secret(a.Credential, s)
	if rerr != nil {
		return Verified{}, rerr
	}
	amzDate := r.Header.Get("X-Amz-Date")
	if amzDate == "" {
		if d := r.Header.Get("Date"); d != "" {
			if t, err := http.ParseTime(d); err == nil {
				amzDate = t.UTC().Format(amzDateFormat)
			}
		}
	}
	t, err := time.Parse(amzDateFormat, amzDate)
	if err != nil {
		return Verified{}, refuse(ErrNoDate, "AWS authentication requires a valid Date or x-amz-date header")
	}
	if !strings.HasPrefix(amzDate, a.Date) {
		return Verified{}, refuse(ErrDateMismatch, malformed+"; Invalid credential date. Date is not the same as X-Amz-Date.")
	}
	if skewed(v.now(), t) {
		return Verified{}, refuse(ErrSkewed, "The difference between the request time and the server's time is too large.")
	}
	payload := r.Header.Get("X-Amz-Content-Sha256")
	switch payload {
	case UnsignedPayload, StreamingPayload, StreamingPayloadTrailer, StreamingUnsignedPayloadTrailer:
	case "":
		return Verified{}, refuse(ErrNoPayloadHash, "Missing required header for this request: x-amz-content-sha256")
	default:
		if !validSignature(payload) { // 64 hex digits
			return Verified{}, refuse(ErrBadPayloadHash, "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-... or a valid sha256 value.")
		}
	}
	if !contains(a.SignedHeaders, "host") {
		return Verified{}, refuse(ErrHostNotSigned, malformed+"; host must be signed.")
	}
	key := signingKey(secret, a.Credential)
	sig, ok := matchSignature(r, r.URL.Query(), a, payload, "", key, amzDate)
	if !ok {
		return Verified{}, refuse(ErrSignatureMismatch, s3SignatureMismatch)
	}
	return Verified{Credential: a.Credential, PayloadHash: payload, amzDate: amzDate, seed: sig, key: key}, nil
}

func (v *Verifier) verifyPresigned(r *http.Request, q url.Values, s Service) (Verified, error) {
	if q.Get("X-Amz-Algorithm") != Algorithm {
		return Verified{}, refuse(ErrMalformedQuery, `X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"`)
	}
	var a authorization
	var ok bool
	if a.Credential, ok = ParseCredential(q.Get("X-Amz-Credential")); !ok {
		return Verified{}, refuse(ErrMalformedQuery, "Error parsing the X-Amz-Credential parameter.")
	}
	if a.SignedHeaders, ok = parseSignedHeaders(q.Get("X-Amz-SignedHeaders")); !ok || !contains(a.SignedHeaders, "host") {
		return Verified{}, refuse(ErrMalformedQuery, "X-Amz-SignedHeaders is missing or does not include host.")
	}
	a.Signature = q.Get("X-Amz-Signature")
	if !validSignature(a.Signature) {
		return Verified{}, refuse(ErrMalformedQuery, "X-Amz-Signature is missing or invalid.")
	}
	secret, rerr := v.s3Secret(a.Credential, s)
	if rerr != nil {
		return Verified{}, rerr
	}
	amzDate := q.Get("X-Amz-Date")
	t, err := time.Parse(amzDateFormat, amzDate)
	if err != nil || !strings.HasPrefix(amzDate, a.Date) {
		return Verified{}, refuse(ErrMalformedQuery, `X-Amz-Date must be in the ISO8601 Long Format "yyyyMMdd'T'HHmmss'Z'" and match the credential date.`)
	}
	exp, err := strconv.ParseInt(q.Get("X-Amz-Expires"), 10, 64)
	if err != nil || exp < 0 {
		return Verified{}, refuse(ErrMalformedQuery, "X-Amz-Expires should be a number")
	}
	// Out of range is 403 AccessDenied at S3, not a malformed query.
	if time.Duration(exp)*time.Second > maxPresignExpiry {
		return Verified{}, refuse(ErrExpired, "X-Amz-Expires must be less than a week (in seconds) that is 604800")
	}
	now := v.now()
	if now.Before(t.Add(-maxClockSkew)) {
		return Verified{}, refuse(ErrExpired, "Request is not valid yet")
	}
	if now.After(t.Add(time.Duration(exp) * time.Second)) {
		return Verified{}, refuse(ErrExpired, s3Expired)
	}
	payload := r.Header.Get("X-Amz-Content-Sha256")
	if payload == "" {
		payload = UnsignedPayload
	}
	key := signingKey(secret, a.Credential)
	sig, ok := matchSignature(r, q, a, payload, "X-Amz-Signature", key, amzDate)
	if !ok {
		return Verified{}, refuse(ErrSignatureMismatch, s3SignatureMismatch)
	}
	return Verified{Credential: a.Credential, PayloadHash: payload, amzDate: amzDate, seed: sig, key: key}, nil
}

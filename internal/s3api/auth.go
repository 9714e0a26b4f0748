package s3api

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Payload hash values a client may sign instead of the body's SHA-256.
const (
	unsignedPayload               = "UNSIGNED-PAYLOAD"
	streamingSignedPayload        = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
	streamingSignedPayloadTrailer = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
	streamingUnsignedPayloadTrail = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
	sigV4Algorithm                = "AWS4-HMAC-SHA256"
	amzDateFormat                 = "20060102T150405Z"
	maxClockSkew                  = 15 * time.Minute
	maxPresignExpiry              = 7 * 24 * time.Hour
	emptySHA256                   = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
)

// Credentials is an access key pair the endpoint accepts.
type Credentials struct {
	AccessKeyID     string
	SecretAccessKey string
}

// authHeader is a parsed SigV4 Authorization header (or the equivalent
// presigned query parameters).
type authHeader struct {
	AccessKeyID   string
	Date          string // yyyymmdd from the credential scope
	Region        string
	Service       string
	SignedHeaders []string
	Signature     string
}

func (a authHeader) scope() string {
	return a.Date + "/" + a.Region + "/" + a.Service + "/aws4_request"
}

// parseCredential parses "AKID/20130524/us-east-1/s3/aws4_request". The
// access key ID itself may not contain '/'.
func parseCredential(s string, a *authHeader) bool {
	parts := strings.Split(s, "/")
	if len(parts) != 5 || parts[0] == "" || parts[4] != "aws4_request" || parts[3] == "" || parts[2] == "" {
		return false
	}
	if len(parts[1]) != 8 {
		return false
	}
	if _, err := time.Parse("20060102", parts[1]); err != nil {
		return false
	}
	a.AccessKeyID, a.Date, a.Region, a.Service = parts[0], parts[1], parts[2], parts[3]
	return true
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

func validSignature(s string) bool {
	if len(s) != 64 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}

// parseAuthorization parses a SigV4 Authorization header:
//
//	AWS4-HMAC-SHA256 Credential=AKID/DATE/REGION/s3/aws4_request, SignedHeaders=host;x-amz-date, Signature=HEX
func parseAuthorization(h string) (authHeader, *APIError) {
	var a authHeader
	alg, rest, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok || alg != sigV4Algorithm {
		if strings.HasPrefix(h, "AWS ") {
			return a, ErrInvalidRequest.withMessage("Signature Version 2 is not supported; use AWS4-HMAC-SHA256.")
		}
		return a, ErrAuthorizationMalformed.withMessage("Unsupported authorization type.")
	}
	seen := map[string]bool{}
	for _, field := range strings.Split(rest, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(field), "=")
		if !ok || seen[k] {
			return a, ErrAuthorizationMalformed
		}
		seen[k] = true
		switch k {
		case "Credential":
			if !parseCredential(v, &a) {
				return a, ErrAuthorizationMalformed.withMessage("The authorization header is malformed; the Credential is mal-formed.")
			}
		case "SignedHeaders":
			hs, ok := parseSignedHeaders(v)
			if !ok {
				return a, ErrAuthorizationMalformed.withMessage("The authorization header is malformed; SignedHeaders is invalid.")
			}
			a.SignedHeaders = hs
		case "Signature":
			if !validSignature(v) {
				return a, ErrAuthorizationMalformed.withMessage("The authorization header is malformed; the Signature is invalid.")
			}
			a.Signature = v
		default:
			return a, ErrAuthorizationMalformed
		}
	}
	if !seen["Credential"] || !seen["SignedHeaders"] || !seen["Signature"] {
		return a, ErrAuthorizationMalformed.withMessage("The authorization header is malformed; missing Credential, SignedHeaders or Signature.")
	}
	return a, nil
}

// authResult is what a verified request carries on.
type authResult struct {
	auth        authHeader
	amzDate     string
	seedSig     string // signature of the request, seed of chunk signatures
	signingKey  []byte
	payloadHash string // x-amz-content-sha256 (or UNSIGNED-PAYLOAD for presigned)
}

// verifier checks SigV4 signatures against a set of credentials.
type verifier struct {
	secrets map[string]string
	now     func() time.Time
}

func signingKey(secret, date, region, service string) []byte {
	k := hmacSHA256([]byte("AWS4"+secret), date)
	k = hmacSHA256(k, region)
	k = hmacSHA256(k, service)
	return hmacSHA256(k, "aws4_request")
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

func sha256Hex(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// verify authenticates r by its Authorization header or presigned query.
func (v *verifier) verify(r *http.Request) (authResult, *APIError) {
	q := r.URL.Query()
	if h := r.Header.Get("Authorization"); h != "" {
		if q.Has("X-Amz-Algorithm") {
			return authResult{}, ErrInvalidArgument.withMessage("Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter or the Authorization header should be specified.")
		}
		return v.verifyHeader(r, h)
	}
	if q.Has("X-Amz-Algorithm") || q.Has("X-Amz-Signature") || q.Has("X-Amz-Credential") {
		return v.verifyPresigned(r, q)
	}
	if q.Has("AWSAccessKeyId") && q.Has("Signature") && q.Has("Expires") {
		return v.verifyPresignedV2(r, q)
	}
	return authResult{}, ErrAccessDenied.withMessage("Anonymous access is not allowed; sign requests with AWS Signature Version 4.")
}

func (v *verifier) secret(a authHeader) (string, *APIError) {
	secret, ok := v.secrets[a.AccessKeyID]
	if !ok {
		return "", ErrInvalidAccessKeyID
	}
	if a.Service != "s3" {
		return "", ErrAuthorizationMalformed.withMessage("The authorization header is malformed; incorrect service %q. This endpoint expects 's3'.", a.Service)
	}
	return secret, nil
}

func (v *verifier) verifyHeader(r *http.Request, h string) (authResult, *APIError) {
	a, aerr := parseAuthorization(h)
	if aerr != nil {
		return authResult{}, aerr
	}
	secret, aerr := v.secret(a)
	if aerr != nil {
		return authResult{}, aerr
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
		return authResult{}, ErrAccessDenied.withMessage("AWS authentication requires a valid Date or x-amz-date header")
	}
	if !strings.HasPrefix(amzDate, a.Date) {
		return authResult{}, ErrAuthorizationMalformed.withMessage("The authorization header is malformed; Invalid credential date. Date is not the same as X-Amz-Date.")
	}
	if d := v.now().Sub(t); d > maxClockSkew || d < -maxClockSkew {
		return authResult{}, ErrRequestTimeTooSkewed
	}
	payload := r.Header.Get("X-Amz-Content-Sha256")
	switch payload {
	case unsignedPayload, streamingSignedPayload, streamingSignedPayloadTrailer, streamingUnsignedPayloadTrail:
	case "":
		return authResult{}, ErrInvalidRequest.withMessage("Missing required header for this request: x-amz-content-sha256")
	default:
		if !validSignature(payload) { // 64 hex digits
			return authResult{}, ErrInvalidArgument.withMessage("x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-... or a valid sha256 value.")
		}
	}
	if !contains(a.SignedHeaders, "host") {
		return authResult{}, ErrAuthorizationMalformed.withMessage("The authorization header is malformed; host must be signed.")
	}
	key := signingKey(secret, a.Date, a.Region, a.Service)
	sig, ok := matchSignature(r, r.URL.Query(), a, payload, "", key, amzDate)
	if !ok {
		return authResult{}, ErrSignatureDoesNotMatch
	}
	return authResult{auth: a, amzDate: amzDate, seedSig: sig, signingKey: key, payloadHash: payload}, nil
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

func (v *verifier) verifyPresigned(r *http.Request, q url.Values) (authResult, *APIError) {
	var a authHeader
	if q.Get("X-Amz-Algorithm") != sigV4Algorithm {
		return authResult{}, ErrAuthorizationQueryParams.withMessage("X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\"")
	}
	if !parseCredential(q.Get("X-Amz-Credential"), &a) {
		return authResult{}, ErrAuthorizationQueryParams
	}
	hs, ok := parseSignedHeaders(q.Get("X-Amz-SignedHeaders"))
	if !ok || !contains(hs, "host") {
		return authResult{}, ErrAuthorizationQueryParams.withMessage("X-Amz-SignedHeaders is missing or does not include host.")
	}
	a.SignedHeaders = hs
	a.Signature = q.Get("X-Amz-Signature")
	if !validSignature(a.Signature) {
		return authResult{}, ErrAuthorizationQueryParams.withMessage("X-Amz-Signature is missing or invalid.")
	}
	secret, aerr := v.secret(a)
	if aerr != nil {
		return authResult{}, aerr
	}
	amzDate := q.Get("X-Amz-Date")
	t, err := time.Parse(amzDateFormat, amzDate)
	if err != nil || !strings.HasPrefix(amzDate, a.Date) {
		return authResult{}, ErrAuthorizationQueryParams.withMessage("X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\" and match the credential date.")
	}
	exp, err := strconv.ParseInt(q.Get("X-Amz-Expires"), 10, 64)
	if err != nil || exp < 0 {
		return authResult{}, ErrAuthorizationQueryParams.withMessage("X-Amz-Expires should be a number")
	}
	if time.Duration(exp)*time.Second > maxPresignExpiry {
		return authResult{}, ErrAuthorizationQueryParams.withMessage("X-Amz-Expires must be less than a week (in seconds) that is 604800")
	}
	now := v.now()
	if now.Before(t.Add(-maxClockSkew)) {
		return authResult{}, ErrAccessDenied.withMessage("Request is not valid yet")
	}
	if now.After(t.Add(time.Duration(exp) * time.Second)) {
		return authResult{}, ErrExpiredPresignRequest
	}
	payload := r.Header.Get("X-Amz-Content-Sha256")
	if payload == "" {
		payload = unsignedPayload
	}
	key := signingKey(secret, a.Date, a.Region, a.Service)
	sig, ok := matchSignature(r, q, a, payload, "X-Amz-Signature", key, amzDate)
	if !ok {
		return authResult{}, ErrSignatureDoesNotMatch
	}
	return authResult{auth: a, amzDate: amzDate, seedSig: sig, signingKey: key, payloadHash: payload}, nil
}

// matchSignature computes the request's signature and compares it with the
// one sent. The canonical URI is the decoded path encoded once, as the SDKs
// sign it; a client that signed the path exactly as it sent it (with a raw
// '+', say) is accepted too.
func matchSignature(r *http.Request, q url.Values, a authHeader, payload, skip string, key []byte, amzDate string) (string, bool) {
	path := r.URL.Path
	if path == "" {
		path = "/"
	}
	uris := []string{uriEncode(path, false)}
	if raw := r.URL.EscapedPath(); raw != uris[0] && raw != "" {
		uris = append(uris, raw)
	}
	for _, uri := range uris {
		creq := canonicalRequest(r, uri, q, a.SignedHeaders, payload, skip)
		sig := hex.EncodeToString(hmacSHA256(key, stringToSign(amzDate, a.scope(), creq)))
		if hmac.Equal([]byte(sig), []byte(a.Signature)) {
			return sig, true
		}
	}
	return "", false
}

func stringToSign(amzDate, scope, canonicalReq string) string {
	return sigV4Algorithm + "\n" + amzDate + "\n" + scope + "\n" + sha256Hex(canonicalReq)
}

// canonicalRequest builds the SigV4 canonical request for a canonical URI.
// S3 does not normalise the path.
func canonicalRequest(r *http.Request, uri string, q url.Values, signed []string, payloadHash, skipParam string) string {
	var b strings.Builder
	b.WriteString(r.Method)
	b.WriteByte('\n')
	b.WriteString(uri)
	b.WriteByte('\n')
	b.WriteString(canonicalQuery(q, skipParam))
	b.WriteByte('\n')
	for _, h := range signed {
		b.WriteString(h)
		b.WriteByte(':')
		b.WriteString(headerValue(r, h))
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	b.WriteString(strings.Join(signed, ";"))
	b.WriteByte('\n')
	b.WriteString(payloadHash)
	return b.String()
}

func canonicalQuery(q url.Values, skip string) string {
	type kv struct{ k, v string }
	var pairs []kv
	for k, vs := range q {
		if k == skip {
			continue
		}
		ek := uriEncode(k, true)
		for _, v := range vs {
			pairs = append(pairs, kv{ek, uriEncode(v, true)})
		}
	}
	sort.Slice(pairs, func(i, j int) bool {
		if pairs[i].k != pairs[j].k {
			return pairs[i].k < pairs[j].k
		}
		return pairs[i].v < pairs[j].v
	})
	var b strings.Builder
	for i, p := range pairs {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(p.k)
		b.WriteByte('=')
		b.WriteString(p.v)
	}
	return b.String()
}

func headerValue(r *http.Request, name string) string {
	var vs []string
	switch name {
	case "host":
		vs = []string{r.Host}
	case "content-length":
		if v := r.Header.Values("Content-Length"); len(v) > 0 {
			vs = v
		} else if r.ContentLength >= 0 {
			vs = []string{strconv.FormatInt(r.ContentLength, 10)}
		}
	case "transfer-encoding":
		vs = r.TransferEncoding
	default:
		vs = r.Header.Values(name)
	}
	for i, v := range vs {
		vs[i] = strings.Join(strings.Fields(v), " ")
	}
	return strings.Join(vs, ",")
}

// uriEncode encodes every byte except A-Z a-z 0-9 - _ . ~ (and '/' unless
// encodeSlash), with upper-case hex, as SigV4 requires.
func uriEncode(s string, encodeSlash bool) string {
	const hexd = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
			c == '-' || c == '_' || c == '.' || c == '~' || (c == '/' && !encodeSlash) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexd[c>>4])
		b.WriteByte(hexd[c&15])
	}
	return b.String()
}

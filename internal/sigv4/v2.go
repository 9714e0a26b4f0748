package sigv4

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Signature Version 2 (HMAC-SHA1 over a string to sign, the S3 documentation's
// "Signing and authenticating REST requests") is accepted in three forms:
// presigned URLs (query parameters AWSAccessKeyId, Expires, Signature), as
// the aws CLI v1's "s3 presign" makes them; the Authorization header
// "AWS AKID:SIGNATURE", as s3cmd --signature-v2 and old SDKs send it; and
// POST policies (AWSAccessKeyId, policy, signature form fields), as boto3
// before 1.36 builds them. The same keys sign both versions; a header
// signature must carry a Date (or x-amz-date) within 15 minutes of now,
// as S3 requires.

// v2SubResources are the query parameters that are part of a SigV2
// canonical resource.
var v2SubResources = map[string]bool{
	"acl": true, "cors": true, "delete": true, "lifecycle": true, "location": true, "logging": true,
	"notification": true, "partNumber": true, "policy": true, "requestPayment": true, "tagging": true,
	"torrent": true, "uploadId": true, "uploads": true, "versionId": true, "versioning": true,
	"versions": true, "website": true,
	"response-cache-control": true, "response-content-disposition": true, "response-content-encoding": true,
	"response-content-language": true, "response-content-type": true, "response-expires": true,
}

// v2StringToSign builds the SigV2 string to sign of a request: date is the
// Expires parameter of a presigned URL, or the Date header of a signed one
// (empty when x-amz-date is sent, which is then among the x-amz- headers).
func v2StringToSign(r *http.Request, q url.Values, date string) string {
	var b strings.Builder
	b.WriteString(r.Method + "\n")
	b.WriteString(r.Header.Get("Content-Md5") + "\n")
	b.WriteString(r.Header.Get("Content-Type") + "\n")
	b.WriteString(date + "\n")
	var amz []string
	for k := range r.Header {
		if lk := strings.ToLower(k); strings.HasPrefix(lk, "x-amz-") {
			amz = append(amz, lk)
		}
	}
	sort.Strings(amz)
	for _, k := range amz {
		vs := r.Header.Values(k)
		for i, v := range vs {
			vs[i] = strings.TrimSpace(v)
		}
		b.WriteString(k + ":" + strings.Join(vs, ",") + "\n")
	}
	b.WriteString(r.URL.EscapedPath())
	var subs []string
	for k := range q {
		if v2SubResources[k] {
			subs = append(subs, k)
		}
	}
	sort.Strings(subs)
	for i, k := range subs {
		if i == 0 {
			b.WriteByte('?')
		} else {
			b.WriteByte('&')
		}
		b.WriteString(k)
		if v := q.Get(k); v != "" {
			b.WriteString("=" + v)
		}
	}
	return b.String()
}

// verifyPresignedV2 checks a SigV2 presigned URL. SigV2 has no credential
// scope: the Service is not checked.
func (v *Verifier) verifyPresignedV2(r *http.Request, q url.Values) (Verified, error) {
	id, sig, expires := q.Get("AWSAccessKeyId"), q.Get("Signature"), q.Get("Expires")
	secret, ok := v.secrets[id]
	if !ok {
		return Verified{}, refuse(ErrUnknownKey, s3UnknownKey)
	}
	exp, err := strconv.ParseInt(expires, 10, 64)
	if err != nil {
		return Verified{}, refuse(ErrExpired, "Invalid Expires parameter")
	}
	if !hmac.Equal([]byte(hmacSHA1(secret, v2StringToSign(r, q, expires))), []byte(sig)) {
		return Verified{}, refuse(ErrSignatureMismatch, s3SignatureMismatch)
	}
	if v.now().After(time.Unix(exp, 0)) {
		return Verified{}, refuse(ErrExpired, s3Expired)
	}
	return Verified{Credential: Credential{AccessKeyID: id}, PayloadHash: UnsignedPayload}, nil
}

func hmacSHA1(secret, data string) string {
	m := hmac.New(sha1.New, []byte(secret))
	m.Write([]byte(data))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// verifyHeaderV2 checks an "AWS AKID:SIGNATURE" Authorization header. The
// request time is x-amz-date, else Date; it must be readable and within 15
// minutes of now. SigV2 signs no payload hash: the body is as unsigned as
// an UNSIGNED-PAYLOAD one (Content-MD5, when sent, is signed and checked
// by the caller).
func (v *Verifier) verifyHeaderV2(r *http.Request, h string) (Verified, error) {
	cred, ok := strings.CutPrefix(h, "AWS ")
	id, sig, ok2 := strings.Cut(cred, ":")
	if !ok || !ok2 || id == "" || strings.ContainsAny(id, " \t") {
		return Verified{}, refuse(ErrMalformedHeader, "The authorization header is malformed; expected AWS ACCESS_KEY_ID:SIGNATURE.")
	}
	raw, err := base64.StdEncoding.DecodeString(sig)
	if err != nil || len(raw) != sha1.Size {
		return Verified{}, refuse(ErrMalformedHeader, "The authorization header is malformed; the Signature is invalid.")
	}
	secret, ok := v.secrets[id]
	if !ok {
		return Verified{}, refuse(ErrUnknownKey, s3UnknownKey)
	}
	date := r.Header.Get("Date")
	stamp := date
	if d := r.Header.Get("X-Amz-Date"); d != "" {
		date, stamp = "", d
	}
	t, err := http.ParseTime(stamp)
	if err != nil {
		t, err = time.Parse(time.RFC1123Z, stamp) // "+0000", as the S3 documentation writes it
	}
	if err != nil {
		return Verified{}, refuse(ErrNoDate, "AWS authentication requires a valid Date or x-amz-date header")
	}
	if skewed(v.now(), t) {
		return Verified{}, refuse(ErrSkewed, "The difference between the request time and the server's time is too large.")
	}
	if !hmac.Equal([]byte(hmacSHA1(secret, v2StringToSign(r, r.URL.Query(), date))), []byte(sig)) {
		return Verified{}, refuse(ErrSignatureMismatch, s3SignatureMismatch)
	}
	return Verified{Credential: Credential{AccessKeyID: id}, PayloadHash: UnsignedPayload}, nil
}

// VerifyPolicyV2 checks the signature of a SigV2 S3 POST upload: the
// form's AWSAccessKeyId, its (base64) policy as sent and its signature,
// base64(HMAC-SHA1(secret, policy)). SigV2 has no credential scope, so no
// service or region is checked; the policy's expiration is the caller's.
func (v *Verifier) VerifyPolicyV2(accessKeyID, policy, signature string) error {
	secret, ok := v.secrets[accessKeyID]
	if !ok {
		return refuse(ErrUnknownKey, s3UnknownKey)
	}
	if policy == "" || !hmac.Equal([]byte(hmacSHA1(secret, policy)), []byte(signature)) {
		return refuse(ErrSignatureMismatch, s3SignatureMismatch)
	}
	return nil
}

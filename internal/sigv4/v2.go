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

// Signature Version 2 is accepted only for presigned URLs (query
// parameters AWSAccessKeyId, Expires, Signature), which is what the aws CLI
// v1's "s3 presign" produces by default. Requests signed in headers must use
// SigV4.

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

// v2StringToSign builds the SigV2 string to sign of a presigned request.
func v2StringToSign(r *http.Request, q url.Values, expires string) string {
	var b strings.Builder
	b.WriteString(r.Method + "\n")
	b.WriteString(r.Header.Get("Content-Md5") + "\n")
	b.WriteString(r.Header.Get("Content-Type") + "\n")
	b.WriteString(expires + "\n")
	var amz []string
	for k := range r.Header {
		if lk := strings.ToLower(k); strings.HasPrefix(lk, "x-amz-") {
			amz = append(amz, lk)
		}
	}
	sort.Strings(amz)
	for _, k := range amz {
		b.WriteString(k + ":" + strings.Join(r.Header.Values(k), ",") + "\n")
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
	m := hmac.New(sha1.New, []byte(secret))
	m.Write([]byte(v2StringToSign(r, q, expires)))
	want := base64.StdEncoding.EncodeToString(m.Sum(nil))
	if !hmac.Equal([]byte(want), []byte(sig)) {
		return Verified{}, refuse(ErrSignatureMismatch, s3SignatureMismatch)
	}
	if v.now().After(time.Unix(exp, 0)) {
		return Verified{}, refuse(ErrExpired, s3Expired)
	}
	return Verified{Credential: Credential{AccessKeyID: id}, PayloadHash: UnsignedPayload}, nil
}

package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

func signingKey(secret string, c Credential) []byte {
	k := hmacSHA256([]byte("AWS4"+secret), c.Date)
	k = hmacSHA256(k, c.Region)
	k = hmacSHA256(k, c.Service)
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

// matchSignature computes the request's signature and compares it with the
// one sent. The canonical URI is the decoded path encoded once, as the SDKs
// sign it; a client that signed the path exactly as it sent it (with a raw
// '+', say) is accepted too. skip is the query parameter left out of the
// canonical query (the presigned signature itself).
func matchSignature(r *http.Request, q url.Values, a authorization, payload, skip string, key []byte, amzDate string) (string, bool) {
	path := r.URL.Path
	if path == "" {
		path = "/"
	}
	uris := []string{URIEncode(path, false)}
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
	return Algorithm + "\n" + amzDate + "\n" + scope + "\n" + sha256Hex(canonicalReq)
}

// canonicalRequest builds the SigV4 canonical request for a canonical URI.
// The path is not normalised (S3 does not, and the JSON APIs post to "/").
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
		ek := URIEncode(k, true)
		for _, v := range vs {
			pairs = append(pairs, kv{ek, URIEncode(v, true)})
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

// URIEncode encodes every byte except A-Z a-z 0-9 - _ . ~ (and '/' unless
// encodeSlash) as %XX with upper-case hex: the UriEncode of SigV4, which S3
// also uses for encoding-type=url and object URLs.
func URIEncode(s string, encodeSlash bool) string {
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

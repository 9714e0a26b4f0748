package s3api_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/imagerec/imagerec/internal/goldentest"
	"github.com/imagerec/imagerec/internal/objstore/memstore"
	"github.com/imagerec/imagerec/internal/s3api"
	"github.com/imagerec/imagerec/internal/sigv4/sigv4test"
)

// docNow is when the AWS documentation's examples are valid.
var docNow = sigv4test.Now()

// authCase builds one request; the handler runs at docNow unless at is set.
type authCase struct {
	name string
	at   time.Time
	req  func(t *testing.T) *http.Request
}

func signedGet(t *testing.T, key, secret, service string, at time.Time, edit func(*http.Request)) *http.Request {
	t.Helper()
	r := httptest.NewRequest(http.MethodGet, "http://127.0.0.1:9000/examplebucket/photo.jpg", nil)
	r.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
	if err := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true }).SignHTTP(t.Context(), aws.Credentials{AccessKeyID: key, SecretAccessKey: secret}, r, "UNSIGNED-PAYLOAD", service, "us-east-1", at); err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(r)
	}
	return r
}

func presignedGet(t *testing.T, key, secret, service, expires string, at time.Time, edit func(url.Values)) *http.Request {
	t.Helper()
	r := httptest.NewRequest(http.MethodGet, "http://127.0.0.1:9000/examplebucket/photo.jpg?X-Amz-Expires="+expires, nil)
	u, _, err := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true }).PresignHTTP(t.Context(), aws.Credentials{AccessKeyID: key, SecretAccessKey: secret}, r, "UNSIGNED-PAYLOAD", service, "us-east-1", at)
	if err != nil {
		t.Fatal(err)
	}
	pu, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		q := pu.Query()
		edit(q)
		pu.RawQuery = q.Encode()
	}
	return httptest.NewRequest(http.MethodGet, pu.String(), nil)
}

// presignedV2 signs a GET of path as the aws CLI v1 "s3 presign" does.
func presignedV2(key, secret, path string, expires int64) *http.Request {
	m := hmac.New(sha1.New, []byte(secret))
	fmt.Fprintf(m, "GET\n\n\n%d\n%s", expires, path)
	q := url.Values{"AWSAccessKeyId": {key}, "Expires": {fmt.Sprint(expires)}, "Signature": {base64.StdEncoding.EncodeToString(m.Sum(nil))}}
	return httptest.NewRequest(http.MethodGet, "http://127.0.0.1:9000"+path+"?"+q.Encode(), nil)
}

func unsignedTrailerPut(t *testing.T, body string) *http.Request {
	t.Helper()
	r := httptest.NewRequest(http.MethodPut, "http://127.0.0.1:9000/examplebucket/trailer.txt", strings.NewReader(body))
	r.Header.Set("Content-Encoding", "aws-chunked")
	r.Header.Set("X-Amz-Content-Sha256", "STREAMING-UNSIGNED-PAYLOAD-TRAILER")
	r.Header.Set("X-Amz-Trailer", "x-amz-checksum-crc32")
	r.Header.Set("X-Amz-Decoded-Content-Length", "11")
	if err := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true }).SignHTTP(t.Context(), aws.Credentials{AccessKeyID: sigv4test.KeyID, SecretAccessKey: sigv4test.Secret}, r, "STREAMING-UNSIGNED-PAYLOAD-TRAILER", "s3", "us-east-1", docNow); err != nil {
		t.Fatal(err)
	}
	return r
}

func postForm(t *testing.T, fields map[string]string) *http.Request {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for _, k := range []string{"key", "policy", "x-amz-algorithm", "x-amz-credential", "x-amz-date", "x-amz-signature"} {
		if v, ok := fields[k]; ok {
			_ = mw.WriteField(k, v)
		}
	}
	fw, _ := mw.CreateFormFile("file", "a.jpg")
	_, _ = fw.Write([]byte("data"))
	_ = mw.Close()
	r := httptest.NewRequest(http.MethodPost, "http://127.0.0.1:9000/examplebucket", &b)
	r.Header.Set("Content-Type", mw.FormDataContentType())
	return r
}

func postFields(edit func(map[string]string)) map[string]string {
	f := map[string]string{
		"key":              "up/a.jpg",
		"policy":           base64.StdEncoding.EncodeToString([]byte(`{"expiration":"2099-01-01T00:00:00Z","conditions":[]}`)),
		"x-amz-algorithm":  "AWS4-HMAC-SHA256",
		"x-amz-credential": sigv4test.KeyID + "/20130524/us-east-1/s3/aws4_request",
		"x-amz-date":       "20130524T000000Z",
		"x-amz-signature":  strings.Repeat("0", 64),
	}
	edit(f)
	return f
}

// TestAuthErrors pins the status, code and message of every way a request
// can fail authentication (and a few that pass), as S3 clients see them.
func TestAuthErrors(t *testing.T) {
	t.Parallel()
	get := func(edit func(*http.Request)) func(t *testing.T) *http.Request {
		return func(t *testing.T) *http.Request {
			return signedGet(t, sigv4test.KeyID, sigv4test.Secret, "s3", docNow, edit)
		}
	}
	setAuth := func(h string) func(*http.Request) { return func(r *http.Request) { r.Header.Set("Authorization", h) } }
	editAuth := func(old, new string) func(*http.Request) {
		return func(r *http.Request) {
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), old, new, 1))
		}
	}
	presign := func(expires string, at time.Time, edit func(url.Values)) func(t *testing.T) *http.Request {
		return func(t *testing.T) *http.Request {
			return presignedGet(t, sigv4test.KeyID, sigv4test.Secret, "s3", expires, at, edit)
		}
	}
	set := func(k, v string) func(url.Values) { return func(q url.Values) { q.Set(k, v) } }
	v2At := time.Unix(1175139000, 0)
	chunkedPut := func(body string) func(t *testing.T) *http.Request {
		return func(*testing.T) *http.Request { return sigv4test.ChunkedPut(body) }
	}
	trailerPut := func(body string) func(t *testing.T) *http.Request {
		return func(t *testing.T) *http.Request { return unsignedTrailerPut(t, body) }
	}
	post := func(edit func(map[string]string)) func(t *testing.T) *http.Request {
		return func(t *testing.T) *http.Request { return postForm(t, postFields(edit)) }
	}
	tests := []authCase{
		{name: "header valid", req: get(nil)},
		{name: "anonymous", req: func(*testing.T) *http.Request {
			return httptest.NewRequest(http.MethodGet, "http://127.0.0.1:9000/examplebucket/photo.jpg", nil)
		}},
		{name: "header and query", req: get(func(r *http.Request) { r.URL.RawQuery = "X-Amz-Algorithm=AWS4-HMAC-SHA256" })},
		{name: "header sigv2", req: get(setAuth("AWS AKIAIOSFODNN7EXAMPLE:frJIUN8DYpKDtOLCwo//yllqDzg="))},
		{name: "header other scheme", req: get(setAuth("Bearer abc"))},
		{name: "header unknown field", req: get(editAuth("SignedHeaders=", "Foo=bar, SignedHeaders="))},
		{name: "header repeated field", req: get(editAuth("SignedHeaders=", "Credential=x, SignedHeaders="))},
		{name: "header bad credential", req: get(editAuth("/aws4_request", "/aws5_request"))},
		{name: "header bad credential date", req: get(editAuth("/20130524/", "/2013052/"))},
		{name: "header unsorted signed headers", req: get(editAuth("SignedHeaders=host;", "SignedHeaders=x-amz-date;host;"))},
		{name: "header short signature", req: get(func(r *http.Request) {
			h := r.Header.Get("Authorization")
			r.Header.Set("Authorization", h[:len(h)-1])
		})},
		{name: "header missing signature", req: get(func(r *http.Request) {
			h := r.Header.Get("Authorization")
			r.Header.Set("Authorization", h[:strings.Index(h, ", Signature=")])
		})},
		{name: "header unknown key", req: func(t *testing.T) *http.Request {
			return signedGet(t, "AKIAOTHER", sigv4test.Secret, "s3", docNow, nil)
		}},
		{name: "header wrong service", req: func(t *testing.T) *http.Request {
			return signedGet(t, sigv4test.KeyID, sigv4test.Secret, "rekognition", docNow, nil)
		}},
		{name: "header no date", req: get(func(r *http.Request) { r.Header.Del("X-Amz-Date") })},
		{name: "header date header instead", req: get(func(r *http.Request) {
			r.Header.Del("X-Amz-Date")
			r.Header.Set("Date", docNow.Format(http.TimeFormat))
		})},
		{name: "header date not credential date", req: get(func(r *http.Request) { r.Header.Set("X-Amz-Date", "20130523T235959Z") })},
		{name: "header skewed", req: func(t *testing.T) *http.Request {
			return signedGet(t, sigv4test.KeyID, sigv4test.Secret, "s3", docNow.Add(-20*time.Minute), nil)
		}},
		{name: "header no content sha256", req: get(func(r *http.Request) { r.Header.Del("X-Amz-Content-Sha256") })},
		{name: "header bad content sha256", req: get(func(r *http.Request) { r.Header.Set("X-Amz-Content-Sha256", "abc") })},
		{name: "header host not signed", req: get(editAuth("SignedHeaders=host;", "SignedHeaders="))},
		{name: "header wrong secret", req: func(t *testing.T) *http.Request {
			return signedGet(t, sigv4test.KeyID, "wrong", "s3", docNow, nil)
		}},
		{name: "header tampered path", req: get(func(r *http.Request) { r.URL.Path = "/examplebucket/other.jpg" })},

		{name: "presigned valid", req: presign("600", docNow, nil)},
		{name: "presigned bad algorithm", req: presign("600", docNow, set("X-Amz-Algorithm", "AWS4-HMAC-SHA1"))},
		{name: "presigned bad credential", req: presign("600", docNow, set("X-Amz-Credential", "AKID/x"))},
		{name: "presigned host not signed", req: presign("600", docNow, set("X-Amz-SignedHeaders", "range"))},
		{name: "presigned bad signature", req: presign("600", docNow, set("X-Amz-Signature", "zz"))},
		{name: "presigned unknown key", req: func(t *testing.T) *http.Request {
			return presignedGet(t, "AKIAOTHER", sigv4test.Secret, "s3", "600", docNow, nil)
		}},
		{name: "presigned wrong service", req: func(t *testing.T) *http.Request {
			return presignedGet(t, sigv4test.KeyID, sigv4test.Secret, "execute-api", "600", docNow, nil)
		}},
		{name: "presigned bad date", req: presign("600", docNow, set("X-Amz-Date", "20130524"))},
		{name: "presigned expires not a number", req: presign("600", docNow, set("X-Amz-Expires", "ten"))},
		{name: "presigned expires over a week", req: presign("604801", docNow, nil)},
		{name: "presigned not valid yet", req: presign("600", docNow.Add(20*time.Minute), nil)},
		{name: "presigned expired", req: presign("60", docNow.Add(-2*time.Minute), nil)},
		{name: "presigned tampered", req: presign("600", docNow, set("X-Amz-Expires", "601"))},

		{name: "v2 valid", at: v2At, req: func(*testing.T) *http.Request {
			return presignedV2(sigv4test.KeyID, sigv4test.Secret, "/examplebucket/photo.jpg", 1175139620)
		}},
		{name: "v2 unknown key", at: v2At, req: func(*testing.T) *http.Request {
			return presignedV2("AKIAOTHER", sigv4test.Secret, "/examplebucket/photo.jpg", 1175139620)
		}},
		{name: "v2 bad expires", at: v2At, req: func(*testing.T) *http.Request {
			r := presignedV2(sigv4test.KeyID, sigv4test.Secret, "/examplebucket/photo.jpg", 1175139620)
			r.URL.RawQuery = strings.Replace(r.URL.RawQuery, "Expires=1175139620", "Expires=soon", 1)
			return r
		}},
		{name: "v2 wrong secret", at: v2At, req: func(*testing.T) *http.Request {
			return presignedV2(sigv4test.KeyID, "wrong", "/examplebucket/photo.jpg", 1175139620)
		}},
		{name: "v2 expired", at: v2At, req: func(*testing.T) *http.Request {
			return presignedV2(sigv4test.KeyID, sigv4test.Secret, "/examplebucket/photo.jpg", 1175138000)
		}},

		{name: "chunked valid", req: chunkedPut(sigv4test.ChunkedBody(strings.Repeat("a", 1024)))},
		{name: "chunked tampered data", req: chunkedPut(sigv4test.ChunkedBody("b" + strings.Repeat("a", 1023)))},
		{name: "chunked truncated", req: chunkedPut(sigv4test.ChunkedBody(strings.Repeat("a", 1024))[:40000])},
		{name: "chunked no final chunk", req: chunkedPut(strings.SplitAfter(sigv4test.ChunkedBody(strings.Repeat("a", 1024)), "0;chunk")[0])},
		{name: "chunked bad size", req: chunkedPut("zz;chunk-signature=" + sigv4test.ChunkSig1 + "\r\n")},
		{name: "chunked missing signature", req: chunkedPut("10000\r\n" + strings.Repeat("a", 65536) + "\r\n")},
		{name: "chunked no crlf after data", req: chunkedPut("10000;chunk-signature=" + sigv4test.ChunkSig1 + "\r\n" + strings.Repeat("a", 65536) + "xx\r\n")},
		{name: "chunked line too long", req: chunkedPut(strings.Repeat("0", 5000) + "\r\n")},
		{name: "trailer valid", req: trailerPut("5\r\nhello\r\n6\r\n world\r\n0\r\nx-amz-checksum-crc32:DUoRhQ==\r\n\r\n")},
		{name: "trailer wrong checksum", req: trailerPut("5\r\nhello\r\n6\r\n world\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n")},
		{name: "trailer malformed", req: trailerPut("5\r\nhello\r\n6\r\n world\r\n0\r\nx-amz-checksum-crc32\r\n\r\n")},
		{name: "trailer too many", req: trailerPut("5\r\nhello\r\n6\r\n world\r\n0\r\n" + strings.Repeat("x-a:b\r\n", 17) + "\r\n")},

		{name: "post bad algorithm", req: post(func(f map[string]string) { f["x-amz-algorithm"] = "AWS2" })},
		{name: "post bad credential", req: post(func(f map[string]string) { f["x-amz-credential"] = "AKID" })},
		{name: "post unknown key", req: post(func(f map[string]string) { f["x-amz-credential"] = "AKIAOTHER/20130524/us-east-1/s3/aws4_request" })},
		{name: "post wrong service", req: post(func(f map[string]string) {
			f["x-amz-credential"] = sigv4test.KeyID + "/20130524/us-east-1/sqs/aws4_request"
		})},
		{name: "post wrong signature", req: post(func(map[string]string) {})},
	}
	var out strings.Builder
	for _, tc := range tests {
		at := tc.at
		if at.IsZero() {
			at = docNow
		}
		store := memstore.New()
		if err := store.CreateBucket(t.Context(), "examplebucket"); err != nil {
			t.Fatal(err)
		}
		h := s3api.New(store, s3api.Options{
			Credentials: []s3api.Credentials{{AccessKeyID: sigv4test.KeyID, SecretAccessKey: sigv4test.Secret}},
			Now:         func() time.Time { return at },
		})
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, tc.req(t))
		var doc struct {
			Code, Message string
		}
		if rec.Code >= 300 {
			if err := xml.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
				t.Errorf("%s: %d with body %q: %v", tc.name, rec.Code, rec.Body, err)
			}
		}
		fmt.Fprintf(&out, "%s: %d %s %q\n", tc.name, rec.Code, doc.Code, doc.Message)
	}
	goldentest.Compare(t, filepath.Join("testdata", "golden", "auth-errors.txt"), []byte(out.String()))
}

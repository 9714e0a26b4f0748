package sigv4

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/imagerec/imagerec/internal/sigv4/sigv4test"
)

var s3 = Service{Name: "s3"}

func exampleVerifier() *Verifier {
	return New([]Credentials{{AccessKeyID: sigv4test.KeyID, SecretAccessKey: sigv4test.Secret}}, sigv4test.Now)
}

// refused reports whether err is what a test wants: nil for nil, else an
// *Error of Kind want with a message (or io.ErrUnexpectedEOF itself).
func refused(err, want error) bool {
	if want == nil || err == nil {
		return want == nil && err == nil
	}
	var e *Error
	if errors.Is(want, io.ErrUnexpectedEOF) {
		return errors.Is(err, want) && !errors.As(err, &e)
	}
	return errors.Is(err, want) && errors.As(err, &e) && e.Message != ""
}

func TestVerifyAWSExamples(t *testing.T) {
	v := exampleVerifier()
	tests := []struct {
		name string
		req  func() *http.Request
		want error
	}{
		{"get", sigv4test.Get, nil},
		{"get wrong range", func() *http.Request { r := sigv4test.Get(); r.Header.Set("Range", "bytes=0-10"); return r }, ErrSignatureMismatch},
		{"get wrong path", func() *http.Request { r := sigv4test.Get(); r.URL.Path = "/test.txt2"; return r }, ErrSignatureMismatch},
		{"get unknown key", func() *http.Request {
			r := sigv4test.Get()
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), sigv4test.KeyID, "AKIAOTHER", 1))
			return r
		}, ErrUnknownKey},
		{"get too old", func() *http.Request {
			r := sigv4test.Get()
			r.Header.Set("X-Amz-Date", "20130523T000000Z")
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "/20130524/", "/20130523/", 1))
			return r
		}, ErrSkewed},
		{"get date not the credential's", func() *http.Request { r := sigv4test.Get(); r.Header.Set("X-Amz-Date", "20130523T235959Z"); return r }, ErrDateMismatch},
		{"get no date", func() *http.Request { r := sigv4test.Get(); r.Header.Del("X-Amz-Date"); return r }, ErrNoDate},
		{"get no payload hash", func() *http.Request { r := sigv4test.Get(); r.Header.Del("X-Amz-Content-Sha256"); return r }, ErrNoPayloadHash},
		{"get bad payload hash", func() *http.Request { r := sigv4test.Get(); r.Header.Set("X-Amz-Content-Sha256", "abc"); return r }, ErrBadPayloadHash},
		{"get host not signed", func() *http.Request {
			r := sigv4test.Get()
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "SignedHeaders=host;", "SignedHeaders=", 1))
			return r
		}, ErrHostNotSigned},
		{"get sigv2 header, malformed", func() *http.Request { r := sigv4test.Get(); r.Header.Set("Authorization", "AWS AKID:sig"); return r }, ErrMalformedHeader},
		{"get header and query", func() *http.Request { r := sigv4test.Get(); r.URL.RawQuery = "X-Amz-Algorithm=x"; return r }, ErrAmbiguous},
		{"anonymous", func() *http.Request { r := sigv4test.Get(); r.Header.Del("Authorization"); return r }, ErrMissing},
		{"presigned", func() *http.Request { return httptest.NewRequest(http.MethodGet, sigv4test.PresignedURL, nil) }, nil},
		{"presigned tampered", func() *http.Request {
			return httptest.NewRequest(http.MethodGet, strings.Replace(sigv4test.PresignedURL, "Expires=86400", "Expires=86401", 1), nil)
		}, ErrSignatureMismatch},
		{"presigned bad expires", func() *http.Request {
			return httptest.NewRequest(http.MethodGet, strings.Replace(sigv4test.PresignedURL, "Expires=86400", "Expires=-1", 1), nil)
		}, ErrMalformedQuery},
		{"chunked put seed", func() *http.Request { return sigv4test.ChunkedPut(sigv4test.ChunkedBody(strings.Repeat("a", 1024))) }, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := v.Verify(tc.req(), s3)
			if !refused(err, tc.want) {
				t.Fatalf("Verify = %v, want %v", err, tc.want)
			}
		})
	}
	t.Run("presigned expired", func(t *testing.T) {
		late := New([]Credentials{{AccessKeyID: sigv4test.KeyID, SecretAccessKey: sigv4test.Secret}}, func() time.Time { return time.Date(2013, 5, 25, 0, 0, 1, 0, time.UTC) })
		_, err := late.Verify(httptest.NewRequest(http.MethodGet, sigv4test.PresignedURL, nil), s3)
		if !refused(err, ErrExpired) {
			t.Fatalf("Verify = %v, want expired", err)
		}
	})
	t.Run("verified", func(t *testing.T) {
		got, err := v.Verify(sigv4test.Get(), s3)
		want := Credential{AccessKeyID: sigv4test.KeyID, Date: "20130524", Region: "us-east-1", Service: "s3"}
		if err != nil || got.Credential != want || got.PayloadHash != sigv4test.EmptySHA256 || got.Streaming() {
			t.Fatalf("Verify = %+v, %v", got, err)
		}
	})
}

// TestVerifyScope checks the service and region a Service asks for, in
// every way a request can name them.
func TestVerifyScope(t *testing.T) {
	v := exampleVerifier()
	tests := []struct {
		name string
		s    Service
		want error
	}{
		{"any region", Service{Name: "s3"}, nil},
		{"its region", Service{Name: "s3", Region: "us-east-1"}, nil},
		{"another region", Service{Name: "s3", Region: "eu-west-1"}, ErrWrongRegion},
		{"another service", Service{Name: "states"}, ErrWrongService},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for name, r := range map[string]*http.Request{
				"header":    sigv4test.Get(),
				"presigned": httptest.NewRequest(http.MethodGet, sigv4test.PresignedURL, nil),
			} {
				if _, err := v.Verify(r, tc.s); !refused(err, tc.want) {
					t.Errorf("%s: Verify = %v, want %v", name, err, tc.want)
				}
			}
			c, _ := ParseCredential(sigv4test.KeyID + "/20130524/us-east-1/s3/aws4_request")
			if err := v.VerifyPolicy(c, "policy", strings.Repeat("0", 64), tc.s); tc.want != nil && !refused(err, tc.want) {
				t.Errorf("VerifyPolicy = %v, want %v", err, tc.want)
			}
		})
	}
}

func drainChunked(body []byte, v Verified) ([]byte, map[string]string, error) {
	c := NewChunkedReader(bytes.NewReader(body), v)
	out, err := io.ReadAll(c)
	return out, c.Trailers(), err
}

func TestChunkedAWSExample(t *testing.T) {
	seed, err := exampleVerifier().Verify(sigv4test.ChunkedPut(""), s3)
	if err != nil || !seed.Streaming() {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		body string
		want error // a Kind, or io.ErrUnexpectedEOF
	}{
		{"valid", sigv4test.ChunkedBody(strings.Repeat("a", 1024)), nil},
		{"tampered data", sigv4test.ChunkedBody("b" + strings.Repeat("a", 1023)), ErrSignatureMismatch},
		{"truncated", sigv4test.ChunkedBody(strings.Repeat("a", 1024))[:40000], io.ErrUnexpectedEOF},
		{"no final chunk", strings.SplitAfter(sigv4test.ChunkedBody(strings.Repeat("a", 1024)), "0;chunk")[0], io.ErrUnexpectedEOF},
		{"no signature", "10000\r\n" + strings.Repeat("a", 65536) + "\r\n", ErrSignatureMismatch},
		{"bad size", "zz;chunk-signature=" + sigv4test.ChunkSig1 + "\r\n", ErrMalformedChunk},
		{"over 64 MiB", "4000001;chunk-signature=" + sigv4test.ChunkSig1 + "\r\n", ErrMalformedChunk},
		{"no CRLF after data", "10000;chunk-signature=" + sigv4test.ChunkSig1 + "\r\n" + strings.Repeat("a", 65536) + "xx\r\n", ErrMalformedChunk},
		{"line too long", strings.Repeat("0", 5000) + "\r\n", ErrMalformedChunk},
		{"empty", "", io.ErrUnexpectedEOF},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, _, err := drainChunked([]byte(tc.body), seed)
			if tc.want == nil {
				if err != nil || !bytes.Equal(got, bytes.Repeat([]byte("a"), 66560)) {
					t.Fatalf("read %d bytes, err %v", len(got), err)
				}
				return
			}
			if !refused(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestChunkedUnsignedTrailers(t *testing.T) {
	unsigned := Verified{PayloadHash: StreamingUnsignedPayloadTrailer}
	tests := []struct {
		name, body string
		want       error
		trailers   map[string]string
	}{
		{"crc32", "5\r\nhello\r\n6\r\n world\r\n0\r\nx-amz-checksum-crc32:DUoRhQ==\r\n\r\n", nil, map[string]string{"X-Amz-Checksum-Crc32": "DUoRhQ=="}},
		{"no final CRLF", "5\r\nhello\r\n6\r\n world\r\n0\r\n", nil, map[string]string{}},
		{"malformed trailer", "5\r\nhello\r\n6\r\n world\r\n0\r\nx-amz-checksum-crc32\r\n\r\n", ErrMalformedChunk, nil},
		{"too many trailers", "5\r\nhello\r\n6\r\n world\r\n0\r\n" + strings.Repeat("x-a:b\r\n", 17) + "\r\n", ErrTooManyTrailers, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, trailers, err := drainChunked([]byte(tc.body), unsigned)
			if !refused(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if tc.want != nil {
				return
			}
			if string(got) != "hello world" || len(trailers) != len(tc.trailers) {
				t.Fatalf("got %q, trailers %v", got, trailers)
			}
			for k, v := range tc.trailers {
				if trailers[k] != v {
					t.Errorf("trailer %s = %q, want %q", k, trailers[k], v)
				}
			}
		})
	}
}

// The SigV2 query-string example of the Amazon S3 documentation.
func TestVerifyPresignedV2(t *testing.T) {
	at := func(unix int64) *Verifier {
		return New([]Credentials{{AccessKeyID: sigv4test.KeyID, SecretAccessKey: sigv4test.Secret}}, func() time.Time { return time.Unix(unix, 0) })
	}
	const u = "http://s3.amazonaws.com/johnsmith/photos/puppy.jpg?AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Signature=NpgCjnDzrM%2BWFzoENXmpNDUsSn8%3D&Expires=1175139620"
	tests := []struct {
		name, method, url string
		now               int64
		want              error
	}{
		{"documented example", http.MethodGet, u, 1175139000, nil},
		{"other path", http.MethodGet, strings.Replace(u, "puppy", "kitten", 1), 1175139000, ErrSignatureMismatch},
		{"other method", http.MethodPut, u, 1175139000, ErrSignatureMismatch},
		{"unknown key", http.MethodGet, strings.Replace(u, "AKIAIOSFODNN7EXAMPLE", "AKIAOTHER", 1), 1175139000, ErrUnknownKey},
		{"unreadable expires", http.MethodGet, strings.Replace(u, "Expires=1175139620", "Expires=soon", 1), 1175139000, ErrExpired},
		{"expired", http.MethodGet, u, 1175139621, ErrExpired},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := at(tc.now).Verify(httptest.NewRequest(tc.method, tc.url, nil), s3)
			if !refused(err, tc.want) {
				t.Fatalf("Verify = %v, want %v", err, tc.want)
			}
			if err == nil && (got.AccessKeyID != sigv4test.KeyID || got.PayloadHash != UnsignedPayload) {
				t.Fatalf("Verify = %+v", got)
			}
		})
	}
}

func TestParseCredential(t *testing.T) {
	tests := []struct {
		in   string
		want Credential
		ok   bool
	}{
		{"AKID/20130524/us-east-1/s3/aws4_request", Credential{"AKID", "20130524", "us-east-1", "s3"}, true},
		{"AKID/20130524/eu-west-1/states/aws4_request", Credential{"AKID", "20130524", "eu-west-1", "states"}, true},
		{"AKID/20130524/us-east-1/s3/aws5_request", Credential{}, false},
		{"AKID/2013052/us-east-1/s3/aws4_request", Credential{}, false},
		{"AKID/20131324/us-east-1/s3/aws4_request", Credential{}, false},
		{"/20130524/us-east-1/s3/aws4_request", Credential{}, false},
		{"AKID/20130524//s3/aws4_request", Credential{}, false},
		{"AKID/20130524/us-east-1//aws4_request", Credential{}, false},
		{"A/KID/20130524/us-east-1/s3/aws4_request", Credential{}, false},
		{"", Credential{}, false},
	}
	for _, tc := range tests {
		got, ok := ParseCredential(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("ParseCredential(%q) = %+v, %v, want %+v, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestURIEncode(t *testing.T) {
	tests := []struct {
		in          string
		encodeSlash bool
		want        string
	}{
		{"photos/a b+c.jpg", false, "photos/a%20b%2Bc.jpg"},
		{"photos/a b+c.jpg", true, "photos%2Fa%20b%2Bc.jpg"},
		{"AZaz09-_.~", true, "AZaz09-_.~"},
		{"ü*", false, "%C3%BC%2A"},
		{"", false, ""},
	}
	for _, tc := range tests {
		if got := URIEncode(tc.in, tc.encodeSlash); got != tc.want {
			t.Errorf("URIEncode(%q, %v) = %q, want %q", tc.in, tc.encodeSlash, got, tc.want)
		}
	}
}

func TestCheckSecret(t *testing.T) {
	t.Parallel()
	v := New([]Credentials{{AccessKeyID: "AK", SecretAccessKey: "s3cret"}, {AccessKeyID: "EMPTY"}}, nil)
	tests := []struct {
		name, key, secret string
		want              bool
	}{
		{"right pair", "AK", "s3cret", true},
		{"wrong secret", "AK", "s3cre", false},
		{"secret of another length", "AK", "s3cret-and-more", false},
		{"unknown key", "BK", "s3cret", false},
		{"empty configured secret never matches", "EMPTY", "", false},
		{"empty key", "", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := v.CheckSecret(tc.key, tc.secret); got != tc.want {
				t.Errorf("CheckSecret(%q, %q) = %v, want %v", tc.key, tc.secret, got, tc.want)
			}
		})
	}
}

package s3api

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// Test vectors from the Amazon S3 API reference (Signature Version 4
// examples), secret wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY.
const (
	exampleKeyID  = "AKIAIOSFODNN7EXAMPLE"
	exampleSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
)

func exampleVerifier() *verifier {
	return &verifier{
		secrets: map[string]string{exampleKeyID: exampleSecret},
		now:     func() time.Time { return time.Date(2013, 5, 24, 0, 5, 0, 0, time.UTC) },
	}
}

func exampleGet() *http.Request {
	r := httptest.NewRequest(http.MethodGet, "http://examplebucket.s3.amazonaws.com/test.txt", nil)
	r.Header.Set("Range", "bytes=0-9")
	r.Header.Set("X-Amz-Content-Sha256", emptySHA256)
	r.Header.Set("X-Amz-Date", "20130524T000000Z")
	r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")
	return r
}

func exampleChunkedPut(body string) *http.Request {
	r := httptest.NewRequest(http.MethodPut, "http://s3.amazonaws.com/examplebucket/chunkObject.txt", strings.NewReader(body))
	r.Header.Set("X-Amz-Date", "20130524T000000Z")
	r.Header.Set("X-Amz-Storage-Class", "REDUCED_REDUNDANCY")
	r.Header.Set("Content-Encoding", "aws-chunked")
	r.Header.Set("X-Amz-Decoded-Content-Length", "66560")
	r.Header.Set("X-Amz-Content-Sha256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD")
	r.Header.Set("Content-Length", "66824")
	r.ContentLength = 66824
	r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class,Signature=4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9")
	return r
}

const (
	sig1 = "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648"
	sig2 = "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497"
	sig3 = "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9"
)

func exampleChunkedBody(a2 string) string {
	return "10000;chunk-signature=" + sig1 + "\r\n" + strings.Repeat("a", 65536) + "\r\n" +
		"400;chunk-signature=" + sig2 + "\r\n" + a2 + "\r\n" +
		"0;chunk-signature=" + sig3 + "\r\n\r\n"
}

func TestVerifyAWSExamples(t *testing.T) {
	v := exampleVerifier()
	tests := []struct {
		name string
		req  func() *http.Request
		want *APIError
	}{
		{"get", exampleGet, nil},
		{"get wrong range", func() *http.Request { r := exampleGet(); r.Header.Set("Range", "bytes=0-10"); return r }, ErrSignatureDoesNotMatch},
		{"get wrong path", func() *http.Request { r := exampleGet(); r.URL.Path = "/test.txt2"; return r }, ErrSignatureDoesNotMatch},
		{"get unknown key", func() *http.Request {
			r := exampleGet()
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), exampleKeyID, "AKIAOTHER", 1))
			return r
		}, ErrInvalidAccessKeyID},
		{"get too old", func() *http.Request {
			r := exampleGet()
			r.Header.Set("X-Amz-Date", "20130523T000000Z")
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "/20130524/", "/20130523/", 1))
			return r
		}, ErrRequestTimeTooSkewed},
		{"anonymous", func() *http.Request { r := exampleGet(); r.Header.Del("Authorization"); return r }, ErrAccessDenied},
		{"presigned", func() *http.Request {
			return httptest.NewRequest(http.MethodGet, "http://examplebucket.s3.amazonaws.com/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404", nil)
		}, nil},
		{"presigned tampered", func() *http.Request {
			return httptest.NewRequest(http.MethodGet, "http://examplebucket.s3.amazonaws.com/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86401&X-Amz-SignedHeaders=host&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404", nil)
		}, ErrSignatureDoesNotMatch},
		{"chunked put seed", func() *http.Request { return exampleChunkedPut(exampleChunkedBody(strings.Repeat("a", 1024))) }, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := v.verify(tc.req())
			if tc.want == nil && err != nil || tc.want != nil && (err == nil || err.Code != tc.want.Code) {
				t.Fatalf("verify = %v, want %v", err, tc.want)
			}
		})
	}
	t.Run("presigned expired", func(t *testing.T) {
		late := &verifier{secrets: v.secrets, now: func() time.Time { return time.Date(2013, 5, 25, 0, 0, 1, 0, time.UTC) }}
		r := httptest.NewRequest(http.MethodGet, "http://examplebucket.s3.amazonaws.com/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404", nil)
		if _, err := late.verify(r); err == nil || err.Message != ErrExpiredPresignRequest.Message {
			t.Fatalf("verify = %v, want expired", err)
		}
	})
}

func TestChunkedAWSExample(t *testing.T) {
	v := exampleVerifier()
	tests := []struct {
		name string
		body string
		want error
	}{
		{"valid", exampleChunkedBody(strings.Repeat("a", 1024)), nil},
		{"tampered data", exampleChunkedBody("b" + strings.Repeat("a", 1023)), ErrSignatureDoesNotMatch},
		{"truncated", exampleChunkedBody(strings.Repeat("a", 1024))[:40000], ErrIncompleteBody},
		{"no final chunk", strings.SplitAfter(exampleChunkedBody(strings.Repeat("a", 1024)), "0;chunk")[0], ErrIncompleteBody},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := exampleChunkedPut(tc.body)
			ar, aerr := v.verify(r)
			if aerr != nil {
				t.Fatal(aerr)
			}
			b, aerr := bodyReader(r, ar, 1<<30)
			if aerr != nil {
				t.Fatal(aerr)
			}
			got, err := io.ReadAll(b)
			if tc.want == nil {
				if err != nil || len(got) != 66560 || !bytes.Equal(got, bytes.Repeat([]byte("a"), 66560)) {
					t.Fatalf("read %d bytes, err %v", len(got), err)
				}
				return
			}
			var ae *APIError
			if !errors.As(err, &ae) && !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			var want *APIError
			if ae != nil && errors.As(tc.want, &want) && ae.Code != want.Code {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestUnsignedTrailer(t *testing.T) {
	tests := []struct {
		name, trailer string
		ok            bool
	}{
		// crc32("hello world") = 0x0d4a1185 -> DUoRhQ==
		{"crc32 ok", "x-amz-checksum-crc32:DUoRhQ==", true},
		{"crc32 wrong", "x-amz-checksum-crc32:AAAAAA==", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body := "5\r\nhello\r\n6\r\n world\r\n0\r\n" + tc.trailer + "\r\n\r\n"
			r := httptest.NewRequest(http.MethodPut, "/b/k", strings.NewReader(body))
			r.Header.Set("X-Amz-Trailer", "x-amz-checksum-crc32")
			r.Header.Set("X-Amz-Decoded-Content-Length", "11")
			b, aerr := bodyReader(r, authResult{payloadHash: streamingUnsignedPayloadTrail}, 1<<20)
			if aerr != nil {
				t.Fatal(aerr)
			}
			got, err := io.ReadAll(b)
			if tc.ok && (err != nil || string(got) != "hello world") {
				t.Fatalf("got %q, %v", got, err)
			}
			if !tc.ok && (err == nil || !strings.Contains(err.Error(), "BadDigest")) {
				t.Fatalf("err = %v, want BadDigest", err)
			}
		})
	}
}

func TestChecksumHeaders(t *testing.T) {
	// Known check values of "123456789".
	tests := map[string]string{
		"crc32":     "y/Q5Jg==",     // 0xcbf43926
		"crc32c":    "4waSgw==",     // 0xe3069283
		"crc64nvme": "rosUhgp5mIg=", // 0xae8b14860a799888
		"sha1":      "98O8HYCOBHMq32eZZczDTKeuNEE=",
		"sha256":    "FeKw08M4keuw8e9gnsQZQgwg4yDOlMZfvIwzEkSOsiU=",
	}
	for alg, sum := range tests {
		t.Run(alg, func(t *testing.T) {
			for _, good := range []bool{true, false} {
				r := httptest.NewRequest(http.MethodPut, "/b/k", strings.NewReader("123456789"))
				v := sum
				if !good {
					v = "AAAA" + sum[4:]
				}
				r.Header.Set("X-Amz-Checksum-"+alg, v)
				b, aerr := bodyReader(r, authResult{payloadHash: unsignedPayload}, 1<<20)
				if aerr != nil {
					t.Fatal(aerr)
				}
				_, err := io.ReadAll(b)
				if good != (err == nil) {
					t.Errorf("good=%v: err = %v", good, err)
				}
			}
		})
	}
}

func TestContentSHA256Mismatch(t *testing.T) {
	r := httptest.NewRequest(http.MethodPut, "/b/k", strings.NewReader("abc"))
	b, aerr := bodyReader(r, authResult{payloadHash: emptySHA256}, 1<<20)
	if aerr != nil {
		t.Fatal(aerr)
	}
	if _, err := io.ReadAll(b); !errors.Is(err, ErrContentSHA256Mismatch) {
		t.Fatalf("err = %v, want XAmzContentSHA256Mismatch", err)
	}
	r = httptest.NewRequest(http.MethodPut, "/b/k", strings.NewReader("abcdef"))
	if _, aerr := bodyReader(r, authResult{payloadHash: unsignedPayload}, 4); aerr != ErrEntityTooLarge {
		t.Fatalf("bodyReader(declared too large) = %v, want EntityTooLarge", aerr)
	}
	r = httptest.NewRequest(http.MethodPut, "/b/k", strings.NewReader("abcdef"))
	r.ContentLength = -1
	b, _ = bodyReader(r, authResult{payloadHash: unsignedPayload}, 4)
	if _, err := io.ReadAll(b); !errors.Is(err, ErrEntityTooLarge) {
		t.Fatalf("err = %v, want EntityTooLarge", err)
	}
}

// The SigV2 query-string example of the Amazon S3 documentation.
func TestVerifyPresignedV2(t *testing.T) {
	v := &verifier{secrets: map[string]string{exampleKeyID: exampleSecret}, now: func() time.Time { return time.Unix(1175139000, 0) }}
	const u = "http://s3.amazonaws.com/johnsmith/photos/puppy.jpg?AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Signature=NpgCjnDzrM%2BWFzoENXmpNDUsSn8%3D&Expires=1175139620"
	if _, err := v.verify(httptest.NewRequest(http.MethodGet, u, nil)); err != nil {
		t.Fatalf("documented example refused: %v", err)
	}
	if _, err := v.verify(httptest.NewRequest(http.MethodGet, strings.Replace(u, "puppy", "kitten", 1), nil)); err == nil || err.Code != "SignatureDoesNotMatch" {
		t.Errorf("other path: %v", err)
	}
	if _, err := v.verify(httptest.NewRequest(http.MethodPut, u, nil)); err == nil || err.Code != "SignatureDoesNotMatch" {
		t.Errorf("other method: %v", err)
	}
	late := &verifier{secrets: v.secrets, now: func() time.Time { return time.Unix(1175139621, 0) }}
	if _, err := late.verify(httptest.NewRequest(http.MethodGet, u, nil)); err == nil || err.Message != ErrExpiredPresignRequest.Message {
		t.Errorf("expired: %v", err)
	}
}

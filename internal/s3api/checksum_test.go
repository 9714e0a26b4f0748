package s3api

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/imagerec/imagerec/internal/sigv4"
	"github.com/imagerec/imagerec/internal/sigv4/sigv4test"
)

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
			b, aerr := bodyReader(r, sigv4.Verified{PayloadHash: sigv4.StreamingUnsignedPayloadTrailer}, 1<<20)
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
				b, aerr := bodyReader(r, sigv4.Verified{PayloadHash: sigv4.UnsignedPayload}, 1<<20)
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
	b, aerr := bodyReader(r, sigv4.Verified{PayloadHash: sigv4test.EmptySHA256}, 1<<20)
	if aerr != nil {
		t.Fatal(aerr)
	}
	if _, err := io.ReadAll(b); !errors.Is(err, ErrContentSHA256Mismatch) {
		t.Fatalf("err = %v, want XAmzContentSHA256Mismatch", err)
	}
	r = httptest.NewRequest(http.MethodPut, "/b/k", strings.NewReader("abcdef"))
	if _, aerr := bodyReader(r, sigv4.Verified{PayloadHash: sigv4.UnsignedPayload}, 4); aerr != ErrEntityTooLarge {
		t.Fatalf("bodyReader(declared too large) = %v, want EntityTooLarge", aerr)
	}
	r = httptest.NewRequest(http.MethodPut, "/b/k", strings.NewReader("abcdef"))
	r.ContentLength = -1
	b, _ = bodyReader(r, sigv4.Verified{PayloadHash: sigv4.UnsignedPayload}, 4)
	if _, err := io.ReadAll(b); !errors.Is(err, ErrEntityTooLarge) {
		t.Fatalf("err = %v, want EntityTooLarge", err)
	}
}

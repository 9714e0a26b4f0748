// Package sigv4test holds the Signature Version 4 examples of the Amazon S3
// API reference (its test vectors), for the tests of sigv4 and of the
// handlers that use it. The signatures are AWS's, computed with Secret.
package sigv4test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"time"
)

// The documentation's example key pair (published by AWS, not a secret).
const (
	KeyID  = "AKIAIOSFODNN7EXAMPLE"                     //nolint:gosec // AWS's published example key
	Secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY" //nolint:gosec // AWS's published example key
)

// Now is a time at which the examples are valid: five minutes after they
// were signed (20130524T000000Z).
func Now() time.Time { return time.Date(2013, 5, 24, 0, 5, 0, 0, time.UTC) }

// EmptySHA256 is the SHA-256 of no bytes.
const EmptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

// Get is the example GET of the first 10 bytes of examplebucket/test.txt,
// signed in the Authorization header.
func Get() *http.Request {
	r := httptest.NewRequest(http.MethodGet, "http://examplebucket.s3.amazonaws.com/test.txt", nil)
	r.Header.Set("Range", "bytes=0-9")
	r.Header.Set("X-Amz-Content-Sha256", EmptySHA256)
	r.Header.Set("X-Amz-Date", "20130524T000000Z")
	r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")
	return r
}

// PresignedURL is the example presigned GET of examplebucket/test.txt,
// valid for a day.
const PresignedURL = "http://examplebucket.s3.amazonaws.com/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404" //nolint:gosec // AWS's published example

// The chunk signatures of the example aws-chunked upload, in order.
const (
	ChunkSig1 = "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648"
	ChunkSig2 = "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497"
	ChunkSig3 = "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9"
)

// ChunkedPut is the example aws-chunked PUT of examplebucket/chunkObject.txt
// (STREAMING-AWS4-HMAC-SHA256-PAYLOAD) with body, normally ChunkedBody.
func ChunkedPut(body string) *http.Request {
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

// ChunkedBody is the example's body: a 64 KiB chunk of 'a', then second
// (1 KiB of 'a' in the example; anything else breaks the second chunk's
// signature), then the final chunk.
func ChunkedBody(second string) string {
	return "10000;chunk-signature=" + ChunkSig1 + "\r\n" + strings.Repeat("a", 65536) + "\r\n" +
		"400;chunk-signature=" + ChunkSig2 + "\r\n" + second + "\r\n" +
		"0;chunk-signature=" + ChunkSig3 + "\r\n\r\n"
}

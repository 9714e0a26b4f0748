package sigv4

import (
	"errors"
	"strings"
	"testing"

	"github.com/imagerec/imagerec/internal/sigv4/sigv4test"
)

func FuzzParseAuthorization(f *testing.F) {
	f.Add("AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")
	f.Add("AWS4-HMAC-SHA256 Credential=AKID/20260101/eu-west-1/s3/aws4_request, SignedHeaders=host, Signature=" + strings.Repeat("0", 64))
	f.Add("AWS AKIAIOSFODNN7EXAMPLE:frJIUN8DYpKDtOLCwo//yllqDzg=")
	f.Add("AWS4-HMAC-SHA256 Credential=a/b/c/d/e")
	f.Add("")
	f.Fuzz(func(t *testing.T, h string) {
		a, err := parseAuthorization(h)
		if err != nil {
			if !errors.Is(err, ErrMalformedHeader) && !errors.Is(err, ErrUnsupportedVersion) || err.Message == "" {
				t.Fatalf("refusal %v", err)
			}
			return
		}
		if !validSignature(a.Signature) || a.AccessKeyID == "" || len(a.Date) != 8 || len(a.SignedHeaders) == 0 {
			t.Fatalf("accepted %q as %+v", h, a)
		}
		for i := 1; i < len(a.SignedHeaders); i++ {
			if a.SignedHeaders[i-1] >= a.SignedHeaders[i] {
				t.Fatalf("signed headers not sorted: %v", a.SignedHeaders)
			}
		}
		again := Algorithm + " Credential=" + a.AccessKeyID + "/" + a.scope() + ", SignedHeaders=" + strings.Join(a.SignedHeaders, ";") + ", Signature=" + a.Signature
		b, err := parseAuthorization(again)
		if err != nil || b.scope() != a.scope() || b.Signature != a.Signature {
			t.Fatalf("re-parse of %q: %+v, %v", again, b, err)
		}
	})
}

func FuzzChunked(f *testing.F) {
	f.Add([]byte("5\r\nhello\r\n6\r\n world\r\n0\r\nx-amz-checksum-crc32:DUoRhQ==\r\n\r\n"), false)
	f.Add([]byte("0\r\n\r\n"), false)
	f.Add([]byte("ffffffffffffffff\r\nx"), false)
	f.Add([]byte(sigv4test.ChunkedBody(strings.Repeat("a", 1024))), true)
	f.Add([]byte("400;chunk-signature="+sigv4test.ChunkSig2+"\r\nabc"), true)
	signed, err := exampleVerifier().Verify(sigv4test.ChunkedPut(""), s3)
	if err != nil {
		f.Fatal(err)
	}
	unsigned := Verified{PayloadHash: StreamingUnsignedPayloadTrailer}
	f.Fuzz(func(t *testing.T, body []byte, sign bool) {
		v := unsigned
		if sign {
			v = signed
		}
		out, trailers, err := drainChunked(body, v)
		if err != nil {
			var e *Error
			if errors.As(err, &e) && e.Message == "" {
				t.Fatalf("refusal without a message: %v", err)
			}
			return
		}
		if len(out) > len(body) || len(trailers) > maxTrailers {
			t.Fatalf("decoded %d bytes and %d trailers from %d", len(out), len(trailers), len(body))
		}
		if sign && !strings.Contains(string(body), "chunk-signature=") {
			t.Fatalf("signed body without signatures accepted")
		}
	})
}

// FuzzVerifyRequest feeds arbitrary query strings (presigned parameters)
// and Authorization headers to the verifier: it must refuse or accept
// without panicking, and never accept a request not signed with the key.
func FuzzVerifyRequest(f *testing.F) {
	f.Add("X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404", "")
	f.Add("X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=-1", "")
	f.Add("", "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")
	v := exampleVerifier()
	f.Fuzz(func(t *testing.T, rawQuery, authz string) {
		r := sigv4test.Get()
		r.URL.RawQuery = rawQuery
		r.Header.Del("Authorization")
		if authz != "" {
			r.Header.Set("Authorization", authz)
		}
		got, err := v.Verify(r, s3)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Kind == nil || e.Message == "" {
				t.Fatalf("refusal %v for %q %q is no *Error with a kind and a message", err, rawQuery, authz)
			}
			return
		}
		if got.AccessKeyID != sigv4test.KeyID || !validSignature(got.seed) {
			t.Fatalf("accepted %q %q as %+v", rawQuery, authz, got.Credential)
		}
	})
}

package rekapi_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/imagerec/imagerec/internal/goldentest"
	"github.com/imagerec/imagerec/internal/objstore/memstore"
	"github.com/imagerec/imagerec/internal/rekapi"
	"github.com/imagerec/imagerec/internal/sigv4"
)

// TestAuthErrors pins the status, x-amzn-ErrorType and body of every way a
// request can fail SigV4 verification, as Rekognition clients see them.
func TestAuthErrors(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	v := sigv4.New([]sigv4.Credentials{{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "secret"}}, func() time.Time { return now })
	h := rekapi.New(&fakeRecognizer{result: sample()}, memstore.New(), rekapi.Options{Verifier: v})
	body := []byte(`{"Image":{"Bytes":"/9j/4AA="},"MaxLabels":1}`)
	sign := func(t *testing.T, key, secret, service string, at time.Time, signed []byte, edit func(*http.Request)) *http.Request {
		t.Helper()
		r := httptest.NewRequest(http.MethodPost, "http://127.0.0.1:9000/", bytes.NewReader(body))
		r.Header.Set("X-Amz-Target", rekapi.TargetPrefix+"DetectLabels")
		r.Header.Set("Content-Type", rekapi.ContentType)
		sum := sha256.Sum256(signed)
		if err := v4.NewSigner().SignHTTP(t.Context(), aws.Credentials{AccessKeyID: key, SecretAccessKey: secret}, r, hex.EncodeToString(sum[:]), service, "us-east-1", at); err != nil {
			t.Fatal(err)
		}
		if edit != nil {
			edit(r)
		}
		return r
	}
	ok := func(edit func(*http.Request)) func(t *testing.T) *http.Request {
		return func(t *testing.T) *http.Request {
			return sign(t, "AKIDEXAMPLE", "secret", "rekognition", now, body, edit)
		}
	}
	editAuth := func(old, new string) func(*http.Request) {
		return func(r *http.Request) {
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), old, new, 1))
		}
	}
	tests := []struct {
		name string
		req  func(t *testing.T) *http.Request
	}{
		{"valid", ok(nil)},
		{"unsigned", ok(func(r *http.Request) { r.Header.Del("Authorization") })},
		{"sigv2", ok(func(r *http.Request) { r.Header.Set("Authorization", "AWS AKIDEXAMPLE:frJIUN8DYpKDtOLCwo//yllqDzg=") })},
		{"other scheme", ok(func(r *http.Request) { r.Header.Set("Authorization", "Bearer abc") })},
		{"unknown field", ok(editAuth("SignedHeaders=", "Foo=bar, SignedHeaders="))},
		{"bad credential", ok(editAuth("/aws4_request", "/aws5_request"))},
		{"unsorted signed headers", ok(editAuth("SignedHeaders=", "SignedHeaders=x-amz-date;"))},
		{"short signature", ok(func(r *http.Request) {
			h := r.Header.Get("Authorization")
			r.Header.Set("Authorization", h[:len(h)-1])
		})},
		{"missing signature", ok(func(r *http.Request) {
			h := r.Header.Get("Authorization")
			r.Header.Set("Authorization", h[:strings.Index(h, ", Signature=")])
		})},
		{"unknown key", func(t *testing.T) *http.Request { return sign(t, "AKIDOTHER", "secret", "rekognition", now, body, nil) }},
		{"wrong service", func(t *testing.T) *http.Request { return sign(t, "AKIDEXAMPLE", "secret", "s3", now, body, nil) }},
		{"no date", ok(func(r *http.Request) { r.Header.Del("X-Amz-Date") })},
		{"date not credential date", ok(func(r *http.Request) { r.Header.Set("X-Amz-Date", "20261127T235959Z") })},
		{"skewed", func(t *testing.T) *http.Request {
			return sign(t, "AKIDEXAMPLE", "secret", "rekognition", now.Add(-time.Hour), body, nil)
		}},
		{"host not signed", ok(editAuth(";host;", ";"))},
		{"content sha256 not the body's", ok(func(r *http.Request) { r.Header.Set("X-Amz-Content-Sha256", strings.Repeat("0", 64)) })},
		{"body changed after signing", func(t *testing.T) *http.Request {
			return sign(t, "AKIDEXAMPLE", "secret", "rekognition", now, []byte("{}"), nil)
		}},
		{"wrong secret", func(t *testing.T) *http.Request {
			return sign(t, "AKIDEXAMPLE", "other", "rekognition", now, body, nil)
		}},
	}
	var out strings.Builder
	for _, tc := range tests {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, tc.req(t))
		if rec.Code == http.StatusOK {
			fmt.Fprintf(&out, "%s: %d\n", tc.name, rec.Code)
			continue
		}
		fmt.Fprintf(&out, "%s: %d %s %s", tc.name, rec.Code, rec.Header().Get("X-Amzn-Errortype"), rec.Body.Bytes())
	}
	goldentest.Compare(t, filepath.Join("testdata", "auth-errors.golden.txt"), []byte(out.String()))
}

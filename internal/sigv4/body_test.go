package sigv4_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/imagerec/imagerec/internal/sigv4"
)

// TestVerifyBody signs JSON API requests with the SDK's own signer, for
// Rekognition (JSON 1.1) and Step Functions (JSON 1.0).
func TestVerifyBody(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	v := sigv4.New([]sigv4.Credentials{{AccessKeyID: "AKID", SecretAccessKey: "secret"}}, func() time.Time { return now })
	body := []byte(`{"Image":{"Bytes":"AAAA"}}`)
	sign := func(t *testing.T, key, secret, service, region string, at time.Time, signed []byte) *http.Request {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, "http://127.0.0.1:9000/", bytes.NewReader(body))
		req.Header.Set("X-Amz-Target", "RekognitionService.DetectLabels")
		req.Header.Set("Content-Type", "application/x-amz-json-1.1")
		sum := sha256.Sum256(signed)
		if err := v4.NewSigner().SignHTTP(t.Context(), aws.Credentials{AccessKeyID: key, SecretAccessKey: secret}, req, hex.EncodeToString(sum[:]), service, region, at); err != nil {
			t.Fatal(err)
		}
		return req
	}
	rek := sigv4.Service{Name: "rekognition"}
	tests := []struct {
		name string
		req  func(t *testing.T) *http.Request
		s    sigv4.Service
		want error
	}{
		{"valid", func(t *testing.T) *http.Request {
			return sign(t, "AKID", "secret", "rekognition", "us-east-1", now, body)
		}, rek, nil},
		{"step functions", func(t *testing.T) *http.Request { return sign(t, "AKID", "secret", "states", "eu-west-1", now, body) }, sigv4.Service{Name: "states", Region: "eu-west-1"}, nil},
		{"other region", func(t *testing.T) *http.Request { return sign(t, "AKID", "secret", "states", "us-east-1", now, body) }, sigv4.Service{Name: "states", Region: "eu-west-1"}, sigv4.ErrWrongRegion},
		{"unknown key", func(t *testing.T) *http.Request {
			return sign(t, "NOPE", "secret", "rekognition", "us-east-1", now, body)
		}, rek, sigv4.ErrUnknownKey},
		{"wrong secret", func(t *testing.T) *http.Request {
			return sign(t, "AKID", "other", "rekognition", "us-east-1", now, body)
		}, rek, sigv4.ErrSignatureMismatch},
		{"wrong service", func(t *testing.T) *http.Request { return sign(t, "AKID", "secret", "s3", "us-east-1", now, body) }, rek, sigv4.ErrWrongService},
		{"body changed after signing", func(t *testing.T) *http.Request {
			return sign(t, "AKID", "secret", "rekognition", "us-east-1", now, []byte("{}"))
		}, rek, sigv4.ErrSignatureMismatch},
		{"payload header not the body's", func(t *testing.T) *http.Request {
			r := sign(t, "AKID", "secret", "rekognition", "us-east-1", now, body)
			r.Header.Set("X-Amz-Content-Sha256", strings.Repeat("0", 64))
			return r
		}, rek, sigv4.ErrBadPayloadHash},
		{"expired", func(t *testing.T) *http.Request {
			return sign(t, "AKID", "secret", "rekognition", "us-east-1", now.Add(-time.Hour), body)
		}, rek, sigv4.ErrSkewed},
		{"no date", func(t *testing.T) *http.Request {
			r := sign(t, "AKID", "secret", "rekognition", "us-east-1", now, body)
			r.Header.Del("X-Amz-Date")
			return r
		}, rek, sigv4.ErrNoDate},
		{"malformed", func(t *testing.T) *http.Request {
			r := sign(t, "AKID", "secret", "rekognition", "us-east-1", now, body)
			r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKID")
			return r
		}, rek, sigv4.ErrMalformedHeader},
		{"unsigned", func(t *testing.T) *http.Request {
			req, _ := http.NewRequest(http.MethodPost, "http://127.0.0.1:9000/", bytes.NewReader(body))
			return req
		}, rek, sigv4.ErrMissing},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := v.VerifyBody(tc.req(t), body, tc.s)
			if tc.want == nil {
				if err != nil || got.AccessKeyID != "AKID" || got.Service != tc.s.Name {
					t.Fatalf("valid request refused: %+v, %v", got, err)
				}
				return
			}
			var e *sigv4.Error
			if !errors.Is(err, tc.want) || !errors.As(err, &e) || e.Message == "" {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

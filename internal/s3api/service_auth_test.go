package s3api_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/imagerec/imagerec/internal/s3api"
)

// TestServiceVerifier signs JSON API requests with the SDK's own signer.
func TestServiceVerifier(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	creds := []s3api.Credentials{{AccessKeyID: "AKID", SecretAccessKey: "secret"}}
	v := s3api.NewServiceVerifier(creds, "rekognition", func() time.Time { return now })
	body := []byte(`{"Image":{"Bytes":"AAAA"}}`)
	sign := func(t *testing.T, key, secret, service string, at time.Time, signed []byte) *http.Request {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, "http://127.0.0.1:9000/", bytes.NewReader(body))
		req.Header.Set("X-Amz-Target", "RekognitionService.DetectLabels")
		req.Header.Set("Content-Type", "application/x-amz-json-1.1")
		sum := sha256.Sum256(signed)
		err := v4.NewSigner().SignHTTP(t.Context(), aws.Credentials{AccessKeyID: key, SecretAccessKey: secret}, req, hex.EncodeToString(sum[:]), service, "us-east-1", at)
		if err != nil {
			t.Fatal(err)
		}
		return req
	}
	tests := []struct {
		name string
		req  func(t *testing.T) *http.Request
		code string
	}{
		{"valid", func(t *testing.T) *http.Request { return sign(t, "AKID", "secret", "rekognition", now, body) }, ""},
		{"unknown key", func(t *testing.T) *http.Request { return sign(t, "NOPE", "secret", "rekognition", now, body) }, "UnrecognizedClientException"},
		{"wrong secret", func(t *testing.T) *http.Request { return sign(t, "AKID", "other", "rekognition", now, body) }, "InvalidSignatureException"},
		{"wrong service", func(t *testing.T) *http.Request { return sign(t, "AKID", "secret", "s3", now, body) }, "InvalidSignatureException"},
		{"body changed after signing", func(t *testing.T) *http.Request { return sign(t, "AKID", "secret", "rekognition", now, []byte("{}")) }, "InvalidSignatureException"},
		{"expired", func(t *testing.T) *http.Request {
			return sign(t, "AKID", "secret", "rekognition", now.Add(-time.Hour), body)
		}, "InvalidSignatureException"},
		{"unsigned", func(t *testing.T) *http.Request {
			req, _ := http.NewRequest(http.MethodPost, "http://127.0.0.1:9000/", bytes.NewReader(body))
			return req
		}, "MissingAuthenticationTokenException"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := v.Verify(tc.req(t), body)
			if tc.code == "" {
				if err != nil {
					t.Fatalf("valid request refused: %v", err)
				}
				return
			}
			var ae *s3api.ServiceAuthError
			if !errors.As(err, &ae) || ae.ErrorCode() != tc.code {
				t.Fatalf("err = %v, want code %s", err, tc.code)
			}
		})
	}
}

package sigv4

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/imagerec/imagerec/internal/sigv4/sigv4test"
)

// The SigV2 header examples of the Amazon S3 documentation ("Signing and
// authenticating REST requests"), path-style.
var (
	v2GetTime = time.Date(2007, 3, 27, 19, 36, 42, 0, time.UTC)
	v2PutTime = time.Date(2007, 3, 27, 21, 15, 45, 0, time.UTC)
)

func v2Request(method, date, authz string) *http.Request {
	r := httptest.NewRequest(method, "http://s3.us-west-1.amazonaws.com/awsexamplebucket1/photos/puppy.jpg", nil)
	if date != "" {
		r.Header.Set("Date", date)
	}
	if method == http.MethodPut {
		r.Header.Set("Content-Type", "image/jpeg")
	}
	r.Header.Set("Authorization", authz)
	return r
}

func TestVerifyHeaderV2(t *testing.T) {
	t.Parallel()
	const (
		getDate = "Tue, 27 Mar 2007 19:36:42 +0000"
		getSig  = "AWS " + sigv4test.KeyID + ":qgk2+6Sv9/oM7G3qLEjTH1a1l1g="
		putDate = "Tue, 27 Mar 2007 21:15:45 +0000"
		putSig  = "AWS " + sigv4test.KeyID + ":iqRzw+ileNPu1fhspnRs8nOjjIA="
	)
	at := func(now time.Time) *Verifier {
		return New([]Credentials{{AccessKeyID: sigv4test.KeyID, SecretAccessKey: sigv4test.Secret}}, func() time.Time { return now })
	}
	tests := []struct {
		name string
		req  func() *http.Request
		now  time.Time
		want error
	}{
		{"documented GET", func() *http.Request { return v2Request(http.MethodGet, getDate, getSig) }, v2GetTime, nil},
		{"documented PUT", func() *http.Request { return v2Request(http.MethodPut, putDate, putSig) }, v2PutTime, nil},
		{"14 minutes late", func() *http.Request { return v2Request(http.MethodGet, getDate, getSig) }, v2GetTime.Add(14 * time.Minute), nil},
		{"16 minutes late", func() *http.Request { return v2Request(http.MethodGet, getDate, getSig) }, v2GetTime.Add(16 * time.Minute), ErrSkewed},
		{"16 minutes early", func() *http.Request { return v2Request(http.MethodGet, getDate, getSig) }, v2GetTime.Add(-16 * time.Minute), ErrSkewed},
		{"no date", func() *http.Request { return v2Request(http.MethodGet, "", getSig) }, v2GetTime, ErrNoDate},
		{"unreadable date", func() *http.Request { return v2Request(http.MethodGet, "yesterday", getSig) }, v2GetTime, ErrNoDate},
		{"x-amz-date replaces Date", func() *http.Request {
			r := v2Request(http.MethodGet, getDate, getSig)
			r.Header.Set("X-Amz-Date", getDate)
			return r
		}, v2GetTime, ErrSignatureMismatch},
		{"other method", func() *http.Request { return v2Request(http.MethodDelete, getDate, getSig) }, v2GetTime, ErrSignatureMismatch},
		{"content type changed", func() *http.Request {
			r := v2Request(http.MethodPut, putDate, putSig)
			r.Header.Set("Content-Type", "text/html")
			return r
		}, v2PutTime, ErrSignatureMismatch},
		{"unsigned x-amz header added", func() *http.Request {
			r := v2Request(http.MethodGet, getDate, getSig)
			r.Header.Set("X-Amz-Meta-Evil", "1")
			return r
		}, v2GetTime, ErrSignatureMismatch},
		{"unknown key", func() *http.Request {
			return v2Request(http.MethodGet, getDate, "AWS AKIAOTHER:qgk2+6Sv9/oM7G3qLEjTH1a1l1g=")
		}, v2GetTime, ErrUnknownKey},
		{"no colon", func() *http.Request { return v2Request(http.MethodGet, getDate, "AWS "+sigv4test.KeyID) }, v2GetTime, ErrMalformedHeader},
		{"signature not base64", func() *http.Request { return v2Request(http.MethodGet, getDate, "AWS "+sigv4test.KeyID+":%%%") }, v2GetTime, ErrMalformedHeader},
		{"signature too short", func() *http.Request { return v2Request(http.MethodGet, getDate, "AWS "+sigv4test.KeyID+":qgk2") }, v2GetTime, ErrMalformedHeader},
		{"with presigned query too", func() *http.Request {
			r := v2Request(http.MethodGet, getDate, getSig)
			r.URL.RawQuery = "AWSAccessKeyId=x&Signature=y&Expires=1"
			return r
		}, v2GetTime, ErrAmbiguous},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := at(tc.now).Verify(tc.req(), s3)
			if !refused(err, tc.want) {
				t.Fatalf("Verify = %v, want %v", err, tc.want)
			}
			if err == nil && (got.AccessKeyID != sigv4test.KeyID || got.PayloadHash != UnsignedPayload || got.Streaming()) {
				t.Fatalf("Verify = %+v", got)
			}
		})
	}
}

func TestVerifyPolicyV2(t *testing.T) {
	t.Parallel()
	v := exampleVerifier()
	policy := "eyJleHBpcmF0aW9uIjoiMjA5OS0wMS0wMVQwMDowMDowMFoiLCJjb25kaXRpb25zIjpbXX0="
	good := hmacSHA1(sigv4test.Secret, policy)
	tests := []struct {
		name, key, policy, sig string
		want                   error
	}{
		{"valid", sigv4test.KeyID, policy, good, nil},
		{"other policy", sigv4test.KeyID, policy + "Cg==", good, ErrSignatureMismatch},
		{"wrong secret", sigv4test.KeyID, policy, hmacSHA1("other", policy), ErrSignatureMismatch},
		{"unknown key", "AKIAOTHER", policy, good, ErrUnknownKey},
		{"empty policy", sigv4test.KeyID, "", hmacSHA1(sigv4test.Secret, ""), ErrSignatureMismatch},
	}
	for _, tc := range tests {
		if err := v.VerifyPolicyV2(tc.key, tc.policy, tc.sig); !refused(err, tc.want) {
			t.Errorf("%s: VerifyPolicyV2 = %v, want %v", tc.name, err, tc.want)
		}
	}
}

// FuzzVerifyHeaderV2 feeds arbitrary SigV2 Authorization and Date headers
// and paths: the verifier refuses with a kind and a message, or accepts
// only what the key signed.
func FuzzVerifyHeaderV2(f *testing.F) {
	f.Add("/awsexamplebucket1/photos/puppy.jpg", "Tue, 27 Mar 2007 19:36:42 +0000", "AWS "+sigv4test.KeyID+":qgk2+6Sv9/oM7G3qLEjTH1a1l1g=")
	f.Add("/b/k", "", "AWS :")
	f.Add("/", "Tue, 27 Mar 2007 19:36:42 GMT", "AWS AKID:c2lnbmF0dXJlc2lnbmF0dXJlc2k=")
	v := New([]Credentials{{AccessKeyID: sigv4test.KeyID, SecretAccessKey: sigv4test.Secret}}, func() time.Time { return v2GetTime })
	f.Fuzz(func(t *testing.T, path, date, authz string) {
		if !strings.HasPrefix(path, "/") || strings.ContainsAny(path, " ?#\x00") {
			return
		}
		r, err := http.NewRequest(http.MethodGet, "http://127.0.0.1"+path, nil)
		if err != nil {
			return
		}
		r.Header.Set("Date", date)
		r.Header.Set("Authorization", "AWS "+strings.TrimPrefix(authz, "AWS "))
		got, err := v.Verify(r, s3)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Kind == nil || e.Message == "" {
				t.Fatalf("refusal %v is no *Error with a kind and a message", err)
			}
			return
		}
		want := hmacSHA1(sigv4test.Secret, v2StringToSign(r, r.URL.Query(), date))
		if got.AccessKeyID != sigv4test.KeyID || !strings.HasSuffix(authz, ":"+want) {
			t.Fatalf("accepted %q %q %q as %+v", path, date, authz, got)
		}
	})
}

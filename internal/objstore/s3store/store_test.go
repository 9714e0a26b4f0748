package s3store_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"github.com/imagerec/imagerec/internal/objstore"
	"github.com/imagerec/imagerec/internal/objstore/memstore"
	"github.com/imagerec/imagerec/internal/objstore/objstoretest"
	"github.com/imagerec/imagerec/internal/objstore/s3store"
	"github.com/imagerec/imagerec/internal/s3api"
)

func client(endpoint, id, secret, region string) *s3.Client {
	return s3.New(s3.Options{
		Region: region, BaseEndpoint: aws.String(endpoint), UsePathStyle: true, RetryMaxAttempts: 1,
		Credentials: aws.CredentialsProviderFunc(func(ctx context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: id, SecretAccessKey: secret}, nil
		}),
	})
}

// The conformance suite through the SDK against s3api over memstore: the
// endpoint must keep every objstore promise end to end.
func TestConformanceAgainstS3API(t *testing.T) {
	objstoretest.Run(t, func(t *testing.T) objstore.Store {
		srv := httptest.NewServer(s3api.New(memstore.New(), s3api.Options{
			Credentials: []s3api.Credentials{{AccessKeyID: "AKIATEST", SecretAccessKey: "secret"}},
		}))
		t.Cleanup(srv.Close)
		return s3store.New(client(srv.URL, "AKIATEST", "secret", "us-east-1"))
	})
}

// TestConformanceAgainstEndpoint runs the suite against IMAGEREC_S3_ENDPOINT
// (another S3-compatible server, e.g. MinIO). The suite creates and deletes
// buckets with fixed names (bkt, keys, zeta-bucket...): use a disposable
// endpoint, not AWS.
func TestConformanceAgainstEndpoint(t *testing.T) {
	ep := os.Getenv("IMAGEREC_S3_ENDPOINT")
	if ep == "" {
		t.Skip("IMAGEREC_S3_ENDPOINT not set")
	}
	region := os.Getenv("IMAGEREC_S3_REGION")
	if region == "" {
		region = "us-east-1"
	}
	c := client(ep, os.Getenv("IMAGEREC_S3_ACCESS_KEY_ID"), os.Getenv("IMAGEREC_S3_SECRET_ACCESS_KEY"), region)
	objstoretest.Run(t, func(t *testing.T) objstore.Store { return s3store.New(c) })
}

type fakeAPIError struct{ code string }

func (e fakeAPIError) Error() string                 { return e.code }
func (e fakeAPIError) ErrorCode() string             { return e.code }
func (e fakeAPIError) ErrorMessage() string          { return e.code }
func (e fakeAPIError) ErrorFault() smithy.ErrorFault { return smithy.FaultClient }

func TestTranslate(t *testing.T) {
	tests := []struct {
		code     string
		notFound error
		want     error
	}{
		{"NoSuchBucket", nil, objstore.ErrNoSuchBucket},
		{"NoSuchKey", nil, objstore.ErrNoSuchKey},
		{"NotFound", objstore.ErrNoSuchKey, objstore.ErrNoSuchKey},
		{"NotFound", objstore.ErrNoSuchBucket, objstore.ErrNoSuchBucket},
		{"BucketAlreadyOwnedByYou", nil, objstore.ErrBucketExists},
		{"BucketAlreadyExists", nil, objstore.ErrBucketExists},
		{"BucketNotEmpty", nil, objstore.ErrBucketNotEmpty},
		{"InvalidBucketName", nil, objstore.ErrInvalidBucketName},
		{"KeyTooLongError", nil, objstore.ErrInvalidKey},
		{"BadDigest", nil, objstore.ErrBadDigest},
		{"InvalidRange", nil, objstore.ErrInvalidRange},
		{"NoSuchUpload", nil, objstore.ErrNoSuchUpload},
		{"InvalidPart", nil, objstore.ErrInvalidPart},
		{"InvalidPartOrder", nil, objstore.ErrInvalidPartOrder},
		{"EntityTooSmall", nil, objstore.ErrEntityTooSmall},
	}
	for _, tc := range tests {
		t.Run(tc.code, func(t *testing.T) {
			t.Parallel()
			orig := fakeAPIError{tc.code}
			err := s3store.Translate(fmt.Errorf("op: %w", orig), tc.notFound)
			if !errors.Is(err, tc.want) {
				t.Errorf("translate(%s) = %v, want %v", tc.code, err, tc.want)
			}
			var ae smithy.APIError
			if !errors.As(err, &ae) || ae.ErrorCode() != tc.code {
				t.Errorf("translate(%s) lost the SDK error: %v", tc.code, err)
			}
		})
	}
	if err := s3store.Translate(fakeAPIError{"SlowDown"}, nil); strings.Contains(fmt.Sprint(errors.Unwrap(err)), "no such") {
		t.Errorf("unknown code mapped: %v", err)
	}
}

// TestUploadWithoutRead: Upload stores an object with PutObject alone, so
// a writer that may not read (a write-only IAM role) can store; PutObject,
// which reads the object's info back, cannot there.
func TestUploadWithoutRead(t *testing.T) {
	t.Parallel()
	backing := memstore.New()
	if err := backing.CreateBucket(t.Context(), "results"); err != nil {
		t.Fatal(err)
	}
	api := s3api.New(backing, s3api.Options{Credentials: []s3api.Credentials{{AccessKeyID: "AKIATEST", SecretAccessKey: "secret"}}})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodHead || r.Method == http.MethodGet {
			http.Error(w, "", http.StatusForbidden) // s3:GetObject not granted
			return
		}
		api.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	s := s3store.New(client(srv.URL, "AKIATEST", "secret", "us-east-1"))
	if err := s.Upload(t.Context(), "results", "a.jpg.json", strings.NewReader(`{"Labels":[]}`), objstore.PutOptions{ContentType: "application/json"}); err != nil {
		t.Fatal(err)
	}
	info, err := backing.HeadObject(t.Context(), "results", "a.jpg.json")
	if err != nil || info.Size != int64(len(`{"Labels":[]}`)) || info.ContentType != "application/json" {
		t.Errorf("stored %+v, %v", info, err)
	}
	if _, err := s.PutObject(t.Context(), "results", "b.jpg.json", strings.NewReader("{}"), objstore.PutOptions{}); err == nil {
		t.Error("PutObject read the object back without s3:GetObject")
	}
	if err := s.Upload(t.Context(), "gone", "k", strings.NewReader("x"), objstore.PutOptions{}); !errors.Is(err, objstore.ErrNoSuchBucket) {
		t.Errorf("Upload to a missing bucket: %v, want ErrNoSuchBucket", err)
	}
}

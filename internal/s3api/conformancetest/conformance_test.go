package conformancetest

import (
	"net/http/httptest"
	"os"
	"testing"

	"github.com/imagerec/imagerec/internal/objstore/diskstore"
	"github.com/imagerec/imagerec/internal/s3api"
)

// TestImagerec runs the suite against imagerec's endpoint (s3api over
// diskstore); every case must pass.
func TestImagerec(t *testing.T) {
	store, err := diskstore.Open(t.TempDir(), diskstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s3api.New(store, s3api.Options{Credentials: []s3api.Credentials{{AccessKeyID: "AKIACONFORMANCE", SecretAccessKey: "conformance-secret"}}}))
	t.Cleanup(srv.Close)
	Run(t, Target{Endpoint: srv.URL, AccessKeyID: "AKIACONFORMANCE", SecretAccessKey: "conformance-secret"})
}

// TestEndpoint runs the suite against S3_CONFORMANCE_ENDPOINT, another S3
// server, to compare (failures there are that server's). Every case makes
// and deletes buckets of its own: use a disposable endpoint.
func TestEndpoint(t *testing.T) {
	ep := os.Getenv("S3_CONFORMANCE_ENDPOINT")
	if ep == "" {
		t.Skip("S3_CONFORMANCE_ENDPOINT not set")
	}
	Run(t, Target{Endpoint: ep, AccessKeyID: os.Getenv("S3_CONFORMANCE_ACCESS_KEY_ID"),
		SecretAccessKey: os.Getenv("S3_CONFORMANCE_SECRET_ACCESS_KEY"), Region: os.Getenv("S3_CONFORMANCE_REGION")})
}

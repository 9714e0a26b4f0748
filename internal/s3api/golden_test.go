package s3api_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/imagerec/imagerec/internal/goldentest"
	"github.com/imagerec/imagerec/internal/objstore/memstore"
	"github.com/imagerec/imagerec/internal/s3api"
	"github.com/imagerec/imagerec/internal/s3event"
)

// masks replace values that change from run to run.
var masks = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`<(LastModified|CreationDate|Initiated)>[^<]*</`), "<$1>TIME</"},
	{regexp.MustCompile(`<RequestId>[^<]*</`), "<RequestId>REQUEST-ID</"},
	{regexp.MustCompile(`<HostId>[^<]*</`), "<HostId>HOST-ID</"},
	{regexp.MustCompile(`<UploadId>[^<]*</`), "<UploadId>UPLOAD-ID</"},
	{regexp.MustCompile(`http://127\.0\.0\.1:\d+/`), "http://HOST/"},
}

type rawClient struct {
	t   *testing.T
	url string
}

// do sends a SigV4-signed request (signed by the SDK's signer) and returns
// the status and the masked body.
func (c rawClient) do(method, path string, body []byte, hdr map[string]string) (int, string) {
	c.t.Helper()
	req, err := http.NewRequest(method, c.url+path, bytes.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	sum := sha256.Sum256(body)
	payload := hex.EncodeToString(sum[:])
	req.Header.Set("X-Amz-Content-Sha256", payload)
	if err := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true }).SignHTTP(c.t.Context(), aws.Credentials{AccessKeyID: testKeyID, SecretAccessKey: testSecret}, req, payload, "s3", "us-east-1", time.Now()); err != nil {
		c.t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	s := string(b)
	for _, m := range masks {
		s = m.re.ReplaceAllString(s, m.with)
	}
	return resp.StatusCode, s
}

func checkGolden(t *testing.T, name string, status int, body string) {
	t.Helper()
	got := []byte(strings.ReplaceAll(body, "><", ">\n<") + "\n")
	got = append([]byte("HTTP "+http.StatusText(status)+"\n"), got...)
	goldentest.Compare(t, filepath.Join("testdata", "golden", name+".xml"), got)
}

// TestGoldenXML pins the XML documents clients parse.
func TestGoldenXML(t *testing.T) {
	srv := httptest.NewServer(s3api.New(memstore.New(), s3api.Options{
		Credentials: []s3api.Credentials{{AccessKeyID: testKeyID, SecretAccessKey: testSecret}},
		Rules:       s3event.Rules{{ID: "imagerec-upload", Bucket: "bkt", Suffix: ".jpg"}},
	}))
	t.Cleanup(srv.Close)
	c := rawClient{t: t, url: srv.URL}
	if status, body := c.do("PUT", "/bkt", nil, nil); status != 200 {
		t.Fatalf("create bucket: %d %s", status, body)
	}
	for _, k := range []string{"a b.jpg", "dir/x+y.jpg", "dir/sub/z.png", "ü.txt"} {
		if status, body := c.do("PUT", "/bkt/"+strings.ReplaceAll(url.PathEscape(k), "%2F", "/"), []byte("data of "+k), map[string]string{"Content-Type": "image/jpeg"}); status != 200 {
			t.Fatalf("put %q: %d %s", k, status, body)
		}
	}
	steps := []struct {
		name, method, path, body string
		hdr                      map[string]string
	}{
		{"list-buckets", "GET", "/", "", nil},
		{"list-objects-v2", "GET", "/bkt?list-type=2&delimiter=%2F&encoding-type=url", "", nil},
		{"list-objects-v2-page", "GET", "/bkt?list-type=2&max-keys=1&prefix=dir%2F&fetch-owner=true", "", nil},
		{"list-objects-v1", "GET", "/bkt?marker=a&max-keys=2", "", nil},
		{"location", "GET", "/bkt?location", "", nil},
		{"notification", "GET", "/bkt?notification", "", nil},
		{"copy-object", "PUT", "/bkt/copy.jpg", "", map[string]string{"X-Amz-Copy-Source": "/bkt/a%20b.jpg"}},
		{"delete-objects", "POST", "/bkt?delete", `<Delete><Object><Key>copy.jpg</Key></Object><Object><Key>missing</Key></Object></Delete>`, nil},
		{"error-no-such-key", "GET", "/bkt/missing", "", nil},
		{"error-no-such-bucket", "GET", "/nobucket?list-type=2", "", nil},
		{"error-bucket-not-empty", "DELETE", "/bkt", "", nil},
		{"error-malformed-xml", "POST", "/bkt?delete", `<Delete><Object>`, nil},
		{"error-invalid-range", "GET", "/bkt/%C3%BC.txt", "", map[string]string{"Range": "bytes=100-"}},
		{"create-multipart", "POST", "/bkt/big.jpg?uploads", "", nil},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			c.t = t
			status, body := c.do(s.method, s.path, []byte(s.body), s.hdr)
			checkGolden(t, s.name, status, body)
		})
	}
	t.Run("error-signature", func(t *testing.T) {
		req, _ := http.NewRequest("GET", srv.URL+"/bkt/a%20b.jpg", nil)
		req.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
		_ = v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true }).SignHTTP(t.Context(), aws.Credentials{AccessKeyID: testKeyID, SecretAccessKey: "wrong"}, req, "UNSIGNED-PAYLOAD", "s3", "us-east-1", time.Now())
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		s := string(b)
		for _, m := range masks {
			s = m.re.ReplaceAllString(s, m.with)
		}
		checkGolden(t, "error-signature", resp.StatusCode, s)
	})
}

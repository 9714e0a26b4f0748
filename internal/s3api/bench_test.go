package s3api_test

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/imagerec/imagerec/internal/objstore/diskstore"
	"github.com/imagerec/imagerec/internal/s3api"
)

// barePut is the baseline: a plain net/http handler that streams a PUT body
// to a temporary file, fsyncs it, renames it into place and fsyncs the
// directory — the same durability diskstore gives, with no S3 around it.
func barePut(dir string) http.Handler {
	var n atomic.Int64
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := strings.ReplaceAll(strings.TrimPrefix(r.URL.Path, "/"), "/", "_")
		tmp := filepath.Join(dir, fmt.Sprintf(".tmp-%d", n.Add(1)))
		f, err := os.Create(tmp)
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		_, err = io.Copy(f, r.Body)
		if err == nil {
			err = f.Sync()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			err = os.Rename(tmp, filepath.Join(dir, name))
		}
		if err == nil {
			var d *os.File
			if d, err = os.Open(dir); err == nil {
				err = d.Sync()
				d.Close()
			}
		}
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
}

// BenchmarkPut compares PUT throughput of s3api+diskstore driven by the
// AWS SDK (SigV4 with a signed SHA-256 payload, MD5 ETag, sidecar, fsync)
// with the bare handler driven by net/http, in the same run.
func BenchmarkPut(b *testing.B) {
	for _, size := range []int{1 << 20, 5 << 20} {
		body := make([]byte, size)
		if _, err := rand.Read(body); err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("s3api-sdk/%dMB", size>>20), func(b *testing.B) {
			store, err := diskstore.Open(b.TempDir(), diskstore.Options{})
			if err != nil {
				b.Fatal(err)
			}
			srv := httptest.NewServer(s3api.New(store, s3api.Options{Credentials: []s3api.Credentials{{AccessKeyID: testKeyID, SecretAccessKey: testSecret}}}))
			defer srv.Close()
			c := newClient(srv.URL, testKeyID, testSecret)
			if _, err := c.CreateBucket(b.Context(), &s3.CreateBucketInput{Bucket: aws.String("bench")}); err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(size))
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				if _, err := c.PutObject(b.Context(), &s3.PutObjectInput{Bucket: aws.String("bench"), Key: aws.String(fmt.Sprintf("obj-%d", i%8)), Body: bytes.NewReader(body)}); err != nil {
					b.Fatal(err)
				}
			}
		})
		// The same server path without the SDK's client-side work: presigned
		// PUT URLs (UNSIGNED-PAYLOAD) sent with net/http.
		b.Run(fmt.Sprintf("s3api-presigned/%dMB", size>>20), func(b *testing.B) {
			store, err := diskstore.Open(b.TempDir(), diskstore.Options{})
			if err != nil {
				b.Fatal(err)
			}
			srv := httptest.NewServer(s3api.New(store, s3api.Options{Credentials: []s3api.Credentials{{AccessKeyID: testKeyID, SecretAccessKey: testSecret}}}))
			defer srv.Close()
			c := newClient(srv.URL, testKeyID, testSecret)
			if _, err := c.CreateBucket(b.Context(), &s3.CreateBucketInput{Bucket: aws.String("bench")}); err != nil {
				b.Fatal(err)
			}
			pc := s3.NewPresignClient(c)
			var urls []string
			for i := range 8 {
				p, err := pc.PresignPutObject(b.Context(), &s3.PutObjectInput{Bucket: aws.String("bench"), Key: aws.String(fmt.Sprintf("obj-%d", i))})
				if err != nil {
					b.Fatal(err)
				}
				urls = append(urls, p.URL)
			}
			b.SetBytes(int64(size))
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				req, _ := http.NewRequestWithContext(b.Context(), http.MethodPut, urls[i%8], bytes.NewReader(body))
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					b.Fatalf("status %d", resp.StatusCode)
				}
			}
		})
		b.Run(fmt.Sprintf("bare-nethttp/%dMB", size>>20), func(b *testing.B) {
			srv := httptest.NewServer(barePut(b.TempDir()))
			defer srv.Close()
			b.SetBytes(int64(size))
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				req, _ := http.NewRequestWithContext(b.Context(), http.MethodPut, fmt.Sprintf("%s/bench/obj-%d", srv.URL, i%8), bytes.NewReader(body))
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					b.Fatalf("status %d", resp.StatusCode)
				}
			}
		})
	}
}

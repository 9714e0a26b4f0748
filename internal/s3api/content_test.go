package s3api_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// TestActiveContentNotRendered stores objects of several types and reads
// them back through presigned URLs (as the web page does) and the SDK:
// every GET and HEAD carries X-Content-Type-Options: nosniff, and active
// content (HTML, SVG, XML, JavaScript) is an attachment unless the signed
// request asks for another Content-Disposition.
func TestActiveContentNotRendered(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	e.mkbucket(t, upload)
	pc := s3.NewPresignClient(e.client)
	tests := []struct {
		contentType string
		attachment  bool
	}{
		{"text/html", true},
		{"text/html; charset=utf-8", true},
		{"TEXT/HTML", true},
		{"application/xhtml+xml", true},
		{"image/svg+xml", true},
		{"text/xml", true},
		{"application/xml", true},
		{"application/atom+xml", true},
		{"text/javascript", true},
		{"application/javascript", true},
		{"image/jpeg", false},
		{"image/png", false},
		{"application/json", false},
		{"text/plain", false},
		{"application/octet-stream", false},
	}
	for _, tt := range tests {
		t.Run(tt.contentType, func(t *testing.T) {
			key := "obj-" + strings.NewReplacer("/", "_", ";", "", " ", "", "=", "").Replace(tt.contentType)
			if _, err := e.client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(upload), Key: aws.String(key),
				Body: strings.NewReader("<script>alert(document.domain)</script>"), ContentType: aws.String(tt.contentType)}); err != nil {
				t.Fatal(err)
			}
			check := func(name, method, u, wantDisposition string) {
				t.Helper()
				req, err := http.NewRequestWithContext(ctx, method, u, nil)
				if err != nil {
					t.Fatal(err)
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					t.Fatalf("%s: status %d", name, resp.StatusCode)
				}
				if got := resp.Header.Get("X-Content-Type-Options"); got != "nosniff" {
					t.Errorf("%s: X-Content-Type-Options = %q, want nosniff", name, got)
				}
				if got := resp.Header.Get("Content-Disposition"); got != wantDisposition {
					t.Errorf("%s: Content-Disposition = %q, want %q", name, got, wantDisposition)
				}
			}
			want := ""
			if tt.attachment {
				want = "attachment"
			}
			get, err := pc.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(upload), Key: aws.String(key)}, s3.WithPresignExpires(time.Minute))
			if err != nil {
				t.Fatal(err)
			}
			check("presigned GET", http.MethodGet, get.URL, want)
			head, err := pc.PresignHeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(upload), Key: aws.String(key)}, s3.WithPresignExpires(time.Minute))
			if err != nil {
				t.Fatal(err)
			}
			check("presigned HEAD", http.MethodHead, head.URL, want)
			// A signed response-content-disposition is the caller's choice.
			inline, err := pc.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(upload), Key: aws.String(key),
				ResponseContentDisposition: aws.String(`inline; filename="x"`)}, s3.WithPresignExpires(time.Minute))
			if err != nil {
				t.Fatal(err)
			}
			check("presigned GET with response-content-disposition", http.MethodGet, inline.URL, `inline; filename="x"`)
			// The SDK sees the same.
			out, err := e.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(upload), Key: aws.String(key)})
			if err != nil {
				t.Fatal(err)
			}
			out.Body.Close()
			if got := aws.ToString(out.ContentDisposition); got != want {
				t.Errorf("SDK GetObject ContentDisposition = %q, want %q", got, want)
			}
		})
	}
	// The override itself must be signed: appending it to a presigned URL
	// breaks the signature.
	get, err := pc.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(upload), Key: aws.String("obj-text_html")}, s3.WithPresignExpires(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(get.URL + "&response-content-disposition=inline")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("unsigned response-content-disposition added to a presigned URL: status %d, want 403", resp.StatusCode)
	}
}

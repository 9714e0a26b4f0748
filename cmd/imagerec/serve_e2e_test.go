package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/imagerec/imagerec/internal/citest"
	"github.com/imagerec/imagerec/internal/notify"
	"github.com/imagerec/imagerec/internal/notify/webhook"
)

// multipartUpload uploads data in parts with the SDK's multipart calls.
func multipartUpload(ctx context.Context, t *testing.T, c *s3.Client, key string, data []byte, partSize int) {
	t.Helper()
	mu, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(testUpload), Key: aws.String(key)})
	if err != nil {
		t.Fatal(err)
	}
	var parts []s3types.CompletedPart
	for n, off := int32(1), 0; off < len(data); n, off = n+1, off+partSize {
		end := min(off+partSize, len(data))
		p, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String(testUpload), Key: aws.String(key), UploadId: mu.UploadId,
			PartNumber: aws.Int32(n), Body: bytes.NewReader(data[off:end])})
		if err != nil {
			t.Fatal(err)
		}
		parts = append(parts, s3types.CompletedPart{ETag: p.ETag, PartNumber: aws.Int32(n)})
	}
	if _, err := c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String(testUpload), Key: aws.String(key), UploadId: mu.UploadId,
		MultipartUpload: &s3types.CompletedMultipartUpload{Parts: parts}}); err != nil {
		t.Fatal(err)
	}
}

func errorDoc(t *testing.T, body []byte) (code, msg string) {
	t.Helper()
	var d struct {
		Source    struct{ Bucket, Key string }
		Error     string
		Message   string
		Execution string
	}
	if err := json.Unmarshal(body, &d); err != nil {
		t.Fatalf("error document is not JSON: %v: %s", err, body)
	}
	if d.Source.Bucket != testUpload || d.Source.Key == "" || d.Execution == "" || d.Message == "" {
		t.Errorf("error document incomplete: %s", body)
	}
	return d.Error, d.Message
}

// TestServeEndToEnd uploads real photos and bad files with odd keys through
// the SDK and checks that each ends with exactly the right document.
func TestServeEndToEnd(t *testing.T) {
	needModels(t)
	s := startServer(t, t.TempDir())
	c := s.client()
	ctx := t.Context()
	dog := photo(t, "dog.jpg")

	good := []string{"dog.jpg", "with space/dog 1.jpg", "plus+sign.jpg", "ünïcödé/狗.jpg", "percent%20literal.jpg"}
	for _, k := range good {
		putObject(ctx, t, c, k, dog)
	}
	type badFile struct{ data, code string }
	bad := map[string]badFile{
		"empty.jpg":     {"", "InvalidImageFormatException"},
		"truncated.jpg": {string(dog[:len(dog)/3]), "InvalidImageFormatException"},
		"notes.txt":     {"just some text, not an image\n", "InvalidImageFormatException"},
		"doc.jpg":       {"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "InvalidImageFormatException"},
		"fake.png":      {"\x89PNG\r\n\x1a\n" + strings.Repeat("garbage", 50), "InvalidImageFormatException"},
		"huge.jpg":      {string(dog[:2]) + strings.Repeat("\x00", 16<<20), "ImageTooLargeException"},
	}
	for k, v := range bad {
		putObject(ctx, t, c, k, []byte(v.data))
	}
	for _, k := range good {
		name, body := waitDocument(ctx, t, c, k, 3*time.Minute)
		if name != k+".json" {
			t.Errorf("%q: got %s: %s", k, name, body)
			continue
		}
		var doc map[string]json.RawMessage
		if err := json.Unmarshal(body, &doc); err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{"Labels", "LabelModelVersion", "ImageProperties", "FaceDetails", "TextDetections", "ModerationLabels", "Source", "Image", "Engine", "Timings"} {
			if _, ok := doc[f]; !ok {
				t.Errorf("%q: result lacks %s", k, f)
			}
		}
		var src struct{ Bucket, Key, ETag string }
		_ = json.Unmarshal(doc["Source"], &src)
		if src.Key != k || src.Bucket != testUpload || src.ETag == "" {
			t.Errorf("%q: Source = %+v", k, src)
		}
		if !bytes.Contains(doc["Labels"], []byte(`"Dog"`)) {
			t.Errorf("%q: no Dog label in %s", k, doc["Labels"])
		}
	}
	for k, want := range bad {
		name, body := waitDocument(ctx, t, c, k, time.Minute)
		if name != k+".error.json" {
			t.Errorf("%q: got %s, want an error document", k, name)
			continue
		}
		if code, msg := errorDoc(t, body); code != want.code {
			t.Errorf("%q: Error = %s (%s), want %s", k, code, msg, want.code)
		}
	}
	// Exactly one document per object: no result bucket key has both.
	out, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(testResult)})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, o := range out.Contents {
		k := strings.TrimSuffix(strings.TrimSuffix(*o.Key, ".json"), ".error")
		seen[k]++
	}
	for k, n := range seen {
		if n != 1 {
			t.Errorf("%q has %d documents", k, n)
		}
	}
	if len(seen) != len(good)+len(bad) {
		t.Errorf("%d documents for %d uploads: %v", len(seen), len(good)+len(bad), seen)
	}
}

// TestServeMultipartAndDuplicates uploads a >8 MB image with the SDK's
// multipart uploader and the same object twice (a duplicate event).
func TestServeMultipartAndDuplicates(t *testing.T) {
	needModels(t)
	data := t.TempDir()
	s := startServer(t, data, "--max-bytes", "64000000")
	c := s.client()
	ctx := t.Context()
	big := bigJPEG(t)
	multipartUpload(ctx, t, c, "big.jpg", big, 5<<20)
	name, body := waitDocument(ctx, t, c, "big.jpg", 3*time.Minute)
	if name != "big.jpg.json" {
		t.Fatalf("big.jpg: %s: %s", name, body)
	}
	dog := photo(t, "dog.jpg")
	putObject(ctx, t, c, "twice.jpg", dog)
	putObject(ctx, t, c, "twice.jpg", dog) // same bytes, same ETag: a duplicate
	waitDocument(ctx, t, c, "twice.jpg", 3*time.Minute)
	time.Sleep(2 * time.Second)
	out, err := exec.Command(binary(t), "executions", "list", "--data", data).CombinedOutput()
	if err != nil {
		t.Fatalf("executions list: %v\n%s", err, out)
	}
	if n := strings.Count(string(out), "twice"); n != 1 {
		t.Errorf("twice.jpg has %d executions, want 1:\n%s", n, out)
	}
}

// bigJPEG makes a >8 MB JPEG by appending a large COM-less tail: a real
// photo padded with an APP15 segments is still a valid image.
func bigJPEG(t *testing.T) []byte {
	t.Helper()
	dog := photo(t, "dog.jpg")
	var b bytes.Buffer
	b.Write(dog[:2]) // SOI
	r := rand.New(rand.NewPCG(1, 2))
	chunk := make([]byte, 65000)
	for b.Len() < 9<<20 {
		for i := range chunk {
			chunk[i] = byte(r.IntN(256))
		}
		b.Write([]byte{0xFF, 0xEF, byte((len(chunk) + 2) >> 8), byte((len(chunk) + 2) & 0xff)})
		b.Write(chunk)
	}
	b.Write(dog[2:])
	return b.Bytes()
}

// TestServeAWSCLI runs the seed's commands with Debian's aws CLI.
func TestServeAWSCLI(t *testing.T) {
	needModels(t)
	if _, err := exec.LookPath("aws"); err != nil {
		citest.Skip(t, "aws CLI missing (apt-get install awscli)")
	}
	s := startServer(t, t.TempDir())
	dir := t.TempDir()
	file := filepath.Join(dir, "my photo+1.jpg")
	if err := os.WriteFile(file, photo(t, "dog.jpg"), 0o644); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big.jpg")
	if err := os.WriteFile(big, bigJPEG(t), 0o644); err != nil {
		t.Fatal(err)
	}
	aws := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("aws", append([]string{"--endpoint-url", s.endpoint}, args...)...)
		cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID=imagerec", "AWS_SECRET_ACCESS_KEY=imagerec-local-secret",
			"AWS_DEFAULT_REGION=us-east-1", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_PAGER=")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	aws("s3", "mb", "s3://extra-bucket")
	if out := aws("s3", "ls"); !strings.Contains(out, "image-upload-bucket") || !strings.Contains(out, "extra-bucket") {
		t.Errorf("s3 ls: %s", out)
	}
	aws("s3", "cp", file, "s3://image-upload-bucket/")
	aws("s3", "cp", big, "s3://image-upload-bucket/") // > 8 MB: multipart
	waitDocument(t.Context(), t, s.client(), "my photo+1.jpg", 3*time.Minute)
	waitDocument(t.Context(), t, s.client(), "big.jpg", 3*time.Minute)
	ls := aws("s3", "ls", "s3://image-result-bucket/")
	for _, want := range []string{"my photo+1.jpg.json", "big.jpg."} {
		if !strings.Contains(ls, want) {
			t.Errorf("s3 ls result bucket lacks %q:\n%s", want, ls)
		}
	}
	doc := aws("s3", "cp", "s3://image-result-bucket/my photo+1.jpg.json", "-")
	if !strings.Contains(doc, `"Labels"`) || !strings.Contains(doc, `"Key": "my photo+1.jpg"`) {
		t.Errorf("document: %.500s", doc)
	}
}

// TestServeCrashRecovery kills the server with SIGKILL while uploads are in
// flight, five times, and checks that after a final restart every upload
// that got a 200 has its document.
func TestServeCrashRecovery(t *testing.T) {
	needModels(t)
	if testing.Short() {
		t.Skip("slow")
	}
	data := t.TempDir()
	dog := photo(t, "dog.jpg")
	var mu sync.Mutex
	accepted := []string{}
	for round := range 5 {
		s := startServer(t, data)
		c := s.client()
		ctx, cancel := context.WithCancel(t.Context())
		var wg sync.WaitGroup
		for w := range 3 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; ctx.Err() == nil; i++ {
					key := fmt.Sprintf("crash/r%d-w%d-%d.jpg", round, w, i)
					_, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(testUpload), Key: aws.String(key), Body: bytes.NewReader(dog)})
					if err == nil {
						mu.Lock()
						accepted = append(accepted, key)
						mu.Unlock()
					}
				}
			}()
		}
		time.Sleep(time.Duration(700+300*round) * time.Millisecond)
		s.kill() // uploads and executions in flight
		cancel()
		wg.Wait()
	}
	s := startServer(t, data)
	c := s.client()
	if len(accepted) == 0 {
		t.Fatal("no upload was accepted")
	}
	t.Logf("%d uploads accepted across 5 crashes", len(accepted))
	for _, k := range accepted {
		name, body := waitDocument(t.Context(), t, c, k, 5*time.Minute)
		if name != k+".json" {
			t.Errorf("%s: %s: %.300s", k, name, body)
		}
	}
}

// TestServeWebhookAndMetrics: a finished image is POSTed, signed, to the
// configured webhook (a real HTTP server), and counted in the metrics.
func TestServeWebhookAndMetrics(t *testing.T) {
	needModels(t)
	got := make(chan notifyCall, 4)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		ts, _ := strconv.ParseInt(r.Header.Get(webhook.HeaderTimestamp), 10, 64)
		got <- notifyCall{body: body, signed: webhook.Verify("hook-secret", ts, body, r.Header.Get(webhook.HeaderSignature))}
	}))
	t.Cleanup(hook.Close)
	t.Setenv("IMAGEREC_WEBHOOK_SECRET", "hook-secret")
	s := startServer(t, t.TempDir(), "--webhook", hook.URL)
	ctx := t.Context()
	putObject(ctx, t, s.client(), "hooked.jpg", photo(t, "dog.jpg"))
	putObject(ctx, t, s.client(), "hooked.txt", []byte("not an image"))
	seen := map[string]notify.Message{}
	for len(seen) < 2 {
		select {
		case c := <-got:
			if !c.signed {
				t.Errorf("unsigned or badly signed webhook: %s", c.body)
			}
			var m notify.Message
			if err := json.Unmarshal(c.body, &m); err != nil {
				t.Fatal(err)
			}
			seen[m.Key] = m
		case <-time.After(2 * time.Minute):
			t.Fatalf("webhooks received: %v", seen)
		}
	}
	if m := seen["hooked.jpg"]; m.Status != "SUCCEEDED" || m.Document.Key != "hooked.jpg.json" {
		t.Errorf("success message = %+v", m)
	}
	if m := seen["hooked.txt"]; m.Status != "FAILED" || m.Error != "InvalidImageFormatException" || m.Document.Key != "hooked.txt.error.json" {
		t.Errorf("failure message = %+v", m)
	}
	// The webhook goes out just before the execution ends: poll the metrics.
	want := []string{`imagerec_documents_total{error="",kind="result"} 1`, `imagerec_documents_total{error="InvalidImageFormatException",kind="error"} 1`}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(s.endpoint + "/_imagerec/metrics")
		if err != nil {
			t.Fatal(err)
		}
		text, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		missing := ""
		for _, w := range want {
			if !strings.Contains(string(text), w) {
				missing = w
			}
		}
		if missing == "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("metrics lack %s", missing)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

type notifyCall struct {
	body   []byte
	signed bool
}

// TestServeOneProcessPerDataDir: a second serve on the same --data is
// refused with a message naming the first one's process; once the first
// is gone (even killed), the directory can be used again.
func TestServeOneProcessPerDataDir(t *testing.T) {
	needModels(t)
	data := t.TempDir()
	first := startServer(t, data, "--features", "labels")
	out, err := exec.Command(binary(t), "serve", "--listen", "127.0.0.1:0", "--data", data).CombinedOutput()
	if err == nil {
		t.Fatalf("second serve on the same data directory started:\n%s", out)
	}
	want := fmt.Sprintf("process %d", first.cmd.Process.Pid)
	if !strings.Contains(string(out), "is in use") || !strings.Contains(string(out), want) {
		t.Errorf("message does not say the directory is in use by %s:\n%s", want, out)
	}
	first.kill()
	startServer(t, data, "--features", "labels")
}

// TestServeLongKeys: every 200 gets exactly one document. A key whose
// <key>.error.json would pass S3's 1024-byte limit is refused at PUT with
// KeyTooLongError; the longest accepted key gets its document.
func TestServeLongKeys(t *testing.T) {
	needModels(t)
	s := startServer(t, t.TempDir(), "--features", "labels")
	c := s.client()
	ctx := t.Context()
	dog := photo(t, "dog.jpg")
	longest := strings.Repeat("k", 1013-len(".jpg")) + ".jpg"
	putObject(ctx, t, c, longest, dog)
	for _, n := range []int{1014, 1020, 1024} {
		key := strings.Repeat("k", n-len(".jpg")) + ".jpg"
		_, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(testUpload), Key: aws.String(key), Body: bytes.NewReader(dog)})
		var ae smithy.APIError
		if !errors.As(err, &ae) || ae.ErrorCode() != "KeyTooLongError" || !strings.Contains(ae.ErrorMessage(), "at most 1013 bytes") {
			t.Errorf("%d-byte key: %v, want KeyTooLongError naming the 1013-byte limit", n, err)
		}
		if _, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(testUpload), Key: aws.String(key)}); err == nil {
			t.Errorf("%d-byte key was stored", n)
		}
	}
	// Outside the notification filter, S3's own limit applies.
	other := "other-bucket"
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(other)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(other), Key: aws.String(strings.Repeat("k", 1024)), Body: bytes.NewReader(dog)}); err != nil {
		t.Errorf("1024-byte key in a bucket that is not recognised: %v", err)
	}
	if name, body := waitDocument(ctx, t, c, longest, 2*time.Minute); name != longest+".json" {
		t.Errorf("longest key: %s: %.300s", name, body)
	}
}

// TestServeNotifiesOncePerStop: notifications carry a stable delivery id
// (header and envelope). A clean stop (SIGTERM) while the webhook is being
// delivered finishes the execution, so the restart sends nothing again; a
// SIGKILL at the same point re-runs it after the restart, and the second
// delivery has the same id (at least once, de-duplicable).
func TestServeNotifiesOncePerStop(t *testing.T) {
	needModels(t)
	type call struct{ key, header, envelope string }
	calls := make(chan call, 16)
	hold := make(chan struct{})
	var once sync.Once
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var m notify.Message
		_ = json.Unmarshal(body, &m)
		calls <- call{m.Key, r.Header.Get(webhook.HeaderDeliveryID), m.DeliveryID}
		select { // the receiver is slow: the server stops meanwhile
		case <-hold:
		case <-time.After(3 * time.Second):
		}
	}))
	t.Cleanup(func() { once.Do(func() { close(hold) }); hook.Close() })
	for _, stop := range []string{"SIGTERM", "SIGKILL"} {
		t.Run(stop, func(t *testing.T) {
			data := t.TempDir()
			s := startServer(t, data, "--features", "labels", "--webhook", hook.URL)
			putObject(t.Context(), t, s.client(), "once.jpg", photo(t, "dog.jpg"))
			var first call
			select {
			case first = <-calls:
			case <-time.After(2 * time.Minute):
				t.Fatal("no webhook call")
			}
			if first.header == "" || first.header != first.envelope {
				t.Errorf("delivery id: header %q, envelope %q", first.header, first.envelope)
			}
			if stop == "SIGKILL" {
				s.kill()
			} else {
				s.stop()
			}
			startServer(t, data, "--features", "labels", "--webhook", hook.URL)
			want := 0
			if stop == "SIGKILL" {
				want = 1 // the execution was RUNNING: re-run, notified again
			}
			got := 0
			deadline := time.After(8 * time.Second)
		wait:
			for {
				select {
				case c := <-calls:
					got++
					if c.key != first.key || c.header != first.header || c.envelope != first.envelope {
						t.Errorf("re-delivery %+v differs from the first %+v", c, first)
					}
				case <-deadline:
					break wait
				}
			}
			if got != want {
				t.Errorf("after %s and a restart: %d more notifications, want %d", stop, got, want)
			}
		})
	}
}

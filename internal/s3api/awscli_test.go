package s3api_test

import (
	"bytes"
	"crypto/rand"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/imagerec/imagerec/internal/citest"
	"github.com/imagerec/imagerec/internal/objstore/diskstore"
	"github.com/imagerec/imagerec/internal/s3api"
	"github.com/imagerec/imagerec/internal/s3event"
)

// awsCLI finds the aws CLI: $IMAGEREC_TEST_AWS_CLI, Debian's /usr/bin/aws
// or any aws on PATH. It skips the test when there is none, unless CI is
// set.
func awsCLI(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("IMAGEREC_TEST_AWS_CLI"); p != "" {
		return p
	}
	if _, err := os.Stat("/usr/bin/aws"); err == nil {
		return "/usr/bin/aws"
	}
	if p, err := exec.LookPath("aws"); err == nil {
		return p
	}
	citest.Skip(t, "aws CLI not found (apt-get install -y awscli)")
	return ""
}

// payloadModes records the x-amz-content-sha256 values clients sent.
type payloadModes struct {
	mu    sync.Mutex
	modes map[string]int
}

func (p *payloadModes) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m := r.Header.Get("X-Amz-Content-Sha256")
		if len(m) == 64 {
			m = "sha256"
		}
		if te := r.Header.Get("X-Amz-Trailer"); te != "" {
			m += " trailer=" + te
		}
		p.mu.Lock()
		p.modes[r.Method+" "+m]++
		p.mu.Unlock()
		h.ServeHTTP(w, r)
	})
}

func TestAWSCLI(t *testing.T) {
	aws := awsCLI(t)
	store, err := diskstore.Open(t.TempDir(), diskstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	modes := &payloadModes{modes: map[string]int{}}
	srv := httptest.NewServer(modes.wrap(s3api.New(store, s3api.Options{
		Credentials: []s3api.Credentials{{AccessKeyID: testKeyID, SecretAccessKey: testSecret}},
		Rules:       s3event.Rules{{ID: "imagerec-upload", Bucket: upload}},
		Notify:      rec.notify,
	})))
	t.Cleanup(srv.Close)

	dir := t.TempDir()
	cfg := filepath.Join(dir, "config")
	if err := os.WriteFile(cfg, []byte("[default]\nregion = us-east-1\ns3 =\n    addressing_style = path\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	run := func(stdin io.Reader, args ...string) string {
		t.Helper()
		cmd := exec.CommandContext(t.Context(), aws, append([]string{"--endpoint-url", srv.URL}, args...)...)
		cmd.Env = []string{
			"HOME=" + dir, "PATH=" + filepath.Dir(aws) + ":/usr/bin:/bin",
			"AWS_ACCESS_KEY_ID=" + testKeyID, "AWS_SECRET_ACCESS_KEY=" + testSecret,
			"AWS_CONFIG_FILE=" + cfg, "AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(dir, "none"),
			"AWS_EC2_METADATA_DISABLED=true", "AWS_PAGER=",
		}
		cmd.Stdin = stdin
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		start := time.Now()
		out, err := cmd.Output()
		t.Logf("aws %s: %v", strings.Join(args, " "), time.Since(start).Round(time.Millisecond))
		if err != nil {
			t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
		}
		return string(out)
	}

	run(nil, "s3", "mb", "s3://"+upload)
	small := []byte("a small photo")
	big := make([]byte, 20<<20+12345) // multipart: the CLI switches above 8 MB
	if _, err := rand.Read(big); err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{"small.jpg": small, "big.bin": big, "empty.jpg": nil} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	keys := map[string][]byte{
		"small.jpg":               small,
		"holiday photos/ü +1.jpg": small,
		"big.bin":                 big,
		"empty.jpg":               nil,
	}
	run(nil, "s3", "cp", filepath.Join(dir, "small.jpg"), "s3://"+upload+"/small.jpg")
	run(nil, "s3", "cp", filepath.Join(dir, "small.jpg"), "s3://"+upload+"/holiday photos/ü +1.jpg")
	run(nil, "s3", "cp", filepath.Join(dir, "big.bin"), "s3://"+upload+"/big.bin")
	run(nil, "s3", "cp", filepath.Join(dir, "empty.jpg"), "s3://"+upload+"/empty.jpg")

	// A server-side copy of the big object: the CLI uses UploadPartCopy.
	run(nil, "s3", "cp", "s3://"+upload+"/big.bin", "s3://"+upload+"/copy of big.bin")
	keys["copy of big.bin"] = big

	ls := run(nil, "s3", "ls", "--recursive", "s3://"+upload+"/")
	for k := range keys {
		if !strings.Contains(ls, k) {
			t.Errorf("s3 ls does not show %q:\n%s", k, ls)
		}
	}
	top := run(nil, "s3", "ls", "s3://"+upload+"/")
	if !strings.Contains(top, "PRE holiday photos/") || !strings.Contains(top, " small.jpg") || strings.Contains(top, "ü +1.jpg") {
		t.Errorf("s3 ls (delimited):\n%s", top)
	}
	for k, want := range keys {
		got := run(nil, "s3", "cp", "s3://"+upload+"/"+k, "-")
		if !bytes.Equal([]byte(got), want) {
			t.Errorf("s3 cp %q -: %d bytes, want %d", k, len(got), len(want))
		}
	}
	head := run(nil, "s3api", "head-object", "--bucket", upload, "--key", "big.bin")
	if !strings.Contains(head, `-3\"`) || !strings.Contains(head, "20983865") {
		t.Errorf("head-object of the multipart upload: %s", head)
	}

	// Events: one per upload, the big one by CompleteMultipartUpload.
	var names []string
	for _, r := range rec.records() {
		k, _ := r.DecodedKey()
		names = append(names, r.EventName+" "+k)
	}
	slices.Sort(names)
	want := []string{
		"ObjectCreated:CompleteMultipartUpload big.bin",
		"ObjectCreated:CompleteMultipartUpload copy of big.bin",
		"ObjectCreated:Put empty.jpg",
		"ObjectCreated:Put holiday photos/ü +1.jpg",
		"ObjectCreated:Put small.jpg",
	}
	if !slices.Equal(names, want) {
		t.Errorf("events:\n%s\nwant:\n%s", strings.Join(names, "\n"), strings.Join(want, "\n"))
	}

	// Presigned URL from the CLI.
	u := strings.TrimSpace(run(nil, "s3", "presign", "s3://"+upload+"/small.jpg", "--expires-in", "300"))
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Equal(b, small) {
		t.Errorf("GET presigned %s = %d %q", u, resp.StatusCode, b)
	}

	// mv (CopyObject + DeleteObject) and sync (listing, GETs) of a prefix.
	run(nil, "s3", "mv", "s3://"+upload+"/small.jpg", "s3://"+upload+"/moved/small.jpg")
	if recs := rec.records(); recs[len(recs)-1].EventName != "ObjectCreated:Copy" || recs[len(recs)-1].S3.Object.Key != "moved/small.jpg" {
		t.Errorf("after mv, last event = %+v", recs[len(recs)-1])
	}
	down := filepath.Join(dir, "down")
	run(nil, "s3", "sync", "s3://"+upload+"/", down, "--exclude", "*big*")
	for _, k := range []string{"moved/small.jpg", "holiday photos/ü +1.jpg", "empty.jpg"} {
		b, err := os.ReadFile(filepath.Join(down, k))
		if err != nil || !bytes.Equal(b, keys[strings.TrimPrefix(k, "moved/")]) {
			t.Errorf("synced %q: %q, %v", k, b, err)
		}
	}
	if _, err := os.Stat(filepath.Join(down, "small.jpg")); err == nil {
		t.Error("mv left the source object")
	}

	run(nil, "s3", "rm", "--recursive", "s3://"+upload+"/")
	run(nil, "s3", "rb", "s3://"+upload)
	if out := run(nil, "s3", "ls"); strings.Contains(out, upload) {
		t.Errorf("bucket still listed after rb: %s", out)
	}
	t.Logf("payload modes seen: %v", modes.modes)
}

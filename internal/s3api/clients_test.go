package s3api_test

import (
	"bytes"
	"crypto/rand"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/imagerec/imagerec/internal/citest"
	"github.com/imagerec/imagerec/internal/objstore/diskstore"
	"github.com/imagerec/imagerec/internal/s3api"
	"github.com/imagerec/imagerec/internal/s3event"
)

// clientTool finds a Debian client (scripts/test.sh installs them); it
// skips without one unless CI is set.
func clientTool(t *testing.T, name string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	citest.Skipf(t, "%s not found (apt-get install -y %s)", name, name)
	return ""
}

type clientEnv struct {
	srv  *httptest.Server
	dir  string
	rec  *recorder
	big  []byte
	host string
}

func newClientEnv(t *testing.T) *clientEnv {
	t.Helper()
	store, err := diskstore.Open(t.TempDir(), diskstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	srv := httptest.NewServer(s3api.New(store, s3api.Options{
		Credentials: []s3api.Credentials{{AccessKeyID: testKeyID, SecretAccessKey: testSecret}},
		Rules:       s3event.Rules{{ID: "imagerec-upload", Bucket: "clients", Prefix: "photos/"}},
		Notify:      rec.notify,
	}))
	t.Cleanup(srv.Close)
	ce := &clientEnv{srv: srv, dir: t.TempDir(), rec: rec, big: make([]byte, 12<<20+777), host: strings.TrimPrefix(srv.URL, "http://")}
	if _, err := rand.Read(ce.big); err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{"small.jpg": []byte("a small photo"), "big.bin": ce.big} {
		if err := os.WriteFile(filepath.Join(ce.dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return ce
}

func (ce *clientEnv) run(t *testing.T, env []string, name string, args ...string) string {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), name, args...)
	cmd.Env = append([]string{"HOME=" + ce.dir, "PATH=" + filepath.Dir(name) + ":/usr/bin:/bin"}, env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start := time.Now()
	out, err := cmd.Output()
	t.Logf("%s %s: %v", filepath.Base(name), strings.Join(args, " "), time.Since(start).Round(time.Millisecond))
	if err != nil {
		t.Fatalf("%s %s: %v\n%s\n%s", name, strings.Join(args, " "), err, out, stderr.String())
	}
	return string(out)
}

// TestS3cmd runs Debian's s3cmd against the endpoint with SigV4 and with
// --signature-v2: make bucket, put (single and multipart), list, get,
// server-side copy, delete, remove bucket.
func TestS3cmd(t *testing.T) {
	s3cmd := clientTool(t, "s3cmd")
	for _, v2 := range []bool{false, true} {
		name := map[bool]string{false: "sigv4", true: "sigv2"}[v2]
		t.Run(name, func(t *testing.T) {
			ce := newClientEnv(t)
			cfg := filepath.Join(ce.dir, "s3cfg")
			conf := "[default]\naccess_key = " + testKeyID + "\nsecret_key = " + testSecret + "\nhost_base = " + ce.host + "\nhost_bucket = " + ce.host +
				"\nuse_https = False\nbucket_location = us-east-1\nsignature_v2 = " + map[bool]string{false: "False", true: "True"}[v2] + "\n"
			if err := os.WriteFile(cfg, []byte(conf), 0o600); err != nil {
				t.Fatal(err)
			}
			s := func(args ...string) string {
				return ce.run(t, nil, s3cmd, append([]string{"-c", cfg, "--no-progress"}, args...)...)
			}
			s("mb", "s3://clients")
			s("put", filepath.Join(ce.dir, "small.jpg"), "s3://clients/photos/small one.jpg")
			s("put", "--multipart-chunk-size-mb=5", filepath.Join(ce.dir, "big.bin"), "s3://clients/photos/big.bin")
			ls := s("ls", "--recursive", "s3://clients")
			if !strings.Contains(ls, "photos/small one.jpg") || !strings.Contains(ls, "photos/big.bin") {
				t.Errorf("s3cmd ls:\n%s", ls)
			}
			s("get", "s3://clients/photos/big.bin", filepath.Join(ce.dir, "big.out"))
			if got, _ := os.ReadFile(filepath.Join(ce.dir, "big.out")); !bytes.Equal(got, ce.big) {
				t.Errorf("s3cmd get of the multipart object: %d bytes, want %d", len(got), len(ce.big))
			}
			s("cp", "s3://clients/photos/small one.jpg", "s3://clients/copy.jpg")
			s("get", "s3://clients/copy.jpg", filepath.Join(ce.dir, "copy.out"))
			if got, _ := os.ReadFile(filepath.Join(ce.dir, "copy.out")); string(got) != "a small photo" {
				t.Errorf("s3cmd cp then get: %q", got)
			}
			s("del", "--recursive", "--force", "s3://clients")
			s("rb", "s3://clients")
			if ls := s("ls"); strings.Contains(ls, "s3://clients") {
				t.Errorf("bucket still listed: %s", ls)
			}
			var events []string
			for _, r := range ce.rec.records() {
				k, _ := r.DecodedKey()
				events = append(events, r.EventName+" "+k)
			}
			if want := "ObjectCreated:Put photos/small one.jpg,ObjectCreated:CompleteMultipartUpload photos/big.bin"; strings.Join(events, ",") != want {
				t.Errorf("events %v, want %s", events, want)
			}
		})
	}
}

// TestRclone runs Debian's rclone against the endpoint: mkdir, copyto
// (single and multipart), lsf, cat, server-side copy, delete, rmdir.
func TestRclone(t *testing.T) {
	rclone := clientTool(t, "rclone")
	ce := newClientEnv(t)
	env := []string{
		"RCLONE_CONFIG=" + filepath.Join(ce.dir, "none.conf"),
		"RCLONE_CONFIG_IMG_TYPE=s3", "RCLONE_CONFIG_IMG_PROVIDER=Other", "RCLONE_CONFIG_IMG_ENDPOINT=" + ce.srv.URL,
		"RCLONE_CONFIG_IMG_ACCESS_KEY_ID=" + testKeyID, "RCLONE_CONFIG_IMG_SECRET_ACCESS_KEY=" + testSecret,
		"RCLONE_CONFIG_IMG_FORCE_PATH_STYLE=true", "RCLONE_CONFIG_IMG_REGION=us-east-1",
	}
	r := func(args ...string) string {
		return ce.run(t, env, rclone, append([]string{"--s3-upload-cutoff", "5M", "--s3-chunk-size", "5M", "--low-level-retries", "1", "--retries", "1"}, args...)...)
	}
	r("mkdir", "img:clients")
	r("copyto", filepath.Join(ce.dir, "small.jpg"), "img:clients/photos/small one.jpg")
	r("copyto", filepath.Join(ce.dir, "big.bin"), "img:clients/photos/big.bin")
	if ls := r("lsf", "-R", "img:clients"); !strings.Contains(ls, "photos/small one.jpg") || !strings.Contains(ls, "photos/big.bin") {
		t.Errorf("rclone lsf:\n%s", ls)
	}
	if got := r("cat", "img:clients/photos/big.bin"); got != string(ce.big) {
		t.Errorf("rclone cat of the multipart object: %d bytes, want %d", len(got), len(ce.big))
	}
	r("copyto", "img:clients/photos/small one.jpg", "img:clients/copy.jpg")
	if got := r("cat", "img:clients/copy.jpg"); got != "a small photo" {
		t.Errorf("rclone server-side copy: %q", got)
	}
	r("check", ce.dir, "img:clients/photos/", "--include", "big.bin")
	r("deletefile", "img:clients/copy.jpg")
	r("purge", "img:clients")
	if ls := r("lsd", "img:"); strings.Contains(ls, "clients") {
		t.Errorf("bucket still listed: %s", ls)
	}
	var events []string
	for _, rec := range ce.rec.records() {
		k, _ := rec.DecodedKey()
		events = append(events, rec.EventName+" "+k)
	}
	if want := "ObjectCreated:Put photos/small one.jpg,ObjectCreated:CompleteMultipartUpload photos/big.bin"; strings.Join(events, ",") != want {
		t.Errorf("events %v, want %s", events, want)
	}
}

// TestAWSCLICompat drives the issue-14 behaviours with the aws CLI's s3api
// commands, where the CLI has the flag (Debian's 2.9.19 predates
// --if-none-match; it is used when the CLI offers it).
func TestAWSCLICompat(t *testing.T) {
	aws := awsCLI(t)
	ce := newClientEnv(t)
	cfg := filepath.Join(ce.dir, "config")
	if err := os.WriteFile(cfg, []byte("[default]\nregion = us-east-1\ns3 =\n    addressing_style = path\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{"AWS_ACCESS_KEY_ID=" + testKeyID, "AWS_SECRET_ACCESS_KEY=" + testSecret, "AWS_CONFIG_FILE=" + cfg,
		"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(ce.dir, "none"), "AWS_EC2_METADATA_DISABLED=true", "AWS_PAGER="}
	a := func(args ...string) string {
		return ce.run(t, env, aws, append([]string{"--endpoint-url", ce.srv.URL}, args...)...)
	}
	a("s3api", "create-bucket", "--bucket", "clients")
	small := filepath.Join(ce.dir, "small.jpg")
	a("s3api", "put-object", "--bucket", "clients", "--key", "photos/a.jpg", "--body", small, "--cache-control", "max-age=60",
		"--content-language", "de", "--content-disposition", "inline", "--checksum-algorithm", "SHA256")
	head := a("s3api", "head-object", "--bucket", "clients", "--key", "photos/a.jpg", "--checksum-mode", "ENABLED")
	for _, want := range []string{`"CacheControl": "max-age=60"`, `"ContentLanguage": "de"`, `"ContentDisposition": "inline"`, `"ChecksumSHA256": "`} {
		if !strings.Contains(head, want) {
			t.Errorf("head-object lacks %s:\n%s", want, head)
		}
	}
	// Multipart by the high-level command, then a part read.
	a("s3", "cp", filepath.Join(ce.dir, "big.bin"), "s3://clients/photos/big.bin")
	part := filepath.Join(ce.dir, "part2")
	out := a("s3api", "get-object", "--bucket", "clients", "--key", "photos/big.bin", "--part-number", "2", part)
	if !strings.Contains(out, `"PartsCount": 2`) || !strings.Contains(out, `"ContentRange": "bytes 8388608-`) {
		t.Errorf("get-object --part-number 2:\n%s", out)
	}
	if got, _ := os.ReadFile(part); !bytes.Equal(got, ce.big[8<<20:]) {
		t.Errorf("part 2 is %d bytes, want %d", len(got), len(ce.big)-8<<20)
	}
	if vs := a("s3api", "list-object-versions", "--bucket", "clients"); strings.Count(vs, `"VersionId": "null"`) != 2 {
		t.Errorf("list-object-versions:\n%s", vs)
	}
	// UploadPartCopy past the source's end.
	up := a("s3api", "create-multipart-upload", "--bucket", "clients", "--key", "copy", "--query", "UploadId", "--output", "text")
	cmd := exec.CommandContext(t.Context(), aws, "--endpoint-url", ce.srv.URL, "s3api", "upload-part-copy", "--bucket", "clients", "--key", "copy",
		"--upload-id", strings.TrimSpace(up), "--part-number", "1", "--copy-source", "clients/photos/a.jpg", "--copy-source-range", "bytes=0-999")
	cmd.Env = append([]string{"HOME=" + ce.dir, "PATH=" + filepath.Dir(aws) + ":/usr/bin:/bin"}, env...)
	if msg, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(msg), "InvalidArgument") {
		t.Errorf("upload-part-copy past the end = %v\n%s", err, msg)
	}
	help := a("s3api", "put-object", "help")
	if !strings.Contains(help, "if-none-match") {
		t.Logf("this aws CLI has no --if-none-match; conditional writes are covered by the SDK tests")
		return
	}
	cmd = exec.CommandContext(t.Context(), aws, "--endpoint-url", ce.srv.URL, "s3api", "put-object", "--bucket", "clients", "--key", "photos/a.jpg", "--body", small, "--if-none-match", "*")
	cmd.Env = append([]string{"HOME=" + ce.dir, "PATH=" + filepath.Dir(aws) + ":/usr/bin:/bin"}, env...)
	if msg, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(msg), "PreconditionFailed") {
		t.Errorf("put-object --if-none-match * over an object = %v\n%s", err, msg)
	}
}

package main

// End-to-end tests: the real binary (built once per test run), started on
// 127.0.0.1:0, driven by aws-sdk-go-v2 and Debian's aws CLI exactly as a
// user would.

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/imagerec/imagerec/internal/citest"
)

const (
	testUpload = "image-upload-bucket"
	testResult = "image-result-bucket"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// binary builds cmd/imagerec once for all tests.
func binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "imagerec-e2e")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "imagerec")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %w\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// testServer is one running `imagerec serve`.
type testServer struct {
	t        testing.TB
	cmd      *exec.Cmd
	endpoint string
	logs     *syncBuffer
	done     chan struct{}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var listenRE = regexp.MustCompile(`endpoint: (http://127\.0\.0\.1:\d+)`)

// startServer runs `imagerec serve` on a free port with its state in dataDir
// and returns once the listener is bound.
func startServer(t testing.TB, dataDir string, extra ...string) *testServer {
	t.Helper()
	return startServerEnv(t, dataDir, nil, extra...)
}

// startServerEnv is startServer with more environment variables.
func startServerEnv(t testing.TB, dataDir string, env []string, extra ...string) *testServer {
	t.Helper()
	args := append([]string{"serve", "--listen", "127.0.0.1:0", "--data", dataDir}, extra...)
	cmd := exec.Command(binary(t), args...)
	cmd.Env = append(append(os.Environ(), "IMAGEREC_LOG_LEVEL=debug"), env...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	s := &testServer{t: t, cmd: cmd, logs: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stderr = s.logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		sent := false
		endpoint := ""
		for sc.Scan() {
			fmt.Fprintln(s.logs, sc.Text())
			if m := listenRE.FindStringSubmatch(sc.Text()); m != nil && endpoint == "" {
				endpoint = m[1]
			}
			// Ready once the whole banner is in the logs (its last line).
			if endpoint != "" && !sent && strings.HasPrefix(sc.Text(), "  metrics:") {
				found <- endpoint
				sent = true
			}
		}
		close(found)
	}()
	go func() {
		_ = cmd.Wait()
		close(s.done)
	}()
	select {
	case ep, ok := <-found:
		if !ok {
			t.Fatalf("server exited before listening:\n%s", s.logs.String())
		}
		s.endpoint = ep
	case <-time.After(120 * time.Second):
		s.kill()
		t.Fatalf("server did not start:\n%s", s.logs.String())
	}
	t.Cleanup(s.stop)
	return s
}

func (s *testServer) kill() {
	_ = s.cmd.Process.Signal(syscall.SIGKILL)
	<-s.done
}

func (s *testServer) stop() {
	select {
	case <-s.done:
		return
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(20 * time.Second):
		s.kill()
	}
	if s.t.Failed() {
		s.t.Logf("server logs:\n%s", tail(s.logs.String(), 6000))
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

// client returns an SDK S3 client for the server with the default local
// credentials.
func (s *testServer) client() *s3.Client {
	return s3.New(s3.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(s.endpoint),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider("imagerec", "imagerec-local-secret", ""),
	})
}

// waitDocument polls the result bucket until key.json or key.error.json
// exists, and returns its name and body.
func waitDocument(ctx context.Context, t testing.TB, c *s3.Client, key string, timeout time.Duration) (string, []byte) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		for _, k := range []string{key + ".json", key + ".error.json"} {
			out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(testResult), Key: aws.String(k)})
			if err == nil {
				b, err := io.ReadAll(out.Body)
				out.Body.Close()
				if err != nil {
					t.Fatal(err)
				}
				return k, b
			}
			var nsk *s3types.NoSuchKey
			if !errors.As(err, &nsk) {
				t.Fatalf("get %s: %v", k, err)
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no document for %q after %s", key, timeout)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func putObject(ctx context.Context, t testing.TB, c *s3.Client, key string, data []byte) {
	t.Helper()
	_, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(testUpload), Key: aws.String(key), Body: bytes.NewReader(data)})
	if err != nil {
		t.Fatalf("put %q: %v", key, err)
	}
}

// repoRoot returns the repository root (two levels up from cmd/imagerec).
func repoRoot(t testing.TB) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Clean(filepath.Join(wd, "..", ".."))
}

// photo reads a test photo from testdata/images.
func photo(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "testdata", "images", name))
	if err != nil {
		t.Fatalf("test photo: %v", err)
	}
	return b
}

// needModels skips (or fails under CI) when the ONNX runtime and models are
// not installed.
func needModels(t testing.TB) {
	t.Helper()
	out, err := exec.Command(binary(t), "models", "verify").CombinedOutput()
	if err == nil {
		return
	}
	msg := fmt.Sprintf("models not installed (run `imagerec models install`): %s", strings.TrimSpace(string(out)))
	citest.Skip(t, msg)
}

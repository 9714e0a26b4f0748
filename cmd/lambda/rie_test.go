package lambda_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/imagerec/imagerec/internal/citest"
)

const rieModule = "github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@v0.0.0-20261030222936-bef5c4ba774d"

// rieBinary finds the AWS Lambda Runtime Interface Emulator, installed by
// the set-up with
//
//	GOBIN=~/.cache/imagerec/bin go install github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@v0.0.0-20261030222936-bef5c4ba774d
func rieBinary(t *testing.T) string {
	t.Helper()
	path := os.Getenv("IMAGEREC_LAMBDA_RIE")
	if path == "" {
		home, _ := os.UserHomeDir()
		path = filepath.Join(home, ".cache", "imagerec", "bin", "aws-lambda-rie")
	}
	if _, err := os.Stat(path); err != nil && citest.CI() && os.Getenv("IMAGEREC_LAMBDA_RIE") == "" {
		// Set-up normally installs it; otherwise build the pinned version
		// from the module proxy into the same cache.
		cmd := exec.CommandContext(t.Context(), "go", "install", rieModule)
		cmd.Env = append(os.Environ(), "GOBIN="+filepath.Dir(path), "GOFLAGS=")
		cmd.Dir = t.TempDir() // outside this module: no go.mod change
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Logf("go install %s: %v\n%s", rieModule, err, out)
		}
	}
	if _, err := os.Stat(path); err != nil {
		citest.Skipf(t, "aws-lambda-rie not installed at %s (GOBIN=%s go install %s)", path, filepath.Dir(path), rieModule)
	}
	return path
}

// lockedBuffer is an io.Writer safe to read while a process writes to it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// rieSession is a function running under the emulator, which starts the
// bootstrap on the first invocation (a cold start) and reuses it after.
type rieSession struct {
	cmd  *exec.Cmd
	url  string
	out  *lockedBuffer
	once sync.Once
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}

func rieLauncher(rie string) launcher {
	return func(t *testing.T, bin string, env map[string]string) session {
		t.Helper()
		emu, api := freePort(t), freePort(t)
		// Always pass both addresses: the emulator's default is 0.0.0.0:8080.
		cmd := exec.Command(rie, "--runtime-interface-emulator-address", "127.0.0.1:"+emu, "--runtime-api-address", "127.0.0.1:"+api, bin)
		cmd.Dir = filepath.Dir(bin)
		home := t.TempDir()
		cmd.Env = []string{
			"PATH=" + os.Getenv("PATH"), "HOME=" + home,
			"AWS_LAMBDA_FUNCTION_MEMORY_SIZE=256", "AWS_LAMBDA_LOG_LEVEL=DEBUG",
			"AWS_REGION=us-east-1", "AWS_ACCESS_KEY_ID=" + accessKey, "AWS_SECRET_ACCESS_KEY=" + secretKey,
			"AWS_EC2_METADATA_DISABLED=true", "AWS_CONFIG_FILE=" + filepath.Join(home, "none"), "AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(home, "none"),
		}
		for k, v := range env {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
		out := &lockedBuffer{}
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		s := &rieSession{cmd: cmd, url: "http://127.0.0.1:" + emu + "/2015-03-31/functions/function/invocations", out: out}
		t.Cleanup(func() {
			s.stop()
			if t.Failed() {
				t.Logf("emulator output:\n%s", out)
			}
		})
		return s
	}
}

func (s *rieSession) invoke(t *testing.T, id string, payload []byte) *invocation {
	t.Helper()
	inv := &invocation{id: id, payload: payload, sent: time.Now()}
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Post(s.url, "application/json", bytes.NewReader(payload))
		if err != nil {
			// The emulator is still binding its port.
			var op *net.OpError
			if errors.As(err, &op) && errors.Is(err, syscall.ECONNREFUSED) && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
				inv.sent = time.Now()
				continue
			}
			t.Fatalf("invoke %s: %v", id, err)
		}
		var body bytes.Buffer
		body.ReadFrom(resp.Body)
		resp.Body.Close()
		inv.done = time.Now()
		inv.body = body.Bytes()
		inv.kind = "response"
		var fe struct {
			ErrorType    *string `json:"errorType"`
			ErrorMessage *string `json:"errorMessage"`
		}
		if json.Unmarshal(inv.body, &fe) == nil && fe.ErrorType != nil && fe.ErrorMessage != nil {
			inv.kind, inv.errType = "error", *fe.ErrorType
		}
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("invoke %s: status %d %s", id, resp.StatusCode, inv.body)
		}
		return inv
	}
}

func (s *rieSession) stop() {
	s.once.Do(func() {
		s.cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { s.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			s.cmd.Process.Kill()
			<-done
		}
	})
}

func (s *rieSession) output() string { return s.out.String() }

var initReport = regexp.MustCompile(`INIT REPORT\(durationMs: ([0-9.]+)\)`)

// coldStart is the emulator's first invocation, request to response: it
// starts the bootstrap (INIT) and runs the handler.
func (s *rieSession) coldStart(first *invocation) time.Duration {
	return first.done.Sub(first.sent)
}

// TestFunctionsUnderRIE runs the same chain under the AWS Lambda Runtime
// Interface Emulator, the Runtime API implementation AWS ships for local
// testing, and reports its INIT durations.
func TestFunctionsUnderRIE(t *testing.T) {
	if testing.Short() {
		t.Skip("builds five binaries")
	}
	rie := rieBinary(t)
	launch := rieLauncher(rie)
	var mu sync.Mutex
	var inits []string
	wrapped := func(t *testing.T, bin string, env map[string]string) session {
		s := launch(t, bin, env)
		t.Cleanup(func() {
			if m := initReport.FindStringSubmatch(s.output()); m != nil {
				mu.Lock()
				inits = append(inits, filepath.Base(filepath.Dir(bin))+" "+m[1]+" ms")
				mu.Unlock()
			}
		})
		return s
	}
	runChain(t, runtime.GOARCH, buildAll(t), wrapped)
	t.Logf("emulator INIT durations: %v", inits)
}

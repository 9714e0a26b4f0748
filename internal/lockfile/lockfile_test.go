package lockfile_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/imagerec/imagerec/internal/lockfile"
)

// TestHelperProcess holds a lock until killed (run by the tests below).
func TestHelperProcess(t *testing.T) {
	path := os.Getenv("LOCKFILE_HELPER")
	if path == "" {
		t.Skip("helper process")
	}
	if _, err := lockfile.Acquire(path, "helper"); err != nil {
		t.Fatal(err)
	}
	_, _ = os.Stdout.WriteString("locked\n")
	time.Sleep(time.Minute)
}

func TestAcquire(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lock")
	l, err := lockfile.Acquire(path, "first serve")
	if err != nil {
		t.Fatal(err)
	}
	// A second open file description is refused, even in one process.
	_, err = lockfile.Acquire(path, "second")
	var he *lockfile.HeldError
	if !errors.As(err, &he) || he.PID != os.Getpid() || he.Owner != "first serve" {
		t.Fatalf("second Acquire: %v (%+v)", err, he)
	}
	if !strings.Contains(err.Error(), "first serve") {
		t.Errorf("message %q does not name the holder", err)
	}
	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
	l2, err := lockfile.Acquire(path, "after release")
	if err != nil {
		t.Fatalf("after Release: %v", err)
	}
	_ = l2.Release()
}

// TestKilledHolderReleases: a holder killed with SIGKILL leaves the file
// behind but not the lock.
func TestKilledHolderReleases(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lock")
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$")
	cmd.Env = append(os.Environ(), "LOCKFILE_HELPER="+path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 7)
	if _, err := out.Read(buf); err != nil || string(buf) != "locked\n" {
		t.Fatalf("helper: %q %v", buf, err)
	}
	var he *lockfile.HeldError
	if _, err := lockfile.Acquire(path, "me"); !errors.As(err, &he) || he.PID != cmd.Process.Pid {
		t.Fatalf("while the helper runs: %v, want HeldError naming pid %d", err, cmd.Process.Pid)
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	_ = cmd.Wait()
	l, err := lockfile.Acquire(path, "me")
	if err != nil {
		t.Fatalf("after the holder was killed: %v", err)
	}
	_ = l.Release()
}

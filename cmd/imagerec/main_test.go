package main

import (
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestHelpAndVersion: every command answers --help with its usage on
// stdout and exit 0, and --version is a synonym of `version`.
func TestHelpAndVersion(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--help"}, "Commands:"},
		{[]string{"--version"}, "imagerec " + version},
		{[]string{"version"}, "imagerec " + version},
		{[]string{"states", "--help"}, "states validate FILE"},
		{[]string{"states", "-h"}, "states run --definition"},
		{[]string{"executions", "--help"}, "executions list"},
		{[]string{"executions", "help"}, "describe ID"},
		{[]string{"recognize", "--help"}, ""},
		{[]string{"serve", "--help"}, ""},
		{[]string{"models", "--help"}, ""},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			t.Parallel()
			code, stdout, stderr := runCmd(t, tc.args...)
			if code != 0 {
				t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
			}
			if !strings.Contains(stdout+stderr, tc.want) {
				t.Errorf("output lacks %q:\n%s%s", tc.want, stdout, stderr)
			}
			if strings.Contains(stderr, "unknown") {
				t.Errorf("stderr: %s", stderr)
			}
		})
	}
}

// TestServeBusyPortFailsFast: a taken port is reported before anything
// slow happens (the engine is never loaded: the cache here is empty), and
// the message points at --listen.
func TestServeBusyPortFailsFast(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	bin := binary(t) // built before the clock starts
	start := time.Now()
	out, err := exec.Command(bin, "serve", "--listen", ln.Addr().String(), "--data", t.TempDir(), "--cache", t.TempDir()).CombinedOutput()
	if err == nil {
		t.Fatalf("serve on a busy port succeeded:\n%s", out)
	}
	if !strings.Contains(string(out), "--listen") || !strings.Contains(string(out), "address already in use") {
		t.Errorf("message does not name the problem and --listen:\n%s", out)
	}
	if strings.Contains(string(out), "recognition engine") {
		t.Errorf("the engine was loaded before the port was checked:\n%s", out)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("took %s", d)
	}
}

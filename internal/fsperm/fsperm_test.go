package fsperm

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

func TestTighten(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	mk := func(rel string, mode fs.FileMode, dir bool) {
		t.Helper()
		p := filepath.Join(root, rel)
		if dir {
			if err := os.MkdirAll(p, 0o700); err != nil {
				t.Fatal(err)
			}
		} else if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
	}
	mk("objects", 0o755, true)
	mk("objects/a.json", 0o644, false)
	mk("objects/b.bin", 0o600, false)
	mk("objects/run.sh", 0o775, false)
	mk("executions", 0o750, true)
	mk("executions/x.json", 0o640, false)
	mk("private", 0o700, true)
	outside := filepath.Join(t.TempDir(), "outside")
	if err := os.WriteFile(outside, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(root, "objects", "link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(root, 0o755); err != nil {
		t.Fatal(err)
	}
	n, err := Tighten(root)
	if err != nil {
		t.Fatal(err)
	}
	if n != 6 {
		t.Errorf("changed %d entries, want 6", n)
	}
	want := map[string]fs.FileMode{
		".": 0o700, "objects": 0o700, "objects/a.json": 0o600, "objects/b.bin": 0o600, "objects/run.sh": 0o700,
		"executions": 0o700, "executions/x.json": 0o600, "private": 0o700,
	}
	for rel, mode := range want {
		fi, err := os.Stat(filepath.Join(root, rel))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != mode {
			t.Errorf("%s: mode %v, want %v", rel, fi.Mode().Perm(), mode)
		}
	}
	if fi, _ := os.Stat(outside); fi.Mode().Perm() != 0o644 {
		t.Errorf("a symlink's target outside the tree was changed: %v", fi.Mode().Perm())
	}
	if n, err := Tighten(root); n != 0 || err != nil {
		t.Errorf("second Tighten: %d, %v; want nothing to do", n, err)
	}
	if n, err := Tighten(filepath.Join(root, "missing")); n != 0 || err != nil {
		t.Errorf("missing root: %d, %v", n, err)
	}
	// A file as root is tightened itself.
	if err := os.Chmod(outside, 0o644); err != nil {
		t.Fatal(err)
	}
	if n, err := Tighten(outside); n != 1 || err != nil {
		t.Errorf("file root: %d, %v", n, err)
	}
	if fi, _ := os.Stat(outside); fi.Mode().Perm() != 0o600 {
		t.Errorf("file root: mode %v", fi.Mode().Perm())
	}
}

func TestRestrictUmask(t *testing.T) {
	dir := t.TempDir()
	restore := RestrictUmask()
	if err := os.WriteFile(filepath.Join(dir, "a"), nil, 0o666); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "d"), 0o777); err != nil {
		t.Fatal(err)
	}
	restore()
	for name, want := range map[string]fs.FileMode{"a": 0o600, "d": 0o700} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != want && runtime.GOOS != "windows" {
			t.Errorf("%s created under the umask: %v, want %v", name, got, want)
		}
	}
}

// BenchmarkTighten walks a data directory of 20,000 objects in 256
// directories that is already private: the cost `serve` pays at every
// start.
//
//	go test -run '^$' -bench Tighten ./internal/fsperm
func BenchmarkTighten(b *testing.B) {
	root := b.TempDir()
	for d := range 256 {
		dir := filepath.Join(root, "obj", fmt.Sprintf("%02x", d))
		if err := os.MkdirAll(dir, 0o700); err != nil {
			b.Fatal(err)
		}
		for f := range 20000 / 256 {
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprint(f)), nil, 0o600); err != nil {
				b.Fatal(err)
			}
		}
	}
	if err := os.Chmod(root, 0o700); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		if n, err := Tighten(root); err != nil || n != 0 {
			b.Fatal(n, err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/20000, "ns/entry")
}

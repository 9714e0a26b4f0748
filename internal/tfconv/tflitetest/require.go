package tflitetest

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/imagerec/imagerec/internal/citest"
)

// Require returns the installed harness, found from the test's working
// directory. When it is not installed the test is skipped with the
// reason, unless the environment variable CI is set: then it fails.
func Require(tb testing.TB) *Harness {
	tb.Helper()
	h, err := Find(os.Getenv, ".")
	if err != nil {
		if errors.Is(err, ErrNotInstalled) {
			citest.Skipf(tb, "TFLite reference harness not installed: %v", err)
		}
		tb.Fatalf("TFLite reference: %v", err)
	}
	return h
}

// CoralDir returns the folder holding the Coral TFLite models and labels:
// ../shared/models/coral beside the repository root. When it is missing
// the test is skipped, unless CI is set: then it fails.
func CoralDir(tb testing.TB) string {
	tb.Helper()
	root, err := RepoRoot(".")
	if err != nil {
		tb.Fatal(err)
	}
	dir := filepath.Join(filepath.Dir(root), "shared", "models", "coral")
	if _, err := os.Stat(filepath.Join(dir, "SHA256SUMS")); err != nil {
		citest.Skipf(tb, "Coral models not found: %v", err)
	}
	return dir
}

// Package goldentest compares a test's output with a golden file, the
// JSON, XML and HTTP contracts the tests pin. `go test -update` rewrites
// the files instead; review the diff before committing them.
package goldentest

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// update is the test binary's -update flag: a package that imports
// goldentest must not declare its own.
var update = flag.Bool("update", false, "rewrite golden files")

// Update reports whether the test runs with -update, for tests that keep
// other generated files.
func Update() bool { return *update }

// Compare fails tb when got differs from the file at path, with the
// diff; with -update it writes got to path (creating its directory) first.
func Compare(tb testing.TB, path string, got []byte) {
	tb.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o600); err != nil {
			tb.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		tb.Fatalf("%v (run the test with -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		tb.Errorf("%s differs (-want +got):\n%s", path, diff)
	}
}

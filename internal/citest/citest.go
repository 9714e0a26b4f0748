package citest

import (
	"fmt"
	"os"
	"testing"
)

// CI reports whether the tests run under CI: the environment variable CI
// is set and not empty.
func CI() bool { return os.Getenv("CI") != "" }

// Skip skips the test with a message built as by fmt.Sprint, or fails it
// with the same message under CI.
func Skip(tb testing.TB, args ...any) {
	tb.Helper()
	missing(tb, fmt.Sprint(args...))
}

// Skipf skips the test with a message built as by fmt.Sprintf, or fails it
// with the same message under CI.
func Skipf(tb testing.TB, format string, args ...any) {
	tb.Helper()
	missing(tb, fmt.Sprintf(format, args...))
}

func missing(tb testing.TB, msg string) {
	tb.Helper()
	if CI() {
		tb.Fatal(msg + " (CI is set: a missing requirement fails the test)")
		return
	}
	tb.Skip(msg)
}

package citest_test

import (
	"testing"

	"github.com/imagerec/imagerec/internal/citest"
)

// recorder is a testing.TB that records Skip and Fatal instead of
// stopping the goroutine.
type recorder struct {
	testing.TB
	skipped, failed string
}

func (r *recorder) Helper()              {}
func (r *recorder) Skip(args ...any)     { r.skipped = args[0].(string) }
func (r *recorder) Fatal(args ...any)    { r.failed = args[0].(string) }
func (r *recorder) Skipf(string, ...any) { panic("citest must call Skip") }

func TestSkip(t *testing.T) {
	tests := []struct {
		name        string
		ci          string
		wantSkipped string
		wantFailed  string
	}{
		{"locally", "", "aws CLI missing (apt-get install awscli)", ""},
		{"under CI", "true", "", "aws CLI missing (apt-get install awscli) (CI is set: a missing requirement fails the test)"},
		{"any non-empty CI", "1", "", "aws CLI missing (apt-get install awscli) (CI is set: a missing requirement fails the test)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("CI", tc.ci)
			if got := citest.CI(); got != (tc.ci != "") {
				t.Errorf("CI() = %v with CI=%q", got, tc.ci)
			}
			for _, skip := range []func(*recorder){
				func(r *recorder) { citest.Skip(r, "aws CLI missing ", "(apt-get install awscli)") },
				func(r *recorder) { citest.Skipf(r, "aws CLI missing (apt-get install %s)", "awscli") },
			} {
				r := &recorder{}
				skip(r)
				if r.skipped != tc.wantSkipped || r.failed != tc.wantFailed {
					t.Errorf("skipped %q, failed %q; want skipped %q, failed %q", r.skipped, r.failed, tc.wantSkipped, tc.wantFailed)
				}
			}
		})
	}
}

package lambda_test

import (
	"os/exec"
	"runtime"
	"testing"
)

// TestArm64UnderQEMU runs the linux/arm64 bootstraps, the architecture the
// template deploys, through the same chain under qemu user-mode emulation
// (Debian package qemu-user). Timings under emulation mean nothing; the
// point is that the arm64 binaries speak the Runtime API and do the work.
func TestArm64UnderQEMU(t *testing.T) {
	if testing.Short() {
		t.Skip("builds five binaries")
	}
	if runtime.GOARCH == "arm64" {
		t.Skip("arm64 host: TestFunctionsThroughRuntimeAPI already runs them natively")
	}
	qemu, err := exec.LookPath("qemu-aarch64")
	if err != nil {
		// An extra check beyond the Runtime API tests: skipped, even in CI,
		// when the set-up did not install Debian's qemu-user.
		t.Skip("qemu-aarch64 not installed (apt-get install -y qemu-user)")
	}
	runChain(t, "arm64 (qemu)", buildFor(t, "arm64"), func(t *testing.T, bin string, env map[string]string) session {
		return start(t, bin, env, qemu)
	})
}

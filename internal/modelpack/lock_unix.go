//go:build unix

package modelpack

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// lockRoot takes an exclusive flock on <root>/.install.lock so that
// concurrent installs (parallel test binaries, two shells) do not fetch
// and write the same files at once. It blocks until the lock is free.
func lockRoot(root string) (unlock func(), err error) {
	if err := os.MkdirAll(root, 0o755); err != nil { //nolint:gosec // the model cache is shared, read-only data, not user data
		return nil, fmt.Errorf("lock %s: %w", root, err)
	}
	f, err := os.OpenFile(filepath.Join(root, ".install.lock"), os.O_CREATE|os.O_RDWR, 0o644) //nolint:gosec // an empty lock file in the shared model cache
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", root, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("lock %s: %w", root, err)
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		_ = f.Close()
	}, nil
}

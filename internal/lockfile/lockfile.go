package lockfile

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/gofrs/flock"
)

// HeldError is returned by Acquire when another process holds the lock.
type HeldError struct {
	// Path is the lock file.
	Path string
	// PID and Owner are what the holder wrote, when it could be read.
	PID   int
	Owner string
}

func (e *HeldError) Error() string {
	who := "another process"
	if e.PID > 0 {
		who = "process " + strconv.Itoa(e.PID)
	}
	if e.Owner != "" {
		who += " (" + e.Owner + ")"
	}
	return fmt.Sprintf("%s holds the lock %s", who, e.Path)
}

// Lock is a held lock.
type Lock struct{ fl *flock.Flock }

// Acquire locks path (creating it, mode 0600) without waiting and records
// the current process id and owner, a one-line description, in it. When
// another process holds it, Acquire returns a *HeldError.
func Acquire(path, owner string) (*Lock, error) {
	fl := flock.New(path, flock.SetPermissions(0o600))
	ok, err := fl.TryLock()
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if !ok {
		he := &HeldError{Path: path}
		if b, err := os.ReadFile(path); err == nil {
			pid, rest, _ := strings.Cut(strings.TrimSpace(string(b)), " ")
			he.PID, _ = strconv.Atoi(pid)
			he.Owner = strings.TrimSpace(rest)
		}
		return nil, he
	}
	// flock(2) locks the open file description, not the contents, and
	// closing another descriptor of the file keeps it: write them apart.
	line := strconv.Itoa(os.Getpid()) + " " + strings.ReplaceAll(owner, "\n", " ") + "\n"
	if werr := os.WriteFile(path, []byte(line), 0o600); werr != nil {
		_ = fl.Unlock()
		return nil, fmt.Errorf("lock %s: %w", path, werr)
	}
	return &Lock{fl: fl}, nil
}

// Release unlocks. The file stays (removing it would race with a process
// that just opened it).
func (l *Lock) Release() error {
	if l == nil || l.fl == nil {
		return nil
	}
	if err := l.fl.Unlock(); err != nil && !errors.Is(err, os.ErrClosed) {
		return fmt.Errorf("unlock %s: %w", l.fl.Path(), err)
	}
	return nil
}

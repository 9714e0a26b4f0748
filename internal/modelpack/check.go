package modelpack

import (
	"errors"
	"fmt"
	"io/fs"
)

// State is the condition of an installed asset.
type State string

// States.
const (
	StateOK       State = "ok"
	StateMissing  State = "missing"
	StateBad      State = "bad checksum"
	StateUnpinned State = "unpinned"
	StateError    State = "error"
)

// Status is what Check found for one asset.
type Status struct {
	Asset Asset
	Path  string
	State State
	Size  int64
	// SHA256 is the file's actual sha256 (empty when missing).
	SHA256 string
	Err    error
}

// Check hashes an asset's file under root and compares it with the
// declared sha256.
func Check(root string, a Asset) Status {
	st := Status{Asset: a, Path: a.Path(root)}
	sum, n, err := hashFile(st.Path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		st.State = StateMissing
		st.Err = fmt.Errorf("%s: missing (run `imagerec models install`)", st.Path)
	case err != nil:
		st.State, st.Err = StateError, err
	case a.SHA256 == "":
		st.State, st.SHA256, st.Size = StateUnpinned, sum, n
	case sum != a.SHA256:
		st.State, st.SHA256, st.Size = StateBad, sum, n
		st.Err = &ChecksumError{Path: st.Path, Got: sum, Want: a.SHA256}
	default:
		st.State, st.SHA256, st.Size = StateOK, sum, n
	}
	return st
}

// Verify checks every asset in as and returns an error naming each one
// that is missing or has a bad checksum (unpinned files pass).
func Verify(root string, as []Asset) ([]Status, error) {
	sts := make([]Status, len(as))
	var errs []error
	for i, a := range as {
		sts[i] = Check(root, a)
		if sts[i].Err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", a.Name, sts[i].Err))
		}
	}
	return sts, errors.Join(errs...)
}

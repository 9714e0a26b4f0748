//go:build !unix

package modelpack

// lockRoot is a no-op where flock is unavailable; concurrent installs are
// still safe file by file (atomic renames) but may fetch twice.
func lockRoot(string) (func(), error) { return func() {}, nil }

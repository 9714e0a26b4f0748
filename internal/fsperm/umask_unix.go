//go:build unix

package fsperm

import "syscall"

// RestrictUmask sets the process umask to 077, so every file and
// directory the process creates from now on, by any library, is private
// to its user. restore puts the previous umask back.
func RestrictUmask() (restore func()) {
	old := syscall.Umask(0o077)
	return func() { syscall.Umask(old) }
}

//go:build !linux

package natstest

import "syscall"

// procAttr: without Pdeathsig a server outlives a test process that is
// killed; t.Cleanup stops it otherwise.
func procAttr() *syscall.SysProcAttr { return nil }

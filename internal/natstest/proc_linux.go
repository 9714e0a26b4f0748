package natstest

import "syscall"

// procAttr makes a server die with the test process that started it.
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

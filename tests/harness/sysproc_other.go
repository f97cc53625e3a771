//go:build !linux

package harness

import "syscall"

// childSysProcAttr has no parent-death signal outside Linux; t.Cleanup still
// stops every child.
func childSysProcAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{} }

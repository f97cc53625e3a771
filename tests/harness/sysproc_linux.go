package harness

import "syscall"

// childSysProcAttr makes the kernel kill a child when the test process dies
// (a test binary killed by -timeout must not leave etcd running).
func childSysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

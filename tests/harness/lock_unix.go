//go:build unix

package harness

import (
	"os"
	"syscall"
)

// LockFile takes an exclusive advisory lock on path (created if missing) and
// returns the function that releases it. The lock is across processes: it
// keeps two test binaries from building the same output file at once, and
// two runs of etcd's e2e suite off its fixed ports at once.
func LockFile(path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}

// tryLockFile takes an exclusive advisory lock on path (created if
// missing) if nobody holds it, and keeps it until the process exits (the
// kernel releases it then, however the process ends). ok is false if
// another process holds it.
func tryLockFile(path string) (ok bool, err error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return false, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if err == syscall.EWOULDBLOCK {
			return false, nil
		}
		return false, err
	}
	heldLocks = append(heldLocks, f) // open for as long as the process lives
	return true, nil
}

// heldLocks are the files whose locks tryLockFile took (guarded by portsMu,
// its only caller's lock).
var heldLocks []*os.File

//go:build unix

package harness

import (
	"os"
	"syscall"
)

// lockFile takes an exclusive advisory lock on path (created if missing) and
// returns the function that releases it. The lock is across processes: it is
// what keeps two test binaries from building the same output file at once.
func lockFile(path string) (unlock func(), err error) {
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

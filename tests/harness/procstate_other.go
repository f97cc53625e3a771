//go:build !linux

package harness

import (
	"errors"
	"time"
)

// waitStopped cannot read a process's state without /proc; Pause and Resume
// return once the signal is sent.
func waitStopped(pid int, stopped bool, exited <-chan struct{}, patience time.Duration) error {
	return nil
}

// errNoProcState says that a process's state cannot be read here.
var errNoProcState = errors.New("harness: process state needs Linux /proc")

func procState(pid int) (byte, error) { return 0, errNoProcState }

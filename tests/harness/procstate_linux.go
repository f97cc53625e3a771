//go:build linux

package harness

import (
	"bytes"
	"fmt"
	"os"
	"time"
)

// procStatePoll is how often waitStopped reads /proc.
const procStatePoll = 5 * time.Millisecond

// waitStopped waits until /proc says that process pid is stopped by a signal
// (state T), when stopped is true, or that it is not, when false. It gives
// up when exited closes or after patience.
func waitStopped(pid int, stopped bool, exited <-chan struct{}, patience time.Duration) error {
	deadline := time.Now().Add(patience)
	for {
		state, err := procState(pid)
		if err == nil && (state == 'T') == stopped {
			return nil
		}
		select {
		case <-exited:
			return fmt.Errorf("exited while waiting for stopped=%v", stopped)
		case <-time.After(procStatePoll):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("state %q (err %v), want stopped=%v, after %v", state, err, stopped, patience)
		}
	}
}

// procState is the state letter of /proc/<pid>/stat (R, S, D, T, Z, ...).
func procState(pid int) (byte, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// "pid (comm) S ...": comm may hold spaces and parentheses, the last
	// ')' ends it.
	i := bytes.LastIndexByte(data, ')')
	if i < 0 || i+2 >= len(data) {
		return 0, fmt.Errorf("cannot parse /proc/%d/stat", pid)
	}
	return data[i+2], nil
}

//go:build !linux

package harness

import "errors"

// RemotePorts needs /proc; elsewhere it reports that it cannot tell.
func RemotePorts(pid int) ([]int, error) {
	return nil, errors.New("harness: RemotePorts needs Linux /proc")
}

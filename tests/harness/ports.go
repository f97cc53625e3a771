package harness

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
)

var (
	portsMu     sync.Mutex
	portsHanded = map[int]bool{}
)

// Ports are handed out from below the kernel's ephemeral range
// (ip_local_port_range), from which every outgoing connection and every
// bind to port 0 draws its port: a port that was free a moment ago in that
// range can be taken by any connection before the server binds it, and on a
// busy machine one was ("bind: address already in use", a herald of
// TestFanoutCompleteness). Below it only a server that asks for that very
// port can take it; a lock file per port, held while the process lives,
// keeps two test processes from handing out the same one.
const (
	portsFloor   = 24000 // clear of etcd's e2e ports (20000 and up) and well-known ones
	portsCeiling = 30000 // clear of the e2e heralds' gossip ports (30000 and up: tests/etcde2e/etcdwrap) and make demo's (32379 and up)
	portLocks    = "herald-test-ports"
)

// ephemeralLow is where the kernel's ephemeral range starts (Linux's
// default when it cannot be read).
func ephemeralLow() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if low, err := strconv.Atoi(f[0]); err == nil && low > portsFloor+1000 {
				return low
			}
		}
	}
	return 32768
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago, below
// the ephemeral range, that no other test process holds and that this
// process has not handed out before. Only a server that binds that very
// port can still take it before the caller's server does.
func FreePort(t testing.TB) int {
	t.Helper()
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	return port
}

// FreeAddr returns "127.0.0.1:PORT" for a FreePort.
func FreeAddr(t testing.TB) string {
	t.Helper()
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(FreePort(t)))
}

// TakeFreeAddr is FreeAddr for code that has no testing.TB (a TestMain
// that starts a server for the whole package).
func TakeFreeAddr() (string, error) {
	port, err := freePort()
	if err != nil {
		return "", err
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), nil
}

func freePort() (int, error) {
	portsMu.Lock()
	defer portsMu.Unlock()
	dir := filepath.Join(os.TempDir(), portLocks)
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return 0, fmt.Errorf("harness: free port: %w", err)
	}
	top := min(ephemeralLow(), portsCeiling)
	for range 1000 {
		port := portsFloor + rand.IntN(top-portsFloor)
		if portsHanded[port] {
			continue
		}
		ok, err := tryLockFile(filepath.Join(dir, strconv.Itoa(port)))
		if err != nil {
			return 0, fmt.Errorf("harness: free port: %w", err)
		}
		if !ok {
			continue // another test process has it
		}
		portsHanded[port] = true // locked: never again, in this process either
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			continue // something else listens there
		}
		l.Close()
		return port, nil
	}
	return 0, errors.New("harness: no free port after 1000 tries")
}

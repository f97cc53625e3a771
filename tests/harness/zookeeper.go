package harness

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// ZooKeeperOptions configures StartZooKeeper. The zero value is one
// standalone server.
type ZooKeeperOptions struct {
	// Servers is 1 (standalone, the default) or 3 (an ensemble).
	Servers int
}

// ZooKeeper is a standalone server or an ensemble of three, each a java
// process running Debian's zookeeper package.
type ZooKeeper struct {
	servers []*ZooKeeperServer
}

// ZooKeeperServer is one server process of a ZooKeeper.
type ZooKeeperServer struct {
	*Proc
	id         int
	clientAddr string
}

// zkTick is the ensemble's tickTime. Short, so that sessions may be short
// (a session's timeout is 2 to 20 ticks) and a lost follower is noticed
// within syncLimit ticks; long enough that a JVM paused by a busy CI machine
// does not lose its quorum.
const zkTick = 500 * time.Millisecond

// StartZooKeeper starts opts.Servers ZooKeeper servers on free 127.0.0.1
// ports, each with its own zoo.cfg and data dir under t.TempDir(), and waits
// until every server serves clients (in an ensemble: a leader is elected).
// It skips t when the zookeeper package is not installed (ZooKeeperInstalled)
// unless HERALD_CI=1, as .ci/run sets it. Every server is
// stopped by PID when t ends.
func StartZooKeeper(t testing.TB, opts ZooKeeperOptions) *ZooKeeper {
	t.Helper()
	java := requireZooKeeper(t)
	n := opts.Servers
	if n == 0 {
		n = 1
	}
	if n != 1 && n != 3 {
		t.Fatalf("harness: StartZooKeeper: Servers must be 1 or 3, not %d", n)
	}
	dir := t.TempDir()
	z := &ZooKeeper{}
	var quorum []string
	for i := range n {
		s := &ZooKeeperServer{id: i + 1, clientAddr: FreeAddr(t)}
		z.servers = append(z.servers, s)
		if n > 1 {
			// server.N=host:quorumPort:electionPort, the static ensemble.
			quorum = append(quorum, fmt.Sprintf("server.%d=127.0.0.1:%d:%d", s.id, FreePort(t), FreePort(t)))
		}
	}
	for _, s := range z.servers {
		sdir := filepath.Join(dir, fmt.Sprintf("zk%d", s.id))
		cfg, err := writeZooKeeperConfig(sdir, s, quorum)
		if err != nil {
			t.Fatalf("harness: zookeeper config: %v", err)
		}
		s.Proc = newProc(t, fmt.Sprintf("zookeeper %d", s.id), java, zooKeeperArgs(cfg), filepath.Join(sdir, "zookeeper.log"))
	}
	for _, s := range z.servers {
		if err := s.waitServing(); err != nil {
			t.Fatalf("harness: %v", err)
		}
	}
	return z
}

// requireZooKeeper returns the java binary that runs ZooKeeper, or skips t
// (fails it under HERALD_CI=1, as in .ci/run) when the zookeeper package is
// not installed.
func requireZooKeeper(t testing.TB) string {
	t.Helper()
	java, err := zooKeeperJava()
	if err != nil {
		missing(t, err.Error(), "zookeeper")
	}
	return java
}

// writeZooKeeperConfig writes dir/zoo.cfg (and dir/data/myid in an
// ensemble) and returns the config's path.
func writeZooKeeperConfig(dir string, s *ZooKeeperServer, quorum []string) (string, error) {
	data := filepath.Join(dir, "data")
	if err := os.MkdirAll(data, 0o755); err != nil {
		return "", err
	}
	host, port, _ := strings.Cut(s.clientAddr, ":")
	lines := []string{
		"tickTime=" + strconv.Itoa(int(zkTick/time.Millisecond)),
		"initLimit=20",
		"syncLimit=6",
		"dataDir=" + data,
		"clientPort=" + port,
		"clientPortAddress=" + host,
		// The admin server would bind 8080, shared by every test.
		"admin.enableServer=false",
		// srvr is how the harness sees that a server serves, and its mode;
		// mntr is what the benchmarks read.
		"4lw.commands.whitelist=srvr,ruok,mntr",
		// Benchmarks open thousands of sessions from 127.0.0.1 (the
		// default allows 60 per address).
		"maxClientCnxns=0",
		// Snapshots and logs stay small; nothing here lives long.
		"autopurge.purgeInterval=0",
	}
	if len(quorum) > 0 {
		lines = append(lines, quorum...)
		if err := os.WriteFile(filepath.Join(data, "myid"), []byte(strconv.Itoa(s.id)+"\n"), 0o644); err != nil {
			return "", err
		}
	}
	cfg := filepath.Join(dir, "zoo.cfg")
	return cfg, os.WriteFile(cfg, []byte(strings.Join(lines, "\n")+"\n"), 0o644)
}

// Addrs are the servers' client addresses (127.0.0.1:PORT), in server order.
func (z *ZooKeeper) Addrs() []string {
	out := make([]string, len(z.servers))
	for i, s := range z.servers {
		out[i] = s.clientAddr
	}
	return out
}

// URL is the zk:// URL of the servers, with chroot ("" or "/path") appended:
// what herald's --endpoints takes.
func (z *ZooKeeper) URL(chroot string) string {
	return "zk://" + strings.Join(z.Addrs(), ",") + chroot
}

// Server returns server i (0-based; its ZooKeeper id is i+1).
func (z *ZooKeeper) Server(i int) *ZooKeeperServer { return z.servers[i] }

// Size is the number of servers.
func (z *ZooKeeper) Size() int { return len(z.servers) }

// Leader waits until one running server says it leads (or is standalone)
// and returns it.
func (z *ZooKeeper) Leader(t testing.TB) *ZooKeeperServer {
	t.Helper()
	var leader *ZooKeeperServer
	WaitUntil(t, "a zookeeper leader", startTimeout, func() bool {
		for _, s := range z.servers {
			if !s.Running() {
				continue
			}
			if mode, err := s.Mode(); err == nil && (mode == "leader" || mode == "standalone") {
				leader = s
				return true
			}
		}
		return false
	})
	return leader
}

// ClientAddr is the server's client address (127.0.0.1:PORT).
func (s *ZooKeeperServer) ClientAddr() string { return s.clientAddr }

// ID is the server's ZooKeeper id (myid).
func (s *ZooKeeperServer) ID() int { return s.id }

// Restart stops the server (SIGTERM, then SIGKILL) if it runs, starts it
// again on its data dir and ports, and waits until it serves clients (in an
// ensemble, the others must have a quorum or form one with it).
func (s *ZooKeeperServer) Restart() {
	s.t.Helper()
	s.Proc.Restart()
	if err := s.waitServing(); err != nil {
		s.t.Fatalf("harness: %v", err)
	}
}

// waitServing polls the srvr command until the server reports a mode, the
// process exits, or startTimeout passes.
func (s *ZooKeeperServer) waitServing() error {
	return waitReady(s.Proc, "serving clients", func() error {
		_, err := s.Mode()
		return err
	})
}

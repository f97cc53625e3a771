package harness

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestFreePortNeverRepeats: a port is handed out once, from below the
// ephemeral range, and stays claimed against other test processes (its
// lock file is held: a second lock, as another process would take it,
// fails).
func TestFreePortNeverRepeats(t *testing.T) {
	seen := map[int]bool{}
	top := min(ephemeralLow(), portsCeiling)
	for range 50 {
		p := FreePort(t)
		if seen[p] {
			t.Fatalf("FreePort handed out %d twice", p)
		}
		seen[p] = true
		if p < portsFloor || p >= top {
			t.Fatalf("FreePort handed out %d, outside [%d, %d)", p, portsFloor, top)
		}
		portsMu.Lock()
		ok, err := tryLockFile(filepath.Join(os.TempDir(), portLocks, strconv.Itoa(p)))
		portsMu.Unlock()
		if err != nil || ok {
			t.Fatalf("port %d is not claimed against other processes (lock taken again: %v, %v)", p, ok, err)
		}
	}
}

func TestHostPorts(t *testing.T) {
	got := hostPorts([]string{"http://127.0.0.1:1", "127.0.0.1:2", "https://127.0.0.1:3"})
	want := []string{"127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("hostPorts = %v, want %v", got, want)
	}
}

func TestEtcdStartKillRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a real etcd; skipped in -short mode")
	}
	c := StartEtcd(t, EtcdOptions{})
	if _, stderr, err := Etcdctl(t, c.Endpoints(), "put", "k", "v"); err != nil {
		t.Fatalf("put: %v: %s", err, stderr)
	}
	m := c.Member(0)
	pid := m.PID()
	m.Kill()
	if m.Running() {
		t.Fatalf("member still running after Kill")
	}
	m.Restart()
	if m.PID() == pid {
		t.Fatalf("Restart kept pid %d", pid)
	}
	out, stderr, err := Etcdctl(t, c.Endpoints(), "get", "k", "--print-value-only")
	if err != nil || out != "v\n" {
		t.Fatalf("get after restart = %q, %v (%s); want \"v\\n\"", out, err, stderr)
	}
	if _, err := Metrics(m.MetricsURL() + "/metrics"); err != nil {
		t.Fatalf("metrics: %v", err)
	}
}

func TestGRPCProxyServes(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a real etcd; skipped in -short mode")
	}
	c := StartEtcd(t, EtcdOptions{})
	p := StartGRPCProxy(t, c.Endpoints())
	if _, stderr, err := Etcdctl(t, []string{p.Endpoint()}, "put", "k", "v"); err != nil {
		t.Fatalf("put through grpc-proxy: %v: %s", err, stderr)
	}
}

func TestZooKeeperStandalone(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a real ZooKeeper; skipped in -short mode")
	}
	z := StartZooKeeper(t, ZooKeeperOptions{})
	mode, err := z.Server(0).Mode()
	if err != nil || mode != "standalone" {
		t.Fatalf("Mode() = %q, %v; want standalone", mode, err)
	}
	if got, want := z.URL("/c"), "zk://"+z.Server(0).ClientAddr()+"/c"; got != want {
		t.Fatalf("URL = %q, want %q", got, want)
	}
}

func TestZooKeeperEnsembleLeaderKill(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a real ZooKeeper ensemble; skipped in -short mode")
	}
	z := StartZooKeeper(t, ZooKeeperOptions{Servers: 3})
	old := z.Leader(t)
	old.Kill()
	if old.Running() {
		t.Fatalf("server %d still running after Kill", old.ID())
	}
	if next := z.Leader(t); next == old {
		t.Fatalf("the killed server %d is still the leader", old.ID())
	}
	old.Restart()
	if mode, err := old.Mode(); err != nil || mode != "follower" {
		t.Fatalf("restarted server: Mode() = %q, %v; want follower", mode, err)
	}
}

package harness

import (
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// EtcdOptions configures StartEtcd. The zero value is a one-member cluster
// with etcd's defaults (simple auth tokens, 1.5 MiB request limit).
type EtcdOptions struct {
	// Members is 1 (default) or 3.
	Members int
	// AuthToken is passed as --auth-token when set (e.g. "jwt,..." or "simple").
	AuthToken string
	// ExtraArgs are appended to every member's command line.
	ExtraArgs []string
	// ClientCertFile and ClientKeyFile, when set, make every member serve
	// its clients over TLS with this certificate (etcd's --cert-file and
	// --key-file; the client URLs are then https://). Health is still
	// checked on the plain-text metrics URL.
	ClientCertFile, ClientKeyFile string
}

// EtcdCluster is a set of etcd processes forming one cluster.
type EtcdCluster struct {
	members []*EtcdMember
}

// EtcdMember is one etcd process of an EtcdCluster.
type EtcdMember struct {
	*Proc
	name       string
	clientURL  string
	peerURL    string
	metricsURL string
}

// StartEtcd starts an etcd cluster of opts.Members processes on free
// 127.0.0.1 ports, each with its data dir under t.TempDir(), and waits until
// every member answers GET /health with 200. Every member is stopped by PID
// when t ends.
func StartEtcd(t testing.TB, opts EtcdOptions) *EtcdCluster {
	t.Helper()
	bins := Binaries(t)
	n := opts.Members
	if n == 0 {
		n = 1
	}
	if n != 1 && n != 3 {
		t.Fatalf("harness: StartEtcd: Members must be 1 or 3, not %d", n)
	}
	dir := t.TempDir()
	clientScheme := "http"
	if opts.ClientCertFile != "" {
		clientScheme = "https"
	}
	c := &EtcdCluster{}
	var initial []string
	for i := range n {
		m := &EtcdMember{
			name:       fmt.Sprintf("m%d", i),
			clientURL:  clientScheme + "://" + FreeAddr(t),
			peerURL:    "http://" + FreeAddr(t),
			metricsURL: "http://" + FreeAddr(t),
		}
		c.members = append(c.members, m)
		initial = append(initial, m.name+"="+m.peerURL)
	}
	token := fmt.Sprintf("herald-test-%d", FreePort(t))
	for _, m := range c.members {
		args := []string{
			"--name", m.name,
			"--data-dir", filepath.Join(dir, m.name+".etcd"),
			"--listen-client-urls", m.clientURL,
			"--advertise-client-urls", m.clientURL,
			"--listen-peer-urls", m.peerURL,
			"--initial-advertise-peer-urls", m.peerURL,
			"--listen-metrics-urls", m.metricsURL,
			"--initial-cluster", strings.Join(initial, ","),
			"--initial-cluster-state", "new",
			"--initial-cluster-token", token,
			"--log-level", "info",
			// bcrypt's least cost, as etcd's own tests use: at the default
			// (10) every Authenticate (each etcdctl --user call) hashes for
			// about 100 ms of a core, and the auth tests spent most of their
			// minute there. Nothing else about auth depends on it.
			"--bcrypt-cost", "4",
		}
		if opts.AuthToken != "" {
			args = append(args, "--auth-token", opts.AuthToken)
		}
		if opts.ClientCertFile != "" {
			args = append(args, "--cert-file", opts.ClientCertFile, "--key-file", opts.ClientKeyFile)
		}
		args = append(args, opts.ExtraArgs...)
		m.Proc = newProc(t, "etcd "+m.name, bins.Etcd, args, filepath.Join(dir, m.name+".log"))
	}
	for _, m := range c.members {
		if err := m.waitHealthy(); err != nil {
			t.Fatalf("harness: %v", err)
		}
	}
	return c
}

// Endpoints are the members' client URLs, in member order.
func (c *EtcdCluster) Endpoints() []string {
	eps := make([]string, len(c.members))
	for i, m := range c.members {
		eps[i] = m.clientURL
	}
	return eps
}

// Member returns member i (0-based).
func (c *EtcdCluster) Member(i int) *EtcdMember { return c.members[i] }

// Size is the number of members.
func (c *EtcdCluster) Size() int { return len(c.members) }

// Name is the member's etcd --name.
func (m *EtcdMember) Name() string { return m.name }

// ClientURL is the member's client URL (http://127.0.0.1:PORT, or https://
// with EtcdOptions.ClientCertFile).
func (m *EtcdMember) ClientURL() string { return m.clientURL }

// MetricsURL is the base URL that serves /metrics and /health.
func (m *EtcdMember) MetricsURL() string { return m.metricsURL }

// Restart stops the member (SIGTERM, then SIGKILL) if it runs, starts it again
// on its data dir and ports, and waits until it is healthy. In a three-member
// cluster the other members must have a quorum for it to become healthy.
func (m *EtcdMember) Restart() {
	m.t.Helper()
	m.Proc.Restart()
	if err := m.waitHealthy(); err != nil {
		m.t.Fatalf("harness: %v", err)
	}
}

func (m *EtcdMember) waitHealthy() error {
	return waitHealthy(m.Proc, m.metricsURL+"/health")
}

// ClientPort is the port of the member's client URL.
func (m *EtcdMember) ClientPort() int {
	_, port, err := net.SplitHostPort(hostPorts([]string{m.clientURL})[0])
	if err != nil {
		return 0
	}
	p, _ := strconv.Atoi(port)
	return p
}

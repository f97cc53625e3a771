package tests

import (
	"strings"
	"testing"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"

	"github.com/heraldproj/herald/tests/harness"
)

// TestAuthByCertificate: etcd runs with --client-cert-auth and auth on, and
// herald's etcd identity is the CN of its client certificate (--cert, no
// --user). herald's own reads and writes act as that user: its fan-out and
// its lease offload come up, and a client with a token gets virtual
// leases, checked with etcd as its own. A client without a token is never
// taken for herald: its calls through herald are refused as a tokenless
// call is ("user name is empty"), as a write, a serializable read of the
// fan-out prefix and a lease grant, although herald's certificate reaches
// etcd with every one of them.
func TestAuthByCertificate(t *testing.T) {
	skipIfShort(t)
	t.Parallel()
	ca := harness.NewCA(t, "etcd-ca")
	server, heraldCert, anonymous := ca.Issue(t, "etcd"), ca.Issue(t, "herald"), ca.Issue(t, "")
	e := harness.StartEtcd(t, harness.EtcdOptions{
		ClientCertFile: server.CertFile, ClientKeyFile: server.KeyFile,
		ExtraArgs: []string{"--client-cert-auth", "--trusted-ca-file", ca.File},
	})
	eps := e.Endpoints()
	tlsFlags := []string{"--cacert", ca.File, "--cert", anonymous.CertFile, "--key", anonymous.KeyFile}
	for _, args := range svcAuthSteps("--no-password") {
		ctl(t, eps, append(tlsFlags, args...)...)
	}
	h := harness.StartHerald(t, harness.HeraldOptions{Endpoints: eps, ExtraArgs: []string{
		"--cacert", ca.File, "--cert", heraldCert.CertFile, "--key", heraldCert.KeyFile,
		"--reserved-prefix", "/_herald/", "--fanout-prefix", "/svc/",
	}})
	for _, gauge := range []string{"herald_fanout_ready", "herald_lease_offload_ready"} {
		harness.WaitUntil(t, gauge+" as herald's certificate user", harness.DefaultPatience, func() bool {
			v, ok := metricValue(h.MetricsURL()+"/metrics", gauge)
			return ok && v == 1
		})
	}
	via := []string{h.Endpoint()}
	const alice = "--user=alice:alicepw"
	out := ctl(t, via, alice, "lease", "grant", "60")
	m := leaseGranted.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("alice's grant through herald: %q", out)
	}
	id := m[1]
	ctl(t, via, alice, "put", "--lease="+id, "/svc/a", "1")
	if out := ctl(t, via, alice, "lease", "timetolive", id, "--keys"); !strings.Contains(out, "/svc/a") {
		t.Errorf("alice's lease through herald: %q; want its key /svc/a", out)
	}
	if out := ctl(t, eps, append(tlsFlags, "--user=root:rootpw", "lease", "timetolive", id)...); !strings.Contains(out, "already expired") {
		t.Errorf("alice's lease %s at etcd: %q; want none (a virtual lease)", id, out)
	}

	for _, args := range [][]string{
		{"put", "/svc/b", "tokenless"},
		{"get", "/svc/", "--prefix", "--consistency=s"},
		{"lease", "grant", "60"},
	} {
		_, stderr, err := harness.Etcdctl(t, via, args...)
		if err == nil || !strings.Contains(stderr, rpctypes.ErrUserEmpty.Error()) {
			t.Errorf("tokenless %v through herald: %v %q; want %q, never herald's rights", args, err, stderr, rpctypes.ErrUserEmpty)
		}
	}
}

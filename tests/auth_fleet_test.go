package tests

import (
	"strings"
	"testing"

	"github.com/heraldproj/herald/tests/harness"
)

// TestAuthFleetLeases: with etcd auth on, a virtual lease granted through
// one herald of a fleet is served through another as etcd serves it, and
// the calls forwarded to its owner are judged with the client's own token
// there: TimeToLive with keys, KeepAlive and Revoke pass while alice may
// write and read every key on her lease, and are refused once a key she
// may not touch joins it.
func TestAuthFleetLeases(t *testing.T) {
	skipIfShort(t)
	t.Parallel()
	e := harness.StartEtcd(t, harness.EtcdOptions{})
	eps := e.Endpoints()
	// The fleet forms before auth is on (the test's fleet checks read the
	// member list without a token); herald's user is ready for it.
	steps := svcAuthSteps("--new-user-password=heraldpw")
	enable := steps[len(steps)-1]
	for _, args := range append(steps[:len(steps)-1],
		[]string{"role", "grant-permission", "herald", "read", fanoutPrefix, "--prefix"},
		[]string{"role", "grant-permission", "herald", "readwrite", "/other/", "--prefix"}) {
		ctl(t, eps, args...)
	}
	fleet := startFleet(t, 2, eps, "--user", "herald:heraldpw", "--reserved-prefix", "/_herald/")
	ctl(t, eps, enable...)
	owner, other := []string{fleet[0].Endpoint()}, []string{fleet[1].Endpoint()}
	const alice, root = "--user=alice:alicepw", "--user=root:rootpw"

	m := leaseGranted.FindStringSubmatch(ctl(t, owner, alice, "lease", "grant", "60"))
	if m == nil {
		t.Fatal("alice's grant through the first herald printed no lease")
	}
	id := m[1]
	if out := ctl(t, eps, root, "lease", "timetolive", id); !strings.Contains(out, "already expired") {
		t.Fatalf("alice's lease %s at etcd: %q; want none (a virtual lease)", id, out)
	}
	ctl(t, other, alice, "put", "--lease="+id, "/svc/a", "1")
	if out := ctl(t, other, alice, "lease", "timetolive", id, "--keys"); !strings.Contains(out, "attached keys([/svc/a])") {
		t.Errorf("alice's TimeToLive --keys through the other herald: %q; want /svc/a", out)
	}
	if out := ctl(t, other, alice, "lease", "keep-alive", "--once", id); !strings.Contains(out, "keepalived with TTL(") {
		t.Errorf("alice's keepalive through the other herald: %q", out)
	}

	ctl(t, other, root, "put", "--lease="+id, "/other/x", "2")
	for _, args := range [][]string{
		{"lease", "timetolive", id, "--keys"},
		{"lease", "keep-alive", "--once", id},
		{"lease", "revoke", id},
		{"put", "--lease=" + id, "/svc/b", "3"},
	} {
		_, stderr, err := harness.Etcdctl(t, other, append([]string{alice}, args...)...)
		if err == nil || !strings.Contains(stderr, "etcdserver: permission denied") {
			t.Errorf("alice's %v through the other herald, with /other/x on her lease: %v %q; want etcd's permission denied", args, err, stderr)
		}
	}
	ctl(t, other, root, "lease", "revoke", id)
	if out := ctl(t, eps, root, "get", "/", "--prefix", "--keys-only"); strings.Contains(out, "/svc/a") || strings.Contains(out, "/other/x") {
		t.Errorf("after root's revoke through the other herald, etcd still has %q", out)
	}
}

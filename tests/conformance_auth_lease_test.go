package tests

import (
	"strings"
	"testing"

	"github.com/heraldproj/herald/tests/harness"
)

// heraldAuthArgs start herald with an etcd user of its own (created by
// addHeraldUser), lease offloading and the fan-out of /svc/ on. Its
// reserved prefix is printable, so that etcdctl can grant it.
var heraldAuthArgs = []string{"--user", "herald:heraldpw", "--reserved-prefix", "/_herald/", "--fanout-prefix", "/svc/"}

// addHeraldUser creates herald's etcd user with the smallest role that
// offloading needs (docs/design.md, "etcd auth"): readwrite on its
// reserved prefix and on the prefixes where clients put leased keys. The
// direct session creates it too, so that both sessions list the same users.
func addHeraldUser(s *session) {
	s.run("role", "add", "herald")
	s.run("role", "grant-permission", "herald", "readwrite", "/_herald/", "--prefix")
	for _, p := range []string{"/svc/", "/other/", "foo", "bar"} {
		s.run("role", "grant-permission", "herald", "readwrite", p, "--prefix")
	}
	s.run("user", "add", "herald", "--new-user-password=heraldpw")
	s.run("user", "grant-role", "herald", "herald")
}

// svcAuthSteps are the etcdctl commands that set up the auth tests' etcd:
// root; herald's user, with the least role that offloading needs on /svc/
// (heraldPassword: its password flag, or --no-password for a certificate
// user); alice, with readwrite on /svc/; then auth on.
func svcAuthSteps(heraldPassword string) [][]string {
	return [][]string{
		{"user", "add", "root", "--new-user-password=rootpw"},
		{"role", "add", "herald"},
		{"role", "grant-permission", "herald", "readwrite", "/_herald/", "--prefix"},
		{"role", "grant-permission", "herald", "readwrite", "/svc/", "--prefix"},
		{"user", "add", "herald", heraldPassword},
		{"user", "grant-role", "herald", "herald"},
		{"role", "add", "svc"},
		{"role", "grant-permission", "svc", "readwrite", "/svc/", "--prefix"},
		{"user", "add", "alice", "--new-user-password=alicepw"},
		{"user", "grant-role", "alice", "svc"},
		{"auth", "enable"},
	}
}

// expectVirtual fails the test unless, through herald, lease {name} is
// virtual: etcd itself does not know it (flags: the user to ask etcd as).
func (s *session) expectVirtual(name string, flags ...string) {
	s.t.Helper()
	if s.tgt.herald == nil {
		return
	}
	out, stderr, err := harness.Etcdctl(s.t, s.tgt.upstream.Endpoints(), append(flags, "lease", "timetolive", s.vars[name])...)
	if err != nil || !strings.Contains(out, "already expired") {
		s.t.Errorf("%s: lease %s is etcd's, not virtual: %q %q %v", s.tgt.name, s.vars[name], out, stderr, err)
	}
}

// TestConformanceAuthOffload is TestConformanceAuth's scenario with herald
// holding an etcd user of its own: lease offloading and the fan-out serve
// authenticated clients, and every answer is still etcd's.
func TestConformanceAuthOffload(t *testing.T) {
	conformance(t, harness.EtcdOptions{}, func(s *session) {
		addHeraldUser(s)
		authScenario(s)
	}, heraldAuthArgs...)
}

// TestConformanceAuthLease: virtual leases for authenticated clients keep
// etcd's permission model exactly. A Put with a lease needs write
// permission on the key and on every key already on the lease; TimeToLive
// with keys needs read permission on them, Revoke and KeepAlive write
// permission; Grant and TimeToLive need a valid token. A revoked
// permission and a deleted user take effect at once. etcdctl's lock
// (concurrency Session and Mutex) works for a user with write permission
// on the lock's prefix and is refused for one without. Through herald each
// granted lease is checked to be virtual.
func TestConformanceAuthLease(t *testing.T) {
	conformance(t, harness.EtcdOptions{}, func(s *session) {
		const root, alice, bob = "--user=root:rootpw", "--user=alice:alicepw", "--user=bob:bobpw"
		const denied, noUser = "etcdserver: permission denied", "etcdserver: user name is empty"
		s.run("user", "add", "root", "--new-user-password=rootpw")
		addHeraldUser(s)
		s.run("role", "add", "svc")
		s.run("role", "grant-permission", "svc", "readwrite", "/svc/", "--prefix")
		s.run("role", "add", "svc-reader")
		s.run("role", "grant-permission", "svc-reader", "read", "/svc/", "--prefix")
		s.run("user", "add", "alice", "--new-user-password=alicepw")
		s.run("user", "grant-role", "alice", "svc")
		s.run("user", "add", "bob", "--new-user-password=bobpw")
		s.run("user", "grant-role", "bob", "svc-reader")
		s.run("auth", "enable")

		s.grant("l1", 100, alice)
		s.expectVirtual("l1", root)
		s.run(alice, "put", "--lease={l1}", "/svc/a", "1")
		s.expectStderr(s.run(alice, "put", "--lease={l1}", "/other/x", "1"), denied)
		s.expectStderr(s.run(bob, "put", "--lease={l1}", "/svc/b", "1"), denied)
		s.run(alice, "lease", "timetolive", "{l1}", "--keys")
		s.run(bob, "lease", "timetolive", "{l1}", "--keys")
		s.expectStderr(s.run(bob, "lease", "revoke", "{l1}"), denied)

		// A key alice may not write joins her lease: etcd's checkLeasePuts
		// refuses her every Put with the lease, and her revoke; she may no
		// longer list its keys, nor keep it alive, but still see its TTL.
		s.run(alice, "lease", "keep-alive", "--once", "{l1}")
		s.run(root, "put", "--lease={l1}", "/other/x", "2")
		s.expectStderr(s.run(alice, "put", "--lease={l1}", "/svc/b", "1"), denied)
		s.expectStderr(s.run(alice, "lease", "timetolive", "{l1}", "--keys"), denied)
		s.run(alice, "lease", "timetolive", "{l1}")
		s.expectStderr(s.run(alice, "lease", "revoke", "{l1}"), denied)
		s.expectStderr(s.run(alice, "lease", "keep-alive", "--once", "{l1}"), denied)
		s.run(root, "lease", "keep-alive", "--once", "{l1}")
		s.run(alice, "put", "/svc/plain", "no lease")
		s.run(root, "lease", "timetolive", "{l1}", "--keys")

		// Without a token, etcd refuses everything, keepalives too.
		s.expectStderr(s.run("lease", "keep-alive", "--once", "{l1}"), noUser)
		s.expectStderr(s.run("lease", "grant", "10"), noUser)
		s.expectStderr(s.run("lease", "timetolive", "{l1}"), noUser)
		s.expectStderr(s.run("lease", "revoke", "{l1}"), noUser)
		s.expectStderr(s.run("put", "--lease={l1}", "/svc/c", "1"), noUser)
		s.expectStderr(s.run("--user=alice:wrong", "lease", "grant", "10"), "authentication failed, invalid user ID or password")

		s.run(root, "del", "/other/x")
		s.run(alice, "put", "--lease={l1}", "/svc/b", "2")
		s.run(alice, "lease", "timetolive", "{l1}", "--keys")

		// A revoked permission takes effect at once, and so does its
		// return.
		s.run(root, "role", "revoke-permission", "svc", "/svc/", "--prefix")
		s.expectStderr(s.run(alice, "put", "--lease={l1}", "/svc/c", "3"), denied)
		s.expectStderr(s.run(alice, "lease", "revoke", "{l1}"), denied)
		s.run(root, "role", "grant-permission", "svc", "readwrite", "/svc/", "--prefix")
		s.run(alice, "lease", "revoke", "{l1}")
		s.run(root, "get", "/svc/", "--prefix")
		s.run(alice, "lease", "timetolive", "{l1}")

		// etcdctl lock: a Session (a lease) and a Mutex (a leased Put and
		// a txn) as alice; bob may read the prefix but not write it.
		s.run(alice, "lock", "/svc/lock", "echo", "held")
		s.expectStderr(s.run(bob, "lock", "/svc/lock", "echo", "held"), "permission denied")

		// A deleted user's next call fails, and its lease lives on.
		s.grant("l2", 100, alice)
		s.expectVirtual("l2", root)
		s.run(alice, "put", "--lease={l2}", "/svc/d", "4")
		s.run(root, "user", "delete", "alice")
		s.expectStderr(s.run(alice, "put", "--lease={l2}", "/svc/e", "5"), "authentication failed, invalid user ID or password")
		s.run(root, "lease", "timetolive", "{l2}", "--keys")
		s.run(root, "lease", "revoke", "{l2}")
		s.run(root, "get", "/svc/", "--prefix", "--keys-only")
		s.run(root, "lease", "list")
		s.run(root, "auth", "disable")
	}, heraldAuthArgs...)
}

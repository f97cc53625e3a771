package tests

import (
	"testing"

	"github.com/heraldproj/herald/tests/harness"
)

// TestConformanceAuth: users, roles, permissions, auth enable/disable, and
// the errors a user without permission (or without credentials) gets.
func TestConformanceAuth(t *testing.T) {
	conformance(t, harness.EtcdOptions{}, authScenario)
}

// authScenario is TestConformanceAuth's session.
func authScenario(s *session) {
	root := "--user=root:rootpw"
	s.run("user", "add", "root", "--new-user-password=rootpw")
	s.run("role", "add", "reader")
	s.run("role", "grant-permission", "reader", "read", "foo")
	s.run("role", "grant-permission", "reader", "readwrite", "bar", "--prefix")
	s.run("role", "get", "reader")
	s.run("user", "add", "alice", "--new-user-password=alicepw")
	s.run("user", "grant-role", "alice", "reader")
	s.run("user", "add", "bob", "--new-user-password=bobpw")
	s.run("user", "list")
	s.run("role", "list")
	s.run("user", "get", "alice")
	s.run("user", "grant-role", "bob", "nosuchrole")
	s.run("user", "add", "alice", "--new-user-password=again")
	s.run("auth", "enable")
	s.run("auth", "status")

	s.run(root, "put", "foo", "bar")
	s.run("--user=alice:alicepw", "get", "foo")
	s.expectStderr(s.run("--user=alice:alicepw", "put", "foo", "nope"), "Error: etcdserver: permission denied")
	s.run("--user=alice:alicepw", "put", "bar/1", "ok")
	s.run("--user=alice:alicepw", "get", "bar/", "--prefix")
	s.run("--user=alice:alicepw", "del", "foo")
	s.run("--user=alice:alicepw", "user", "list")
	s.expectStderr(s.run("--user=bob:bobpw", "get", "foo"), "Error: etcdserver: permission denied")
	s.run("--user=bob:bobpw", "lease", "grant", "10")
	s.expectStderr(s.run("--user=bob:bobpw", "watch", "foo"), "watch was canceled (rpc error: code = PermissionDenied desc = etcdserver: permission denied)")
	s.expectStderr(s.run("--user=bob:wrong", "get", "foo"), "authentication failed, invalid user ID or password")
	s.run("--user=nobody:pw", "get", "foo")
	s.expectStderr(s.run("get", "foo"), "Error: etcdserver: user name is empty")
	s.run("put", "foo", "x")
	s.input("value(\"foo\") = \"bar\"\n\nput foo v2\n\n\n", "--user=alice:alicepw", "txn", "-i")
	s.run(root, "user", "revoke-role", "alice", "reader")
	s.run("--user=alice:alicepw", "get", "foo")
	s.run(root, "role", "revoke-permission", "reader", "foo")
	s.input("bob2\n", root, "user", "passwd", "bob", "--interactive=false")
	s.run("--user=bob:bob2", "get", "foo")
	s.run(root, "user", "delete", "bob")
	s.run(root, "role", "delete", "reader")
	s.run(root, "auth", "status")
	s.run(root, "auth", "disable")
	s.run("get", "foo")
	s.run("auth", "disable")
}

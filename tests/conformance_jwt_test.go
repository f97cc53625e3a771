package tests

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"

	"github.com/heraldproj/herald/tests/harness"
)

// jwtEtcdOptions configures etcd for JWT auth tokens signed with a fresh
// RSA key written under t.TempDir().
func jwtEtcdOptions(t *testing.T) harness.EtcdOptions {
	t.Helper()
	return jwtEtcdOptionsTTL(t, "10m")
}

// jwtEtcdOptionsTTL is jwtEtcdOptions with tokens that expire after ttl.
func jwtEtcdOptionsTTL(t *testing.T, ttl string) harness.EtcdOptions {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	privPath, pubPath := filepath.Join(dir, "jwt.key"), filepath.Join(dir, "jwt.pub")
	writePEM(t, privPath, "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(key))
	writePEM(t, pubPath, "PUBLIC KEY", pub)
	return harness.EtcdOptions{AuthToken: "jwt,pub-key=" + pubPath + ",priv-key=" + privPath + ",sign-method=RS256,ttl=" + ttl}
}

func writePEM(t *testing.T, path, kind string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestConformanceAuthJWT: the permission checks of TestConformanceAuth with
// JWT tokens, which etcd verifies by signature rather than by lookup.
func TestConformanceAuthJWT(t *testing.T) {
	conformance(t, jwtEtcdOptions(t), func(s *session) {
		root := "--user=root:rootpw"
		s.run("user", "add", "root", "--new-user-password=rootpw")
		s.run("role", "add", "reader")
		s.run("role", "grant-permission", "reader", "read", "pub/", "--prefix")
		s.run("user", "add", "carol", "--new-user-password=carolpw")
		s.run("user", "grant-role", "carol", "reader")
		s.run("auth", "enable")
		s.run(root, "put", "pub/a", "1")
		s.run(root, "put", "secret", "2")
		s.run("--user=carol:carolpw", "get", "pub/", "--prefix")
		s.expectStderr(s.run("--user=carol:carolpw", "put", "pub/a", "x"), "Error: etcdserver: permission denied")
		s.expectStderr(s.run("--user=carol:carolpw", "get", "secret"), "Error: etcdserver: permission denied")
		s.expectStderr(s.run("--user=carol:wrong", "get", "pub/a"), "authentication failed, invalid user ID or password")
		s.run(root, "auth", "disable")
		s.run("get", "secret")
	})
}

package tests

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/heraldproj/herald/tests/harness"
)

// TestNodeEtcd3Client runs the Node.js etcd3 client (npm "etcd3") through
// the same scenario against etcd and through herald, and expects the same
// observations: KV, prefix reads, leases kept alive and expiring, watch
// events, a txn, a lock, and the errors for a bad lease and an empty key.
// `make test` installs the client with `npm ci --prefix tests/node`.
func TestNodeEtcd3Client(t *testing.T) {
	skipIfShort(t)
	t.Parallel()
	root := harness.RepoRoot(t)
	dir := filepath.Join(root, "tests", "node")
	if _, err := exec.LookPath("node"); err != nil {
		t.Fatalf("node is not installed: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "etcd3")); err != nil {
		t.Fatalf("the etcd3 client is not installed; run `npm ci --prefix tests/node` (make test does): %v", err)
	}
	run := func(endpoint string) []string {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "node", "client.js", endpoint)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("node client against %s: %v\n%s", endpoint, err, out)
		}
		return strings.Split(strings.TrimSpace(string(out)), "\n")
	}

	direct := harness.StartEtcd(t, harness.EtcdOptions{})
	behind := harness.StartEtcd(t, harness.EtcdOptions{})
	h := harness.StartHerald(t, harness.HeraldOptions{Endpoints: behind.Endpoints()})

	want, got := run(direct.Endpoints()[0]), run(h.Endpoint())
	if len(want) < 10 || want[len(want)-1] != "done" {
		t.Fatalf("the scenario did not run to the end against etcd:\n%s", strings.Join(want, "\n"))
	}
	if strings.Join(want, "\n") != strings.Join(got, "\n") {
		t.Fatalf("etcd3 (Node.js) sees herald differently from etcd\netcd:\n%s\n\nherald:\n%s", strings.Join(want, "\n"), strings.Join(got, "\n"))
	}
	for _, line := range want {
		t.Log(line)
	}
}

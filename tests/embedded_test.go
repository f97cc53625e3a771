package tests

import (
	"testing"

	"github.com/heraldproj/herald/tests/harness"
)

// TestEmbeddedSurvivesRestart: herald with no upstream runs its embedded etcd,
// answers etcdctl, and keeps the data across a restart.
func TestEmbeddedSurvivesRestart(t *testing.T) {
	skipIfShort(t)
	t.Parallel()
	h := harness.StartHerald(t, harness.HeraldOptions{})
	eps := []string{h.Endpoint()}
	if _, stderr, err := harness.Etcdctl(t, eps, "put", "durable", "yes"); err != nil {
		t.Fatalf("put through embedded herald: %v: %s", err, stderr)
	}
	pid := h.PID()
	h.Restart()
	if h.PID() == pid {
		t.Fatalf("Restart kept pid %d", pid)
	}
	out, stderr, err := harness.Etcdctl(t, eps, "get", "durable", "--print-value-only")
	if err != nil || out != "yes\n" {
		t.Fatalf("get after restart = %q, %v (%s); want \"yes\\n\"", out, err, stderr)
	}
}

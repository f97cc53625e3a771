package tests

import (
	"testing"

	"github.com/heraldproj/herald/tests/harness"
)

// TestMain fails the package if a goroutine of the tests' own (a client, a
// workload, a watcher) outlives them. It checks once, after every test,
// so that the tests can run side by side: a check per test would take the
// other tests' goroutines for leaks.
func TestMain(m *testing.M) { harness.VerifyTestMain(sharedStopped{m}) }

// sharedStopped runs the tests, then stops the ZooKeeper they shared.
type sharedStopped struct{ m *testing.M }

func (s sharedStopped) Run() int {
	code := s.m.Run()
	harness.StopSharedZooKeeper()
	return code
}

package etcd

import (
	"testing"

	"github.com/heraldproj/herald/tests/harness"
)

// TestMain fails the package if a goroutine outlives the tests: every
// embedded member and client a test starts (the endpoint logger of
// AutoSyncInterval included) must stop all of its own when closed.
func TestMain(m *testing.M) { harness.VerifyTestMain(m) }

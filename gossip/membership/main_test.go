package membership

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if a goroutine outlives the tests.
// memberlist's Shutdown does not wait for an in-flight probe, which sits on
// its ack timer for up to a few probe intervals; that goroutine is
// memberlist's, ends by itself, and is the only one allowed to outlive Close.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreAnyFunction("github.com/hashicorp/memberlist.(*Memberlist).probeNode"))
}

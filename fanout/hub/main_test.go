package hub_test

import (
	"testing"

	"github.com/heraldproj/herald/tests/harness"
)

// TestMain checks, with goleak, that every goroutine the package started
// (hubs, their streams, the servers and etcd members of the tests) is gone.
func TestMain(m *testing.M) { harness.VerifyTestMain(m) }

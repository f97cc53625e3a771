package status

import (
	"testing"

	"github.com/heraldproj/herald/tests/harness"
)

// TestMain fails the package if a goroutine outlives the tests: Collect
// starts one per peer and must wait for them all.
func TestMain(m *testing.M) { harness.VerifyTestMain(m) }

package clock

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if a goroutine outlives the tests: WithTimeout
// on a clock with timers only starts one, which its cancel must end.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

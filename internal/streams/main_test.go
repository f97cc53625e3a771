package streams

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if Receive's goroutine outlives a test.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

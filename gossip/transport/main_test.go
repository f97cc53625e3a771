package transport

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if a goroutine (a connection's reader or
// writer, an accept loop) outlives the tests.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

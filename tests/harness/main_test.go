package harness

import "testing"

// TestMain fails the package if a goroutine outlives the tests (a
// TCPProxy's pumps, a process's waiter).
func TestMain(m *testing.M) { VerifyTestMain(m) }

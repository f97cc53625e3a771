package main

import (
	"testing"

	"github.com/heraldproj/herald/tests/harness"
)

// TestMain fails the package if a goroutine outlives the tests: every
// herald the tests run in-process must stop all of its own.
func TestMain(m *testing.M) { harness.VerifyTestMain(m) }

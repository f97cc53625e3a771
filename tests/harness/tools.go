package harness

import (
	"fmt"
	"os"
	"os/exec"
	"testing"
)

// Tool finds a command the tests need from a Debian package. Where it is
// missing the test is skipped with the package to install, except under
// HERALD_CI=1 (.ci/run, which installs every such package): there a missing
// tool fails the test, so CI never passes by skipping.
func Tool(t testing.TB, name, debianPackage string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	missing(t, fmt.Sprintf("%s not found", name), debianPackage)
	return ""
}

// missing skips t for want of a Debian package, or fails it under
// HERALD_CI=1.
func missing(t testing.TB, what, debianPackage string) {
	t.Helper()
	if os.Getenv("HERALD_CI") == "1" {
		t.Fatalf("harness: %s (Debian package %s), and HERALD_CI=1 requires it", what, debianPackage)
	}
	t.Skipf("harness: %s: apt-get install %s (.ci/run does)", what, debianPackage)
}

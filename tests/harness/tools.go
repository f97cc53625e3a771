package harness

import (
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
	if os.Getenv("HERALD_CI") == "1" {
		t.Fatalf("harness: %s not found (Debian package %s), and HERALD_CI=1 requires it", name, debianPackage)
	}
	t.Skipf("harness: %s not found: apt-get install %s (.ci/run does)", name, debianPackage)
	return ""
}

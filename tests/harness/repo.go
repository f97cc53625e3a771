package harness

import (
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

var (
	repoRootOnce sync.Once
	repoRootDir  string
	repoRootErr  error
)

// RepoRoot returns the directory holding herald's go.mod, found by walking up
// from the working directory of the test.
func RepoRoot(t testing.TB) string {
	t.Helper()
	repoRootOnce.Do(func() { repoRootDir, repoRootErr = findRepoRoot() })
	if repoRootErr != nil {
		t.Fatalf("harness: %v", repoRootErr)
	}
	return repoRootDir
}

func findRepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("harness: no go.mod above the working directory")
		}
		dir = parent
	}
}

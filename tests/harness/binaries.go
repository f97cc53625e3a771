package harness

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// Bins holds the absolute paths of the binaries the harness runs.
type Bins struct {
	Etcd    string
	Etcdctl string
	Herald  string

	// heraldErr is why herald could not be built, if it could not; only
	// StartHerald fails on it, so tests of etcd alone still run.
	heraldErr error
}

// The etcd modules whose binaries are built, as pinned in go.mod.
const (
	etcdServerModule  = "go.etcd.io/etcd/server/v3"
	etcdctlModule     = "go.etcd.io/etcd/etcdctl/v3"
	etcdVersionFile   = ".etcd-version"
	buildLockFile     = ".build.lock"
	heraldMainPackage = "./cmd/herald"
)

var (
	binsOnce sync.Once
	bins     Bins
	binsErr  error
)

// Binaries builds, once per test process, etcd and etcdctl from the modules
// pinned in go.mod (skipped when <repo>/bin/.etcd-version already records
// those versions and both binaries exist) and herald from ./cmd/herald (always,
// go build is incremental). A file lock in <repo>/bin keeps test packages that
// run in parallel from building over each other.
func Binaries(t testing.TB) Bins {
	t.Helper()
	root := RepoRoot(t)
	binsOnce.Do(func() { bins, binsErr = buildBinaries(root) })
	if binsErr != nil {
		t.Fatalf("harness: %v", binsErr)
	}
	return bins
}

func buildBinaries(root string) (Bins, error) {
	binDir := filepath.Join(root, "bin")
	if err := os.MkdirAll(binDir, 0o755); err != nil {
		return Bins{}, err
	}
	unlock, err := LockFile(filepath.Join(binDir, buildLockFile))
	if err != nil {
		return Bins{}, fmt.Errorf("lock %s: %w", buildLockFile, err)
	}
	defer unlock()

	b := Bins{
		Etcd:    filepath.Join(binDir, "etcd"),
		Etcdctl: filepath.Join(binDir, "etcdctl"),
		Herald:  filepath.Join(binDir, "herald"),
	}
	want, err := goModVersions(root)
	if err != nil {
		return Bins{}, err
	}
	if !etcdBinariesCurrent(b, filepath.Join(binDir, etcdVersionFile), want) {
		if err := goBuild(root, b.Etcd, etcdServerModule); err != nil {
			return Bins{}, err
		}
		if err := goBuild(root, b.Etcdctl, etcdctlModule); err != nil {
			return Bins{}, err
		}
		if err := os.WriteFile(filepath.Join(binDir, etcdVersionFile), []byte(want), 0o644); err != nil {
			return Bins{}, err
		}
	}
	b.heraldErr = goBuild(root, b.Herald, heraldMainPackage)
	return b, nil
}

// goModVersions returns "module version" lines for the etcd modules, as the
// go command resolves them from go.mod.
func goModVersions(root string) (string, error) {
	cmd := exec.Command("go", "list", "-m", "-f", "{{.Path}} {{.Version}}", etcdServerModule, etcdctlModule)
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go list -m etcd modules: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	return string(out), nil
}

func etcdBinariesCurrent(b Bins, versionFile, want string) bool {
	have, err := os.ReadFile(versionFile)
	if err != nil || string(have) != want {
		return false
	}
	for _, p := range []string{b.Etcd, b.Etcdctl} {
		if _, err := os.Stat(p); err != nil {
			return false
		}
	}
	return true
}

func goBuild(root, out, pkg string) error {
	cmd := exec.Command("go", "build", "-o", out, pkg)
	cmd.Dir = root
	combined, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("go build -o %s %s: %w\n%s", out, pkg, err, combined)
	}
	return nil
}

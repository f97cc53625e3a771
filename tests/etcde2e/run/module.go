package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// testsModule is etcd's e2e suite; its version is the one herald's go.mod
// pins for go.etcd.io/etcd/server/v3.
const testsModule = "go.etcd.io/etcd/tests/v3"

// workspace is the work dir: the module copy, its test binaries and the two
// bin dirs the framework is pointed at.
type workspace struct {
	dir       string // e.g. $TMPDIR/herald-etcd-e2e
	version   string
	src       string // the module copy
	proxyBin  string // etcd, etcdctl, etcdutl: the real ones
	heraldBin string // etcd is etcdwrap; etcd-real, herald beside it
	logs      string
	portsLock string // taken around each test: the framework's ports are fixed
}

func newWorkspace(dir, version string) *workspace {
	return &workspace{
		dir: dir, version: version,
		src:       filepath.Join(dir, "src-"+version),
		proxyBin:  filepath.Join(dir, "bin-grpc-proxy"),
		heraldBin: filepath.Join(dir, "bin-herald"),
		logs:      filepath.Join(dir, "logs"),
	}
}

func (w *workspace) testBinary(pkg string) string {
	return filepath.Join(w.dir, "tests-"+w.version, pkg+".test")
}

// pinnedVersion reads the etcd version from herald's go.mod.
func pinnedVersion() (string, error) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Version}}", "go.etcd.io/etcd/server/v3").Output()
	if err != nil {
		return "", fmt.Errorf("go list -m go.etcd.io/etcd/server/v3: %w", err)
	}
	return strings.TrimSpace(string(out)), nil
}

// prepareModule copies the tests module into the work dir unless a copy is
// there, and builds the test binaries and etcdutl unless they are built.
func (w *workspace) prepareModule() error {
	if _, err := os.Stat(filepath.Join(w.src, "go.mod")); err != nil {
		if err := w.copyModule(); err != nil {
			return err
		}
	}
	builds := []struct {
		out  string
		args []string
	}{
		// etcdutl is not in herald's module; the tests module requires it.
		{filepath.Join(w.dir, "tests-"+w.version, "etcdutl"), []string{"build", "go.etcd.io/etcd/etcdutl/v3"}},
		{w.testBinary("e2e"), []string{"test", "-c", "-tags", "cluster_proxy", "./e2e"}},
		// common's e2e_test.go (build tag e2e) picks the e2e runner.
		{w.testBinary("common"), []string{"test", "-c", "-tags", "e2e,cluster_proxy", "./common"}},
	}
	for _, b := range builds {
		if _, err := os.Stat(b.out); err == nil {
			continue
		}
		args := append([]string{b.args[0], "-mod=mod", "-o", b.out}, b.args[1:]...)
		logf("building %s", b.out)
		cmd := exec.Command("go", args...)
		cmd.Dir, cmd.Stdout, cmd.Stderr = w.src, os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("go %s: %w", strings.Join(args, " "), err)
		}
	}
	return nil
}

// copyModule downloads the module, copies it writable and makes its go.mod
// stand alone: the replace lines point into etcd's repository (../server,
// …), and go.etcd.io/etcd/cache/v3 is needed only by the integration tests.
func (w *workspace) copyModule() error {
	out, err := exec.Command("go", "mod", "download", "-json", testsModule+"@"+w.version).Output()
	if err != nil {
		return fmt.Errorf("go mod download %s@%s: %w", testsModule, w.version, err)
	}
	var dl struct{ Dir string }
	if err := json.Unmarshal(out, &dl); err != nil || dl.Dir == "" {
		return fmt.Errorf("go mod download: no Dir in %s", out)
	}
	logf("copying %s to %s", dl.Dir, w.src)
	tmp := w.src + ".tmp"
	_ = os.RemoveAll(tmp)
	if err := os.CopyFS(tmp, os.DirFS(dl.Dir)); err != nil {
		return fmt.Errorf("copy module: %w", err)
	}
	if err := filepath.Walk(tmp, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Chmod(p, fi.Mode()|0o200)
	}); err != nil {
		return err
	}
	edit := []string{"mod", "edit", "-droprequire=go.etcd.io/etcd/cache/v3", "-toolchain=none"}
	modJSON, err := goIn(tmp, "mod", "edit", "-json")
	if err != nil {
		return err
	}
	var mod struct {
		Replace []struct{ Old, New struct{ Path string } }
	}
	if err := json.Unmarshal(modJSON, &mod); err != nil {
		return fmt.Errorf("go mod edit -json: %w", err)
	}
	for _, r := range mod.Replace {
		if strings.HasPrefix(r.New.Path, "../") {
			edit = append(edit, "-dropreplace="+r.Old.Path)
		}
	}
	if _, err := goIn(tmp, edit...); err != nil {
		return err
	}
	return os.Rename(tmp, w.src)
}

func goIn(dir string, args ...string) ([]byte, error) {
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go %s: %w: %s", strings.Join(args, " "), err, stderr.String())
	}
	return out, nil
}

// prepareBins fills the two bin dirs. Binaries are copied, not linked, so
// that every process of a run has its executable under the work dir and
// can be found by sweep after a test that timed out.
func (w *workspace) prepareBins(heraldBins string) error {
	etcdutl := filepath.Join(w.dir, "tests-"+w.version, "etcdutl")
	copies := map[string]string{
		filepath.Join(w.proxyBin, "etcd"):       filepath.Join(heraldBins, "etcd"),
		filepath.Join(w.proxyBin, "etcdctl"):    filepath.Join(heraldBins, "etcdctl"),
		filepath.Join(w.proxyBin, "etcdutl"):    etcdutl,
		filepath.Join(w.heraldBin, "etcd-real"): filepath.Join(heraldBins, "etcd"),
		filepath.Join(w.heraldBin, "etcdctl"):   filepath.Join(heraldBins, "etcdctl"),
		filepath.Join(w.heraldBin, "etcdutl"):   etcdutl,
		filepath.Join(w.heraldBin, "herald"):    filepath.Join(heraldBins, "herald"),
	}
	for _, d := range []string{w.proxyBin, w.heraldBin, w.logs} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	for dst, src := range copies {
		if err := copyFile(src, dst); err != nil {
			return err
		}
	}
	wrap := exec.Command("go", "build", "-o", filepath.Join(w.heraldBin, "etcd"), "./tests/etcde2e/etcdwrap")
	wrap.Stdout, wrap.Stderr = os.Stderr, os.Stderr
	if err := wrap.Run(); err != nil {
		return fmt.Errorf("build etcdwrap: %w", err)
	}
	// One fleet key for every herald of the run (32 bytes, fixed: the
	// fleets are on 127.0.0.1 and live for one test).
	key := bytes.Repeat([]byte("herald-etcd-e2e!"), 2)
	return os.WriteFile(filepath.Join(w.heraldBin, "gossip.key"), key, 0o600)
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	_ = os.Remove(dst)
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("copy %s: %w", src, err)
	}
	return out.Close()
}

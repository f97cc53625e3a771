package harness

import (
	"os"
	"path/filepath"
	"testing"
)

// TestEtcdBinariesCurrent: the cache of bin/etcd and bin/etcdctl is used only
// when both exist and bin/.etcd-version records exactly the wanted versions.
func TestEtcdBinariesCurrent(t *testing.T) {
	const want = "go.etcd.io/etcd/server/v3 v3.7.3\ngo.etcd.io/etcd/etcdctl/v3 v3.7.3\n"
	for _, tc := range []struct {
		name     string
		version  string // "" leaves the version file out
		binaries []string
		current  bool
	}{
		{"all there", want, []string{"etcd", "etcdctl"}, true},
		{"no version file", "", []string{"etcd", "etcdctl"}, false},
		{"other version", "go.etcd.io/etcd/server/v3 v3.6.0\ngo.etcd.io/etcd/etcdctl/v3 v3.6.0\n", []string{"etcd", "etcdctl"}, false},
		{"no etcdctl", want, []string{"etcd"}, false},
		{"no etcd", want, []string{"etcdctl"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for _, b := range tc.binaries {
				if err := os.WriteFile(filepath.Join(dir, b), nil, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			versionFile := filepath.Join(dir, etcdVersionFile)
			if tc.version != "" {
				if err := os.WriteFile(versionFile, []byte(tc.version), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			b := Bins{Etcd: filepath.Join(dir, "etcd"), Etcdctl: filepath.Join(dir, "etcdctl")}
			if got := etcdBinariesCurrent(b, versionFile, want); got != tc.current {
				t.Errorf("etcdBinariesCurrent = %v, want %v", got, tc.current)
			}
		})
	}
}

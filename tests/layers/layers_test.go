package layers

import (
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/heraldproj/herald"

type pkg struct {
	ImportPath string
	Dir        string
	Doc        string
	Imports    []string
	Name       string
}

func listPackages(t *testing.T) []pkg {
	t.Helper()
	out, err := exec.Command("go", "list", "-json", module+"/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	var pkgs []pkg
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) < 5 {
		t.Fatalf("go list found %d packages; the test would check nothing", len(pkgs))
	}
	return pkgs
}

// rel is a package's path inside the module ("" for the root).
func rel(p string) string { return strings.TrimPrefix(strings.TrimPrefix(p, module), "/") }

func under(p string, dirs ...string) bool {
	for _, d := range dirs {
		if p == d || strings.HasPrefix(p, d+"/") {
			return true
		}
	}
	return false
}

// seams: an import (by path prefix) and where it may be imported directly.
var seams = []struct {
	imp     string
	allowed []string
}{
	{"go.etcd.io/etcd/client/v3", []string{"upstream", "tests"}},
	{"github.com/go-zookeeper/zk", []string{"upstream"}},
	{"github.com/hashicorp/memberlist", []string{"gossip/membership"}},
	{"github.com/spf13/viper", []string{"cmd"}},
	{"github.com/spf13/cobra", []string{"cmd"}},
	{"google.golang.org/grpc", []string{"proxy", "upstream", "tests", "gossip/transport"}},
	{"go.etcd.io/etcd/server/v3", []string{"upstream", "proxy", "tests"}},
}

// pure cores: state machines with no I/O, goroutines of their own or clocks.
// These packages exactly: their drivers live below them (fanout/feed,
// fanout/hub, lease/offload) and do I/O.
var pureCores = []string{"lease", "gossip/plumtree", "fanout"}

func isPureCore(p string) bool { return slices.Contains(pureCores, p) }

var ioImports = []string{"net", "os", "os/exec", "syscall", "log", "log/slog", "google.golang.org/grpc"}

// impure are calls a pure core must not make: the clock, sleeps, timers,
// goroutines and the global random source (an injected *rand.Rand is fine).
var impure = regexp.MustCompile(`\btime\.(Now|Since|Until|Sleep|After|AfterFunc|Tick|NewTimer|NewTicker)\(|^\s*go\s+(func\b|[A-Za-z_.]+\()|\brand\.(Int|IntN|Intn|Int64|Int64N|Uint32|Uint64|Float64|Float32|Perm|Shuffle|N|ExpFloat64|NormFloat64)\(`)

func TestPureCoresDoNoIO(t *testing.T) {
	checked := 0
	found := map[string]bool{}
	for _, p := range listPackages(t) {
		if !isPureCore(rel(p.ImportPath)) {
			continue
		}
		found[rel(p.ImportPath)] = true
		files, err := filepath.Glob(filepath.Join(p.Dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			checked++
			for i, line := range strings.Split(string(src), "\n") {
				code, _, _ := strings.Cut(line, "//")
				if impure.MatchString(code) {
					t.Errorf("%s:%d: a pure core must not do this: %s", f, i+1, strings.TrimSpace(line))
				}
			}
		}
	}
	if checked == 0 {
		t.Fatal("no pure-core source found; the test checks nothing")
	}
	for _, c := range pureCores {
		if !found[c] {
			t.Errorf("pure core %s not found: update pureCores", c)
		}
	}
}

func TestImportsStayBehindTheirSeams(t *testing.T) {
	for _, p := range listPackages(t) {
		r := rel(p.ImportPath)
		for _, imp := range p.Imports {
			for _, s := range seams {
				if (imp == s.imp || strings.HasPrefix(imp, s.imp+"/")) && !under(r, s.allowed...) {
					t.Errorf("%s imports %s; only %v may", p.ImportPath, imp, s.allowed)
				}
			}
			if isPureCore(r) {
				for _, bad := range ioImports {
					if imp == bad || strings.HasPrefix(imp, bad+"/") {
						t.Errorf("%s is a pure core but imports %s", p.ImportPath, imp)
					}
				}
			}
		}
	}
}

func TestEveryPackageHasADocComment(t *testing.T) {
	for _, p := range listPackages(t) {
		if strings.TrimSpace(p.Doc) == "" {
			t.Errorf("%s (%s) has no package comment; add a doc.go", p.ImportPath, p.Dir)
		}
	}
}

// layers, bottom up: a package may import packages of its own layer or of
// lower ones, never of a higher one. A package belongs to the layer of the
// longest entry that is it or a folder above it; every package outside
// tests/ must belong to one.
var layers = [][]string{
	// pure cores, the upstream seam's interface, helpers shared by drivers
	{"fanout", "lease", "gossip/plumtree", "upstream", "internal"},
	// drivers and adapters: I/O around the cores
	{"fanout/feed", "fanout/hub", "lease/offload", "gossip", "upstream/etcd", "upstream/relay"},
	// the gRPC services
	{"proxy"},
	// the commands
	{"cmd"},
}

// layerOf is p's layer (-1: none).
func layerOf(p string) int {
	layer, longest := -1, -1
	for i, entries := range layers {
		for _, e := range entries {
			if under(p, e) && len(e) > longest {
				layer, longest = i, len(e)
			}
		}
	}
	return layer
}

func TestLayersImportDownward(t *testing.T) {
	for _, p := range listPackages(t) {
		r := rel(p.ImportPath)
		if under(r, "tests") {
			continue
		}
		from := layerOf(r)
		if from < 0 {
			t.Errorf("%s is in no layer: add it to layers", p.ImportPath)
			continue
		}
		for _, imp := range p.Imports {
			if !strings.HasPrefix(imp, module+"/") {
				continue
			}
			if under(rel(imp), "tests") {
				t.Errorf("%s imports %s: only tests may", p.ImportPath, imp)
				continue
			}
			if to := layerOf(rel(imp)); to > from {
				t.Errorf("%s (layer %d, %v) imports %s (layer %d, %v): imports go downward", p.ImportPath, from, layers[from], imp, to, layers[to])
			}
		}
	}
}

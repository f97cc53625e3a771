package layers

import (
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
)

const module = "github.com/heraldproj/herald"

// rule is one line of herald's dependency rules. It binds the packages
// that match in and not except; they must not import what matches deny,
// and, when std is set, nothing outside the standard library but what
// matches allow. A pure rule also reads their (non-test) code: no clock,
// sleep, timer, goroutine or global random source there.
//
// A pattern is a path inside the module (in, except) or an import path
// (deny, allow); "x/..." matches x and everything below it, "..." every
// package of the module, anything else that path only.
type rule struct {
	why    string
	in     []string
	except []string
	deny   []string
	std    bool
	allow  []string
	pure   bool
}

// pureCores are the state machines with no I/O, goroutines or clocks of
// their own (STYLE.md, "cores without I/O"); their drivers live beside
// them (lease/offload, fanout/feed, gossip) and do the I/O.
var pureCores = []string{"lease", "gossip/plumtree", "fanout"}

// wireTypes are what a pure core may import besides the standard library:
// etcd's wire types, protobuf, and the other pure cores.
var wireTypes = append([]string{
	"go.etcd.io/etcd/api/v3/etcdserverpb",
	"go.etcd.io/etcd/api/v3/mvccpb",
	"google.golang.org/protobuf/proto",
}, prefixed(pureCores)...)

// rules is the one table of herald's dependency rules.
var rules = []rule{
	// One seam per dependency (STYLE.md 2).
	{why: "clientv3 lives behind the upstream seam (and in the loopback, a client of herald itself)",
		in: []string{"..."}, except: []string{"upstream/...", "internal/loopback", "tests/..."}, deny: []string{"go.etcd.io/etcd/client/v3/..."}},
	{why: "go-zookeeper lives behind the upstream seam (and in the ZooKeeper benchmark's native baseline)",
		in: []string{"..."}, except: []string{"upstream/...", "tests/bench"}, deny: []string{"github.com/go-zookeeper/zk/..."}},
	{why: "memberlist lives in gossip/membership only",
		in: []string{"..."}, except: []string{"gossip/membership"}, deny: []string{"github.com/hashicorp/memberlist/..."}},
	{why: "viper and cobra live in cmd/ only: they produce a plain, validated Config",
		in: []string{"..."}, except: []string{"cmd/..."}, deny: []string{"github.com/spf13/viper/...", "github.com/spf13/cobra/..."}},
	{why: "gRPC lives in the front end, the upstream adapters and the gossip transport",
		in: []string{"..."}, except: []string{"proxy/...", "upstream/...", "tests/...", "gossip/transport"}, deny: []string{"google.golang.org/grpc/..."}},
	{why: "etcd's server packages live in the embedded etcd and the loopback (and the front end's election and lock services)",
		in: []string{"..."}, except: []string{"internal/embedetcd", "internal/loopback", "proxy/...", "tests/..."}, deny: []string{"go.etcd.io/etcd/server/v3/..."}},

	{why: "the gRPC front end is given the offloader and the hub: the background start and the feeds' wiring are its caller's (nor may it call offload.New or hub.New: proxy/doc.go)",
		in: []string{"proxy"}, deny: prefixed([]string{"internal/startup", "fanout/feed", "gossip/..."})},
	{why: "the gRPC front end serves and asks nothing over HTTP (cmd/ serves the ops pages; proxy's goroutine check counts net/http's as etcd's)",
		in: []string{"proxy"}, deny: []string{"net/http/..."}},

	// The upstream seam (upstream/doc.go).
	{why: "the seam names no coordinator's client: its adapters do",
		in: []string{"upstream"}, deny: []string{"go.etcd.io/etcd/client/v3/...", "go.etcd.io/etcd/server/v3/...", "github.com/go-zookeeper/zk/..."}},
	{why: "the proxy, the lease offloader and the fan-out reach the coordinator through the seam, never an adapter",
		in: []string{"proxy/...", "lease/...", "fanout/..."}, deny: prefixed([]string{"upstream/etcd/...", "upstream/zookeeper/..."})},
	{why: "the embedded etcd and the loopback are the server's wiring, not upstreams: only cmd/ (and test support) starts them",
		in: []string{"..."}, except: []string{"cmd/...", "tests/..."}, deny: prefixed([]string{"internal/embedetcd", "internal/loopback"})},

	// Pure cores (STYLE.md 1).
	{why: "a pure core does no I/O and imports only etcd's wire types and other pure cores",
		in: pureCores, std: true, allow: wireTypes, pure: true,
		deny: []string{"net/...", "os/...", "syscall", "log/...", "io/...", "sync/...", "crypto/rand"}},
	{why: "the fan-out core draws no random numbers at all: its output is a function of its input",
		in: []string{"fanout"}, deny: []string{"math/rand/..."}},

	// The layers of gossip/: the transport and membership seams and the
	// protocol do not know each other; the driver (gossip) wires them.
	{why: "the gossip transport knows neither the protocol nor membership nor their driver",
		in: []string{"gossip/transport"}, deny: prefixed([]string{"gossip", "gossip/plumtree/...", "gossip/membership/..."})},
	{why: "gossip membership knows neither the transport nor the protocol",
		in: []string{"gossip/membership"}, deny: prefixed([]string{"gossip/transport/...", "gossip/plumtree/..."})},
	{why: "the broadcast-tree protocol knows neither the transport nor membership",
		in: []string{"gossip/plumtree"}, deny: prefixed([]string{"gossip/transport/...", "gossip/membership/..."})},

	// Shared helpers are leaves.
	{why: "internal/ helpers are shared by every layer, so they import only the standard library and each other",
		in: []string{"internal/..."}, except: []string{"internal/embedetcd", "internal/loopback"}, std: true, allow: prefixed([]string{"internal/..."})},
}

func prefixed(paths []string) []string {
	out := make([]string, len(paths))
	for i, p := range paths {
		out[i] = module + "/" + p
	}
	return out
}

// match reports whether path matches one of patterns (see rule).
func match(path string, patterns ...string) bool {
	for _, p := range patterns {
		if base, ok := strings.CutSuffix(p, "..."); ok {
			base = strings.TrimSuffix(base, "/")
			if base == "" || path == base || strings.HasPrefix(path, base+"/") {
				return true
			}
		} else if path == p {
			return true
		}
	}
	return false
}

func (r rule) binds(rel string) bool { return match(rel, r.in...) && !match(rel, r.except...) }

type pkg struct {
	ImportPath string
	Dir        string
	Doc        string
	Imports    []string
	GoFiles    []string
}

// listPackages lists the module's packages, once per test process: go
// list takes seconds, and every test of the package (under -count, every
// run) reads the same list.
func listPackages(t *testing.T) []pkg {
	t.Helper()
	pkgs, err := listed()
	if err != nil {
		t.Fatal(err)
	}
	if len(pkgs) < 5 {
		t.Fatalf("go list found %d packages; the test would check nothing", len(pkgs))
	}
	return pkgs
}

var listed = sync.OnceValues(func() ([]pkg, error) {
	out, err := exec.Command("go", "list", "-json", module+"/...").Output()
	if err != nil {
		return nil, fmt.Errorf("go list: %w", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	var pkgs []pkg
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			return nil, err
		}
		pkgs = append(pkgs, p)
	}
	return pkgs, nil
})

// rel is a package's path inside the module ("" for the root).
func rel(p string) string { return strings.TrimPrefix(strings.TrimPrefix(p, module), "/") }

// standard reports whether an import path is in the standard library: its
// first element has no dot.
func standard(imp string) bool {
	first, _, _ := strings.Cut(imp, "/")
	return !strings.Contains(first, ".")
}

func TestDependencyRules(t *testing.T) {
	pkgs := listPackages(t)
	for _, r := range rules {
		t.Run(r.why, func(t *testing.T) {
			bound := 0
			for _, p := range pkgs {
				if !r.binds(rel(p.ImportPath)) {
					continue
				}
				bound++
				for _, imp := range p.Imports {
					if match(imp, r.deny...) {
						t.Errorf("%s imports %s", p.ImportPath, imp)
					} else if r.std && !standard(imp) && !match(imp, r.allow...) {
						t.Errorf("%s imports %s, outside the standard library and %v", p.ImportPath, imp, r.allow)
					}
				}
				if r.pure {
					checkPure(t, p)
				}
			}
			// A rule that binds nothing is stale: a package moved or was
			// renamed, and the rule would pass forever.
			for _, in := range r.in {
				if !slices.ContainsFunc(pkgs, func(p pkg) bool { return match(rel(p.ImportPath), in) }) {
					t.Errorf("no package matches %q: update the rule", in)
				}
			}
			if bound == 0 {
				t.Error("the rule binds no package")
			}
		})
	}
}

// impureTime and impureRand are what a pure core must not reach for: the
// clock, sleeps, timers, and the global random source (an injected
// *rand.Rand is fine).
var (
	impureTime = []string{"Now", "Since", "Until", "Sleep", "After", "AfterFunc", "Tick", "NewTimer", "NewTicker"}
	impureRand = []string{"Int", "IntN", "Intn", "Int32", "Int32N", "Int64", "Int64N", "Uint32", "Uint64", "Uint64N",
		"UintN", "Float32", "Float64", "Perm", "Shuffle", "N", "ExpFloat64", "NormFloat64", "Seed"}
)

// checkPure reads p's non-test code for goroutines, the clock and the
// global random source.
func checkPure(t *testing.T, p pkg) {
	t.Helper()
	fset := token.NewFileSet()
	for _, name := range p.GoFiles {
		f, err := parser.ParseFile(fset, filepath.Join(p.Dir, name), nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		// The names this file gives the time and math/rand packages.
		timeName, randName := "", ""
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			local := filepath.Base(path)
			if path == "math/rand/v2" {
				local = "rand"
			}
			if imp.Name != nil {
				local = imp.Name.Name
			}
			switch path {
			case "time":
				timeName = local
			case "math/rand", "math/rand/v2":
				randName = local
			}
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.GoStmt:
				t.Errorf("%s: a pure core starts no goroutine", fset.Position(n.Pos()))
			case *ast.SelectorExpr:
				id, ok := n.X.(*ast.Ident)
				if !ok {
					break
				}
				if id.Name == timeName && slices.Contains(impureTime, n.Sel.Name) ||
					id.Name == randName && slices.Contains(impureRand, n.Sel.Name) {
					t.Errorf("%s: a pure core must not use %s.%s", fset.Position(n.Pos()), id.Name, n.Sel.Name)
				}
			}
			return true
		})
	}
	if len(p.GoFiles) == 0 {
		t.Errorf("%s: no source to check", p.ImportPath)
	}
}

func TestEveryPackageHasADocComment(t *testing.T) {
	for _, p := range listPackages(t) {
		if strings.TrimSpace(p.Doc) == "" {
			t.Errorf("%s (%s) has no package comment; add a doc.go", p.ImportPath, p.Dir)
		}
	}
}

// under reports whether p is one of dirs or inside one.
func under(p string, dirs ...string) bool {
	for _, d := range dirs {
		if p == d || strings.HasPrefix(p, d+"/") {
			return true
		}
	}
	return false
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
	// the commands, and what they wire in besides the upstream: the
	// embedded etcd and the v3lock/v3election loopback
	{"cmd", "internal/embedetcd", "internal/loopback"},
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

package fanout

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestPure keeps fanout a pure core: it imports only the standard library
// (without I/O, clocks' sources of randomness or goroutine plumbing) and
// etcd's wire types, and its code never reads the clock, sleeps or starts a
// goroutine.
func TestPure(t *testing.T) {
	allowed := map[string]bool{
		"go.etcd.io/etcd/api/v3/etcdserverpb": true,
		"go.etcd.io/etcd/api/v3/mvccpb":       true,
		"google.golang.org/protobuf/proto":    true,
	}
	forbiddenStd := []string{"net", "os", "math/rand", "sync", "syscall", "io", "log", "crypto/rand"}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if strings.Contains(p, ".") {
				if !allowed[p] {
					t.Errorf("%s imports %s", name, p)
				}
				continue
			}
			for _, bad := range forbiddenStd {
				if p == bad || strings.HasPrefix(p, bad+"/") {
					t.Errorf("%s imports %s", name, p)
				}
			}
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.GoStmt:
				t.Errorf("%s: go statement at %s", name, fset.Position(n.Pos()))
			case *ast.SelectorExpr:
				if id, ok := n.X.(*ast.Ident); ok && id.Name == "time" {
					switch n.Sel.Name {
					case "Now", "Since", "Until", "Sleep", "After", "AfterFunc", "NewTimer", "NewTicker", "Tick":
						t.Errorf("%s: time.%s at %s", name, n.Sel.Name, fset.Position(n.Pos()))
					}
				}
			}
			return true
		})
	}
}

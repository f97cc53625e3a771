package gossip

import (
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/heraldproj/herald/"

// TestImportSeams enforces the seams of gossip/: memberlist is imported
// only by gossip/membership, and the transport and membership layers do
// not import each other or the protocol.
func TestImportSeams(t *testing.T) {
	root := ".."
	forbidden := map[string][]string{ // directory prefix → forbidden imports
		"gossip/transport":  {module + "gossip", module + "gossip/plumtree", module + "gossip/membership"},
		"gossip/membership": {module + "gossip/transport", module + "gossip/plumtree"},
		"gossip/plumtree":   {module + "gossip/transport", module + "gossip/membership"},
	}
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() && (name == "testdata" || name == "vendor" || (strings.HasPrefix(name, ".") && path != root)) {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(name, ".go") {
			return nil
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if err != nil {
			return nil // someone else's file mid-edit: the compiler reports it
		}
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if p == "github.com/hashicorp/memberlist" && !strings.HasPrefix(rel, "gossip/membership/") {
				t.Errorf("%s imports memberlist: only gossip/membership may", rel)
			}
			for dir, bad := range forbidden {
				if !strings.HasPrefix(rel, dir+"/") {
					continue
				}
				for _, b := range bad {
					if p == b || strings.HasPrefix(p, b+"/") && b != module+"gossip" {
						t.Errorf("%s imports %s", rel, p)
					}
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

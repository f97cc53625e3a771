package main

import (
	"bytes"
	"runtime/debug"
	"strings"
	"testing"
)

// TestVersionNamesCommitAndAPI: the version command prints the module
// version, the commit (marked when the tree was modified), Go's version and
// the etcd API module herald was built against.
func TestVersionNamesCommitAndAPI(t *testing.T) {
	info := &debug.BuildInfo{
		GoVersion: "go1.26.8",
		Main:      debug.Module{Path: "github.com/heraldproj/herald", Version: "v0.3.0"},
		Deps:      []*debug.Module{{Path: "go.etcd.io/etcd/api/v3", Version: "v3.7.3"}},
		Settings:  []debug.BuildSetting{{Key: "vcs.revision", Value: "f68d573"}, {Key: "vcs.modified", Value: "true"}},
	}
	var out bytes.Buffer
	printVersion(&out, info)
	want := "herald version: v0.3.0\ngit commit: f68d573 (modified)\ngo version: go1.26.8\netcd api version: v3.7.3\n"
	if out.String() != want {
		t.Fatalf("got\n%swant\n%s", out.String(), want)
	}

	cmd := newRootCommand()
	out.Reset()
	cmd.SetOut(&out)
	cmd.SetArgs([]string{"version"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), "herald version: ") || !strings.Contains(out.String(), "go version: go1.") {
		t.Fatalf("herald version printed %q", out.String())
	}

	for _, args := range [][]string{{"--version"}, {"-v"}} {
		cmd = newRootCommand()
		var flagOut bytes.Buffer
		cmd.SetOut(&flagOut)
		cmd.SetArgs(args)
		if err := cmd.Execute(); err != nil {
			t.Fatalf("herald %s: %v", args[0], err)
		}
		if flagOut.String() != out.String() {
			t.Errorf("herald %s printed %q; herald version printed %q", args[0], flagOut.String(), out.String())
		}
	}
}

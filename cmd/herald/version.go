package main

import (
	"fmt"
	"io"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
)

// newVersionCommand prints what this binary is: herald's module version and
// commit, the Go that built it, and the etcd client and API it speaks.
func newVersionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print herald's version, commit, Go version and etcd API version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			info, ok := debug.ReadBuildInfo()
			if !ok {
				return fmt.Errorf("no build information in this binary")
			}
			printVersion(cmd.OutOrStdout(), info)
			return nil
		},
	}
}

// setVersionFlag gives root cobra's --version, printing what `herald
// version` prints.
func setVersionFlag(root *cobra.Command) {
	var out strings.Builder
	if info, ok := debug.ReadBuildInfo(); ok {
		printVersion(&out, info)
	} else {
		out.WriteString("herald version: unknown (no build information in this binary)\n")
	}
	root.Version = readVersionLine(out.String())
	root.SetVersionTemplate(out.String())
}

// readVersionLine is the version that the first line of printVersion's
// output names (cobra adds --version only when Version is set).
func readVersionLine(s string) string {
	first, _, _ := strings.Cut(s, "\n")
	return strings.TrimPrefix(first, "herald version: ")
}

// build is what a binary's build information says about herald.
type build struct {
	version, commit, goVersion, etcdAPI string
	modified                            bool // built from a tree with uncommitted changes
}

// readBuild reads info; what it lacks is "unknown" (the etcd API "none").
func readBuild(info *debug.BuildInfo) build {
	b := build{version: info.Main.Version, commit: "unknown", goVersion: info.GoVersion, etcdAPI: "none"}
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			b.commit = s.Value
		case "vcs.modified":
			b.modified = s.Value == "true"
		}
	}
	for _, d := range info.Deps {
		if d.Path == "go.etcd.io/etcd/api/v3" {
			b.etcdAPI = d.Version
		}
	}
	return b
}

func printVersion(w io.Writer, info *debug.BuildInfo) {
	b := readBuild(info)
	commit := b.commit
	if b.modified && commit != "unknown" {
		commit += " (modified)"
	}
	fmt.Fprintf(w, "herald version: %s\n", b.version)
	fmt.Fprintf(w, "git commit: %s\n", commit)
	fmt.Fprintf(w, "go version: %s\n", b.goVersion)
	fmt.Fprintf(w, "etcd api version: %s\n", b.etcdAPI)
}

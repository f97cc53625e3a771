package main

import (
	"fmt"
	"io"
	"runtime/debug"

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

func printVersion(w io.Writer, info *debug.BuildInfo) {
	setting := func(key string) string {
		for _, s := range info.Settings {
			if s.Key == key {
				return s.Value
			}
		}
		return ""
	}
	dep := func(path string) string {
		for _, d := range info.Deps {
			if d.Path == path {
				return d.Version
			}
		}
		return "none"
	}
	commit := setting("vcs.revision")
	if commit == "" {
		commit = "unknown"
	} else if setting("vcs.modified") == "true" {
		commit += " (modified)"
	}
	fmt.Fprintf(w, "herald version: %s\n", info.Main.Version)
	fmt.Fprintf(w, "git commit: %s\n", commit)
	fmt.Fprintf(w, "go version: %s\n", info.GoVersion)
	fmt.Fprintf(w, "etcd api version: %s\n", dep("go.etcd.io/etcd/api/v3"))
}

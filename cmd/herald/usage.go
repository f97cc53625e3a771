package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// flagGroups orders herald start's flags for --help, by the first flag of
// each group; a flag belongs to the group of the nearest listed flag
// declared before it (defineFlags declares them in these groups).
var flagGroups = []struct{ title, first string }{
	{"General", "config"},
	{"Upstream etcd", "cacert"},
	{"Client TLS", "cert-file"},
	{"Fleet (gossip)", "gossip-addr"},
	{"Watch fan-out", "fanout-prefix"},
	{"Lease offload", "lease-offload"},
	{"Embedded etcd (when no --endpoints)", "embedded-client-addr"},
	{"Testing only", "test-gossip-loss"},
	{"Help", "help"}, // cobra's --help and --version, added after defineFlags' flags
}

// groupedUsage prints the command's flags in flagGroups' sections instead
// of one flat list. Commands other than start (status, version) inherit it
// from the root; they have flags of their own, listed as they are.
func groupedUsage(cmd *cobra.Command) error {
	w := cmd.OutOrStderr()
	fmt.Fprintf(w, "Usage:\n  %s\n", cmd.UseLine())
	if cmd.Flags().Lookup("config") == nil {
		if cmd.HasAvailableFlags() {
			fmt.Fprintf(w, "\nFlags:\n%s", cmd.Flags().FlagUsages())
		}
		return nil
	}
	if cmd.HasAvailableSubCommands() {
		fmt.Fprintln(w, "\nCommands:")
		for _, c := range cmd.Commands() {
			if c.IsAvailableCommand() {
				fmt.Fprintf(w, "  %-10s %s\n", c.Name(), c.Short)
			}
		}
	}
	printFlagGroups(w, cmd.Flags())
	fmt.Fprintln(w, "\nEvery flag is also a key of the --config file and a HERALD_<FLAG> environment variable.")
	return nil
}

func printFlagGroups(w io.Writer, fs *pflag.FlagSet) {
	sets := make([]*pflag.FlagSet, len(flagGroups))
	for i := range sets {
		sets[i] = pflag.NewFlagSet(flagGroups[i].title, pflag.ContinueOnError)
		sets[i].SortFlags = false
	}
	group := 0
	fs.SortFlags = false
	fs.VisitAll(func(f *pflag.Flag) {
		for i, g := range flagGroups {
			if g.first == f.Name {
				group = i
			}
		}
		sets[group].AddFlag(f)
	})
	for i, s := range sets {
		if !s.HasFlags() {
			continue
		}
		fmt.Fprintf(w, "\n%s:\n%s", flagGroups[i].title, strings.TrimRight(s.FlagUsages(), "\n")+"\n")
	}
}

package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

// TestHelpGroupsEveryFlag: herald start --help lists every flag once, under
// the section titles in flagGroups' order.
func TestHelpGroupsEveryFlag(t *testing.T) {
	cmd := newRootCommand()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetArgs([]string{"start", "--help"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	help := out.String()
	at := 0
	for _, g := range flagGroups {
		i := strings.Index(help[at:], "\n"+g.title+":\n")
		if i < 0 {
			t.Fatalf("section %q missing, or out of order, in\n%s", g.title, help)
		}
		at += i + 1
	}
	fs := pflag.NewFlagSet("start", pflag.ContinueOnError)
	defineFlags(fs)
	listed := map[string]int{}
	for _, line := range strings.Split(help, "\n") {
		if fields := strings.Fields(line); len(fields) > 0 && strings.HasPrefix(fields[0], "--") {
			listed[strings.TrimPrefix(fields[0], "--")]++
		}
	}
	fs.VisitAll(func(f *pflag.Flag) {
		if n := listed[f.Name]; n != 1 {
			t.Errorf("--%s is listed %d times", f.Name, n)
		}
	})
}

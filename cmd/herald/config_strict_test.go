package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/heraldproj/herald/tests/harness"
)

// TestConfigRefusesWhatItCannotRead: every value that start could not use
// as given is refused by name, whether it came from the file, the
// environment or a flag, and so --check-config refuses it too.
func TestConfigRefusesWhatItCannotRead(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.pem")
	if err := os.WriteFile(garbage, []byte("not a certificate\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.pem")
	cases := []struct {
		name string
		yaml string
		env  map[string]string
		args []string
		want string // the start of the error
	}{
		{name: "bool in the file", yaml: "lease-offload: maybe", want: `invalid --lease-offload "maybe": want true or false`},
		{name: "bool in the environment", env: map[string]string{"HERALD_LEASE_OFFLOAD": "maybe"}, want: `invalid --lease-offload "maybe"`},
		{name: "whole number in the file", yaml: `carrier-ttl: "ten"`, want: `invalid --carrier-ttl "ten": want a whole number`},
		{name: "whole number in the environment", env: map[string]string{"HERALD_CARRIER_LEASES": "two"}, want: `invalid --carrier-leases "two"`},
		{name: "duration without a unit", yaml: `watch-progress-notify-interval: "5"`, want: `invalid --watch-progress-notify-interval "5": want a duration`},
		{name: "number", env: map[string]string{"HERALD_TEST_GOSSIP_LOSS": "a lot"}, want: `invalid --test-gossip-loss "a lot": want a number`},
		{name: "port out of range", args: []string{"--listen-addr", "127.0.0.1:99999"}, want: `invalid --listen-addr "127.0.0.1:99999": port "99999"`},
		{name: "port not a number", args: []string{"--metrics-addr", ":abc"}, want: `invalid --metrics-addr ":abc": port "abc"`},
		{name: "missing CA", args: []string{"--endpoints", "https://127.0.0.1:2379", "--cacert", missing}, want: `invalid --cacert "` + missing + `": open`},
		{name: "garbage CA", args: []string{"--endpoints", "https://127.0.0.1:2379", "--cacert", garbage}, want: `invalid --cacert "` + garbage + `": no PEM certificate`},
		{name: "missing client certificate", args: []string{"--cert-file", missing, "--key-file", missing}, want: `invalid --cert-file "` + missing + `": cannot load`},
		{name: "garbage upstream certificate", args: []string{"--endpoints", "https://127.0.0.1:2379", "--cert", garbage, "--key", garbage}, want: `invalid --cert "` + garbage + `": cannot load`},
		{name: "missing fleet key", args: []string{"--gossip-addr", "127.0.0.1:7946", "--gossip-key-file", missing}, want: `invalid --gossip-key-file "` + missing + `"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			args := tc.args
			if tc.yaml != "" {
				file := filepath.Join(t.TempDir(), "herald.yaml")
				if err := os.WriteFile(file, []byte(tc.yaml+"\n"), 0o600); err != nil {
					t.Fatal(err)
				}
				args = append([]string{"--config", file}, args...)
			}
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			_, err := load(t, args...)
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Fatalf("error %v, want one starting %q", err, tc.want)
			}
		})
	}
}

// TestConfigAcceptsTypedValues: the same settings given correctly, as YAML
// types and as environment strings, load with their values.
func TestConfigAcceptsTypedValues(t *testing.T) {
	ca := harness.NewCA(t, "ca")
	file := filepath.Join(t.TempDir(), "herald.yaml")
	yaml := "lease-offload: false\ncarrier-ttl: 30\nwatch-progress-notify-interval: 5m\ncacert: " + ca.File + "\nendpoints: [https://127.0.0.1:2379]\n"
	if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("HERALD_CARRIER_LEASES", "3")
	t.Setenv("HERALD_TEST_GOSSIP_LOSS", "0.25")
	cfg, err := load(t, "--config", file, "--metrics-addr", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.LeaseOffload || cfg.CarrierTTL != 30 || cfg.CarrierLeases != 3 || cfg.InjectLoss != 0.25 || cfg.ProgressNotifyInterval.Minutes() != 5 || cfg.CACert != ca.File {
		t.Fatalf("got %+v", cfg)
	}
}

package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// load runs the start command's flag parsing and config loading.
func load(t *testing.T, args ...string) (*Config, error) {
	t.Helper()
	cmd := newRootCommand()
	var got *Config
	var loadErr error
	cmd.RunE = func(c *cobra.Command, _ []string) error {
		got, loadErr = loadConfig(c)
		return nil
	}
	cmd.SetArgs(args)
	if err := cmd.Execute(); err != nil {
		return nil, err
	}
	return got, loadErr
}

func TestPrecedenceFlagEnvFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "herald.yaml")
	yaml := "listen-addr: 127.0.0.1:1111\nlog-level: warn\nendpoints:\n  - http://10.0.0.1:2379\n  - http://10.0.0.2:2379\nname: from-file\n"
	if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("HERALD_LOG_LEVEL", "debug")
	t.Setenv("HERALD_NAME", "from-env")
	cfg, err := load(t, "--config", file, "--name", "from-flag")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Name != "from-flag" {
		t.Errorf("name %q: a flag beats the environment", cfg.Name)
	}
	if cfg.LogLevel != "debug" {
		t.Errorf("log-level %q: the environment beats the file", cfg.LogLevel)
	}
	if cfg.ListenAddr != "127.0.0.1:1111" {
		t.Errorf("listen-addr %q: the file beats the default", cfg.ListenAddr)
	}
	if strings.Join(cfg.Endpoints, ",") != "http://10.0.0.1:2379,http://10.0.0.2:2379" {
		t.Errorf("endpoints %v from a YAML list", cfg.Endpoints)
	}
	if len(cfg.AdvertiseClientURLs) != 1 || cfg.AdvertiseClientURLs[0] != "http://127.0.0.1:1111" {
		t.Errorf("advertise-client-url %v: default from listen-addr", cfg.AdvertiseClientURLs)
	}
}

// TestAdvertiseHostPort: as grpc-proxy, herald takes host:port for
// --advertise-client-url, as a URL with the scheme herald serves.
func TestAdvertiseHostPort(t *testing.T) {
	cfg, err := load(t, "--advertise-client-url", "127.0.0.1:2379,https://h:1")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(cfg.AdvertiseClientURLs, ",") != "http://127.0.0.1:2379,https://h:1" {
		t.Fatalf("advertise-client-url %v", cfg.AdvertiseClientURLs)
	}
}

func TestEnvListIsCommaSeparated(t *testing.T) {
	t.Setenv("HERALD_ENDPOINTS", "http://a:2379,http://b:2379")
	cfg, err := load(t)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(cfg.Endpoints, " ") != "http://a:2379 http://b:2379" {
		t.Fatalf("endpoints %v", cfg.Endpoints)
	}
}

func TestReservedPrefixEscapes(t *testing.T) {
	cfg, err := load(t)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.ReservedPrefix != "\x00herald/" {
		t.Fatalf("default reserved prefix %q", cfg.ReservedPrefix)
	}
	cfg, err = load(t, "--reserved-prefix", `\x01h/`)
	if err != nil || cfg.ReservedPrefix != "\x01h/" {
		t.Fatalf("reserved prefix %q, %v", cfg.ReservedPrefix, err)
	}
}

func TestInvalidSettingsNameTheSetting(t *testing.T) {
	file := filepath.Join(t.TempDir(), "typo.yaml")
	if err := os.WriteFile(file, []byte("listen-adr: 127.0.0.1:1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		args    []string
		setting string
	}{
		{[]string{"--listen-addr", "nope"}, "--listen-addr"},
		{[]string{"--endpoints", "ftp://x:1"}, "--endpoints"},
		{[]string{"--advertise-client-url", "ftp://127.0.0.1:1"}, "--advertise-client-url"},
		{[]string{"--log-level", "loud"}, "--log-level"},
		{[]string{"--name", "a b"}, "--name"},
		{[]string{"--metrics-addr", "x"}, "--metrics-addr"},
		{[]string{"--cert", "c.pem"}, "--cert"},
		{[]string{"--client-cert-auth"}, "--client-cert-auth"},
		{[]string{"--carrier-leases", "0"}, "--carrier-leases"},
		{[]string{"--carrier-ttl", "1"}, "--carrier-ttl"},
		{[]string{"--reserved-prefix", `\xZZ`}, "--reserved-prefix"},
		{[]string{"--config", file}, "--config"},
		{[]string{"--config", "/does/not/exist.yaml"}, "--config"},
		{[]string{"--gossip-addr", "127.0.0.1:7946", "--gossip-key-file", "k", "--gossip-profile", "moon"}, "--gossip-profile"},
		{[]string{"--user", "herald"}, "--user"},
		{[]string{"--user", ":secret"}, "--user"},
		{[]string{"--password", "secret"}, "--password"},
		{[]string{"--endpoints", "zk://127.0.0.1:2181", "--user", "herald:pw"}, "--user"},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			_, err := load(t, tc.args...)
			var ce *configError
			if !errors.As(err, &ce) {
				t.Fatalf("err = %v, want a configError", err)
			}
			if !strings.Contains(err.Error(), tc.setting) || exitCode(err) != 2 {
				t.Fatalf("%q (exit %d) does not name %s with exit 2", err, exitCode(err), tc.setting)
			}
		})
	}
}

func TestUnknownFlagExitsTwo(t *testing.T) {
	_, err := load(t, "--no-such-flag")
	if err == nil || exitCode(err) != 2 {
		t.Fatalf("err %v, exit %d; want exit 2", err, exitCode(err))
	}
}

// TestGossipProfiles: every profile the gossip package has is accepted.
func TestGossipProfiles(t *testing.T) {
	key := filepath.Join(t.TempDir(), "fleet.key")
	if err := os.WriteFile(key, []byte(strings.Repeat("k", 32)), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"lan", "wan", "local"} {
		cfg, err := load(t, "--gossip-addr", "127.0.0.1:7946", "--gossip-key-file", key, "--gossip-profile", p)
		if err != nil || cfg.GossipProfile != p {
			t.Errorf("--gossip-profile %s: %+v, %v", p, cfg, err)
		}
	}
}

// TestEtcdUserAsEtcdctlReadsIt: --user name:password, or --user name with
// --password (the whole of --user is then the name), as etcdctl reads
// them; HERALD_PASSWORD is --password; an error never shows a password.
func TestEtcdUserAsEtcdctlReadsIt(t *testing.T) {
	for _, tc := range []struct {
		args           []string
		env            string
		name, password string
	}{
		{[]string{"--user", "herald:s3:cret"}, "", "herald", "s3:cret"},
		{[]string{"--user", "her:ald", "--password", "pw"}, "", "her:ald", "pw"},
		{[]string{"--user", "herald"}, "from-env", "herald", "from-env"},
		{nil, "", "", ""},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			if tc.env != "" {
				t.Setenv("HERALD_PASSWORD", tc.env)
			}
			cfg, err := load(t, tc.args...)
			if err != nil {
				t.Fatal(err)
			}
			name, password, err := cfg.etcdUser()
			if err != nil || name != tc.name || password != tc.password {
				t.Fatalf("user %q, password %q, %v; want %q, %q", name, password, err, tc.name, tc.password)
			}
		})
	}
	_, err := load(t, "--user", ":topsecret")
	if err == nil || strings.Contains(err.Error(), "topsecret") {
		t.Errorf("--user :topsecret: %v; want an error that does not show the password", err)
	}
}

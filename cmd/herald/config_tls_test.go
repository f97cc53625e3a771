package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/heraldproj/herald/tests/harness"
)

func TestTLSFlagDefaultsAreGRPCProxys(t *testing.T) {
	cfg, err := load(t)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.TLSMinVersion != "TLS1.2" || cfg.TLSMaxVersion != "" || len(cfg.CipherSuites) != 0 {
		t.Errorf("tls versions %q..%q, suites %v; want TLS1.2..\"\" and none", cfg.TLSMinVersion, cfg.TLSMaxVersion, cfg.CipherSuites)
	}
	if cfg.AutoTLS || cfg.SelfSignedCertValidity != 1 || cfg.ClientCRLFile != "" {
		t.Errorf("auto-tls %v, validity %d, crl %q; want false, 1, none", cfg.AutoTLS, cfg.SelfSignedCertValidity, cfg.ClientCRLFile)
	}
	if cfg.InsecureSkipTLSVerify || cfg.EndpointsAutoSyncInterval != 0 {
		t.Errorf("insecure-skip-tls-verify %v, auto-sync %v; want false, 0", cfg.InsecureSkipTLSVerify, cfg.EndpointsAutoSyncInterval)
	}
}

func TestTLSFlagsFromFileEnvAndFlags(t *testing.T) {
	ca := harness.NewCA(t, "ca")
	crl := ca.CRL(t, "revoked.crl")
	served := ca.Issue(t, "herald")
	file := filepath.Join(t.TempDir(), "herald.yaml")
	yaml := strings.Join([]string{
		"endpoints: [https://10.0.0.1:2379]",
		"insecure-skip-tls-verify: true",
		"endpoints-auto-sync-interval: 30s",
		"cert-file: " + served.CertFile,
		"key-file: " + served.KeyFile,
		"trusted-ca-file: " + ca.File,
		"client-crl-file: " + crl,
		"self-signed-cert-validity: 3",
		"tls-max-version: TLS1.3",
		"listen-cipher-suites:",
		"  - TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
		"  - TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
		"",
	}, "\n")
	if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("HERALD_AUTO_TLS", "true")
	t.Setenv("HERALD_TLS_MIN_VERSION", "TLS1.2")
	cfg, err := load(t, "--config", file, "--endpoints-auto-sync-interval", "1m")
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		InsecureSkipTLSVerify:     true,
		EndpointsAutoSyncInterval: time.Minute,
		ClientCRLFile:             crl,
		AutoTLS:                   true,
		SelfSignedCertValidity:    3,
		TLSMinVersion:             "TLS1.2",
		TLSMaxVersion:             "TLS1.3",
	}
	if cfg.InsecureSkipTLSVerify != want.InsecureSkipTLSVerify || cfg.EndpointsAutoSyncInterval != want.EndpointsAutoSyncInterval ||
		cfg.ClientCRLFile != want.ClientCRLFile || cfg.AutoTLS != want.AutoTLS || cfg.SelfSignedCertValidity != want.SelfSignedCertValidity ||
		cfg.TLSMinVersion != want.TLSMinVersion || cfg.TLSMaxVersion != want.TLSMaxVersion {
		t.Errorf("got %+v", cfg)
	}
	if strings.Join(cfg.CipherSuites, ",") != "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256" {
		t.Errorf("listen-cipher-suites %v from a YAML list", cfg.CipherSuites)
	}

	t.Setenv("HERALD_LISTEN_CIPHER_SUITES", "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305,TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384")
	if cfg, err = load(t, "--config", file); err != nil {
		t.Fatal(err)
	}
	if len(cfg.CipherSuites) != 2 || cfg.CipherSuites[0] != "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305" {
		t.Errorf("listen-cipher-suites %v from a comma-separated variable", cfg.CipherSuites)
	}
}

func TestAutoTLSAdvertisesHTTPS(t *testing.T) {
	cfg, err := load(t, "--auto-tls", "--listen-addr", "127.0.0.1:3379")
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.AdvertiseClientURLs) != 1 || cfg.AdvertiseClientURLs[0] != "https://127.0.0.1:3379" {
		t.Fatalf("advertise-client-url %v; want https://127.0.0.1:3379", cfg.AdvertiseClientURLs)
	}
}

func TestInvalidTLSSettingsNameTheSetting(t *testing.T) {
	ca := harness.NewCA(t, "ca")
	pemCRL := harness.WritePEM(t, filepath.Join(t.TempDir(), "crl.pem"), "X509 CRL", readFile(t, ca.CRL(t, "list.crl")))
	serving := []string{"--cert-file", "s.pem", "--key-file", "s-key.pem", "--trusted-ca-file", ca.File}
	cases := []struct {
		env     map[string]string
		args    []string
		setting string
		problem string
	}{
		{args: []string{"--tls-min-version", "TLS1.1"}, setting: "--tls-min-version", problem: `unexpected TLS version "TLS1.1" (must be one of: TLS1.2, TLS1.3)`},
		{args: []string{"--tls-max-version", "1.3"}, setting: "--tls-max-version", problem: `unexpected TLS version "1.3"`},
		{args: []string{"--tls-min-version", "TLS1.3", "--tls-max-version", "TLS1.2"}, setting: "--tls-min-version", problem: "min version (TLS1.3) is greater than max version (TLS1.2)"},
		{args: []string{"--listen-cipher-suites", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,NOPE"}, setting: "--listen-cipher-suites", problem: `unexpected TLS cipher suite "NOPE"`},
		{args: []string{"--tls-min-version", "TLS1.3", "--listen-cipher-suites", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"}, setting: "--listen-cipher-suites", problem: "cipher suites cannot be configured when only TLS1.3 is enabled"},
		{args: append([]string{"--client-crl-file", "/does/not/exist.crl"}, serving...), setting: "--client-crl-file", problem: "no such file"},
		{args: append([]string{"--client-crl-file", pemCRL}, serving...), setting: "--client-crl-file", problem: "a PEM revocation list"},
		{args: append([]string{"--client-crl-file", ca.File}, serving...), setting: "--client-crl-file", problem: "not a DER certificate revocation list"},
		{args: []string{"--auto-tls", "--self-signed-cert-validity", "0"}, setting: "--self-signed-cert-validity", problem: "greater than 0"},
		{env: map[string]string{"HERALD_SELF_SIGNED_CERT_VALIDITY": "-1"}, setting: "--self-signed-cert-validity", problem: "whole number"},
		{args: []string{"--insecure-skip-tls-verify"}, setting: "--insecure-skip-tls-verify", problem: "needs --endpoints"},
		{args: []string{"--endpoints-auto-sync-interval", "-1s"}, setting: "--endpoints-auto-sync-interval", problem: "negative"},
		{env: map[string]string{"HERALD_ENDPOINTS_AUTO_SYNC_INTERVAL": "30"}, setting: "--endpoints-auto-sync-interval", problem: "want a duration"},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " ")+tc.setting, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			_, err := load(t, tc.args...)
			var ce *configError
			if !errors.As(err, &ce) {
				t.Fatalf("err = %v, want a configError", err)
			}
			if !strings.Contains(err.Error(), tc.setting) || !strings.Contains(err.Error(), tc.problem) || exitCode(err) != 2 {
				t.Fatalf("%q (exit %d) does not name %s with %q and exit 2", err, exitCode(err), tc.setting, tc.problem)
			}
		})
	}
}

// TestCheckConfigCatchesTLSSettings runs the real command: --check-config
// refuses a bad TLS setting and accepts a good one without starting.
func TestCheckConfigCatchesTLSSettings(t *testing.T) {
	run := func(args ...string) (string, error) {
		cmd := newRootCommand()
		var out bytes.Buffer
		cmd.SetOut(&out)
		cmd.SetArgs(append([]string{"start", "--check-config"}, args...))
		err := cmd.Execute()
		return out.String(), err
	}
	if _, err := run("--tls-max-version", "TLS1.4"); err == nil || exitCode(err) != 2 || !strings.Contains(err.Error(), "--tls-max-version") {
		t.Fatalf("--check-config with --tls-max-version TLS1.4: err %v, exit %d", err, exitCode(err))
	}
	out, err := run("--auto-tls", "--tls-min-version", "TLS1.3", "--endpoints", "https://127.0.0.1:1", "--insecure-skip-tls-verify", "--endpoints-auto-sync-interval", "1m")
	if err != nil || !strings.Contains(out, "configuration is valid") {
		t.Fatalf("--check-config with good TLS settings: %q, %v", out, err)
	}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestUpstreamCertWithCommonNameAccepted: herald's client certificate for
// etcd may have a Common Name, which etcd with --client-cert-auth takes as
// herald's user. etcd grpc-proxy refuses one (etcd issue 11970: etcd would
// take the CN as the user of every client passed through without a token);
// herald marks its clients' calls as a proxy's instead, for which etcd
// ignores the CN (tests: TestAuthByCertificate). One without a CN loads too.
func TestUpstreamCertWithCommonNameAccepted(t *testing.T) {
	ca := harness.NewCA(t, "ca")
	for _, cert := range []harness.Issued{ca.Issue(t, "herald"), ca.Issue(t, "")} {
		cfg, err := load(t, "--endpoints", "https://127.0.0.1:2379", "--cacert", ca.File, "--cert", cert.CertFile, "--key", cert.KeyFile)
		if err != nil || cfg.Cert != cert.CertFile || !cfg.hasEtcdIdentity() {
			t.Fatalf("a client certificate %s: %v (cert %q); want it loaded, as herald's etcd identity", cert.CertFile, err, cfg.Cert)
		}
	}
}

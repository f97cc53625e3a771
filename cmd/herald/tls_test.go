package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/heraldproj/herald/tests/harness"
)

// patience turns a hang into a failure; no test passes or fails on speed.
const patience = time.Minute

// startHerald runs herald's Run, in this process, with args on top of a
// free listen address, a temporary data dir, no metrics port and no lease
// offload (args may turn it on), and returns the
// listen address once it accepts connections. It is stopped as by SIGTERM
// when t ends.
func startHerald(t *testing.T, args ...string) string {
	t.Helper()
	addr := harness.FreeAddr(t)
	base := []string{"--listen-addr", addr, "--metrics-addr", "", "--data-dir", t.TempDir(), "--lease-offload=false", "--log-level", "error"}
	cfg, err := load(t, append(base, args...)...)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, *cfg) }()
	var exited error
	t.Cleanup(func() {
		cancel()
		if exited == nil {
			exited = <-done
		}
		if exited != nil {
			t.Errorf("herald: %v", exited)
		}
	})
	err = harness.Await(patience, func() error {
		select {
		case exited = <-done:
			return nil
		default:
		}
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return err
	})
	if err != nil || exited != nil {
		t.Fatalf("herald %v did not start: %v %v", args, err, exited)
	}
	return addr
}

// roundTrip puts a key through herald at addr and reads it back, with
// clientv3; tlsCfg nil means plain text.
func roundTrip(addr string, tlsCfg *tls.Config) error {
	scheme := "http://"
	if tlsCfg != nil {
		scheme = "https://"
	}
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{scheme + addr}, TLS: tlsCfg, DialTimeout: patience, Logger: zap.NewNop()})
	if err != nil {
		return err
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	if _, err := cli.Put(ctx, "tls-test", "v"); err != nil {
		return fmt.Errorf("put: %w", err)
	}
	resp, err := cli.Get(ctx, "tls-test")
	if err != nil {
		return fmt.Errorf("get: %w", err)
	}
	if len(resp.Kvs) != 1 || string(resp.Kvs[0].Value) != "v" {
		return fmt.Errorf("get: %v", resp.Kvs)
	}
	return nil
}

// handshake connects to addr with cfg and returns the server's verdict on
// the handshake. In TLS 1.3 the server checks a client certificate after
// the client has finished its side: its refusal is then the first thing
// the client reads, so handshake reads when the server said nothing yet
// (it returns on the refusal; an accepted client would wait for data).
func handshake(addr string, cfg *tls.Config) (tls.ConnectionState, error) {
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: patience}, "tcp", addr, cfg)
	if err != nil {
		return tls.ConnectionState{}, err
	}
	defer conn.Close()
	state := conn.ConnectionState()
	if state.Version == tls.VersionTLS13 && len(cfg.Certificates) > 0 {
		_ = conn.SetReadDeadline(time.Now().Add(patience))
		_, err = conn.Read(make([]byte, 1))
	}
	return state, err
}

func wantRefused(t *testing.T, what string, err error, reason string) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: accepted; want refused (%s)", what, reason)
	}
	if !strings.Contains(err.Error(), reason) {
		t.Fatalf("%s: %v; want a refusal for %q", what, err, reason)
	}
}

func TestClientCRLFileRefusesRevokedCertificates(t *testing.T) {
	up := harness.StartEtcd(t, harness.EtcdOptions{})
	ca := harness.NewCA(t, "ca")
	server := ca.Issue(t, "herald")
	good, revoked := ca.Issue(t, "good"), ca.Issue(t, "revoked")
	crl := ca.CRL(t, "clients.crl", revoked.Serial)
	addr := startHerald(t, "--endpoints", up.Endpoints()[0],
		"--cert-file", server.CertFile, "--key-file", server.KeyFile,
		"--trusted-ca-file", ca.File, "--client-cert-auth", "--client-crl-file", crl)

	if err := roundTrip(addr, ca.ClientTLS(t, &good)); err != nil {
		t.Fatalf("an unrevoked client certificate: %v", err)
	}
	_, err := handshake(addr, ca.ClientTLS(t, &revoked))
	wantRefused(t, "a revoked client certificate", err, "bad certificate")

	// herald reads the list at each handshake, as etcd does: a new list
	// applies to the next connection.
	next := ca.CRL(t, "next.crl", revoked.Serial, good.Serial)
	if err := os.Rename(next, crl); err != nil {
		t.Fatal(err)
	}
	_, err = handshake(addr, ca.ClientTLS(t, &good))
	wantRefused(t, "a certificate revoked since", err, "bad certificate")
}

func TestAutoTLSServesASelfSignedCertificate(t *testing.T) {
	up := harness.StartEtcd(t, harness.EtcdOptions{})
	dataDir := t.TempDir()
	addr := startHerald(t, "--endpoints", up.Endpoints()[0], "--auto-tls", "--data-dir", dataDir)

	if err := roundTrip(addr, &tls.Config{InsecureSkipVerify: true}); err != nil {
		t.Fatalf("a client that skips verification: %v", err)
	}
	state, err := handshake(addr, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	// The certificate is grpc-proxy's: in <data-dir>/fixtures/proxy.
	onDisk, err := tls.LoadX509KeyPair(filepath.Join(dataDir, "fixtures", "proxy", "cert.pem"), filepath.Join(dataDir, "fixtures", "proxy", "key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	if !state.PeerCertificates[0].Equal(mustParse(t, onDisk.Certificate[0])) {
		t.Fatal("herald serves another certificate than <data-dir>/fixtures/proxy/cert.pem")
	}
	_, err = handshake(addr, &tls.Config{RootCAs: x509.NewCertPool(), MinVersion: tls.VersionTLS12})
	var unknown x509.UnknownAuthorityError
	if !errors.As(err, &unknown) {
		t.Fatalf("a verifying client: %v; want an unknown authority", err)
	}
}

func TestInsecureSkipTLSVerifyReachesAnUnverifiableEtcd(t *testing.T) {
	unknownCA := harness.NewCA(t, "unknown-ca")
	cert := unknownCA.Issue(t, "etcd")
	up := harness.StartEtcd(t, harness.EtcdOptions{ClientCertFile: cert.CertFile, ClientKeyFile: cert.KeyFile})
	endpoint := up.Endpoints()[0]
	if !strings.HasPrefix(endpoint, "https://") {
		t.Fatalf("etcd serves %s, not TLS", endpoint)
	}

	skipping := startHerald(t, "--endpoints", endpoint, "--insecure-skip-tls-verify")
	if err := roundTrip(skipping, nil); err != nil {
		t.Fatalf("through herald with --insecure-skip-tls-verify: %v", err)
	}

	verifying := startHerald(t, "--endpoints", endpoint)
	err := roundTrip(verifying, nil)
	wantRefused(t, "through herald without --insecure-skip-tls-verify", err, "certificate signed by unknown authority")
}

func TestTLSVersionAndCipherLimits(t *testing.T) {
	up := harness.StartEtcd(t, harness.EtcdOptions{})
	ca := harness.NewCA(t, "ca")
	server := ca.Issue(t, "herald")
	serving := []string{"--endpoints", up.Endpoints()[0], "--cert-file", server.CertFile, "--key-file", server.KeyFile}

	only13 := startHerald(t, append(serving, "--tls-min-version", "TLS1.3")...)
	old := ca.ClientTLS(t, nil)
	old.MaxVersion = tls.VersionTLS12
	_, err := handshake(only13, old)
	wantRefused(t, "a TLS1.2 client against --tls-min-version TLS1.3", err, "protocol version not supported")
	if err := roundTrip(only13, ca.ClientTLS(t, nil)); err != nil {
		t.Fatalf("a TLS1.3 client against --tls-min-version TLS1.3: %v", err)
	}

	const suite = "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256" // the test CA's keys are ECDSA
	only12 := startHerald(t, append(serving, "--tls-max-version", "TLS1.2", "--listen-cipher-suites", suite)...)
	recent := ca.ClientTLS(t, nil)
	recent.MinVersion = tls.VersionTLS13
	_, err = handshake(only12, recent)
	wantRefused(t, "a TLS1.3 client against --tls-max-version TLS1.2", err, "protocol version not supported")
	other := ca.ClientTLS(t, nil)
	other.CipherSuites = []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384}
	_, err = handshake(only12, other)
	wantRefused(t, "a client without the --listen-cipher-suites suite", err, "handshake failure")
	state, err := handshake(only12, ca.ClientTLS(t, nil))
	if err != nil {
		t.Fatal(err)
	}
	if state.Version != tls.VersionTLS12 || tls.CipherSuiteName(state.CipherSuite) != suite {
		t.Fatalf("negotiated %s with %s; want TLS1.2 with %s", tls.VersionName(state.Version), tls.CipherSuiteName(state.CipherSuite), suite)
	}
	if err := roundTrip(only12, ca.ClientTLS(t, nil)); err != nil {
		t.Fatalf("a default client against --tls-max-version TLS1.2: %v", err)
	}
}

func mustParse(t *testing.T, der []byte) *x509.Certificate {
	t.Helper()
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

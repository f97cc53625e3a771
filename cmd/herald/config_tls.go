package main

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"strings"

	"go.etcd.io/etcd/client/pkg/v3/tlsutil"
)

// servesTLS says whether herald serves its clients over TLS.
func (c *Config) servesTLS() bool { return c.CertFile != "" || c.AutoTLS }

// validateTLS checks the TLS settings that etcd grpc-proxy checks (in its
// checkArgs), with its messages, and refuses the combinations in which a
// setting would silently do nothing.
func (c *Config) validateTLS() error {
	if c.InsecureSkipTLSVerify && len(c.Endpoints) == 0 {
		return &configError{"insecure-skip-tls-verify", c.InsecureSkipTLSVerify, "needs --endpoints (the embedded etcd is reached in plain text)"}
	}
	if c.EndpointsAutoSyncInterval < 0 {
		return &configError{"endpoints-auto-sync-interval", c.EndpointsAutoSyncInterval, "must not be negative (0 disables it)"}
	}
	if c.AutoTLS && c.SelfSignedCertValidity == 0 {
		return &configError{"self-signed-cert-validity", c.SelfSignedCertValidity, "must be greater than 0 (years) with --auto-tls"}
	}
	minVersion, err := tlsutil.GetTLSVersion(c.TLSMinVersion)
	if err != nil {
		return &configError{"tls-min-version", c.TLSMinVersion, err.Error()}
	}
	maxVersion, err := tlsutil.GetTLSVersion(c.TLSMaxVersion)
	if err != nil {
		return &configError{"tls-max-version", c.TLSMaxVersion, err.Error()}
	}
	// A max of 0 lets Go choose the highest version it supports.
	if maxVersion != 0 && minVersion > maxVersion {
		return &configError{"tls-min-version", c.TLSMinVersion, fmt.Sprintf("min version (%s) is greater than max version (%s)", c.TLSMinVersion, c.TLSMaxVersion)}
	}
	if len(c.CipherSuites) > 0 {
		if _, err := tlsutil.GetCipherSuites(c.CipherSuites); err != nil {
			return &configError{"listen-cipher-suites", strings.Join(c.CipherSuites, ","), err.Error()}
		}
		// Go does not let TLS 1.3's suites be chosen.
		if minVersion == tls.VersionTLS13 {
			return &configError{"listen-cipher-suites", strings.Join(c.CipherSuites, ","), "cipher suites cannot be configured when only TLS1.3 is enabled"}
		}
	}
	if c.ClientCRLFile != "" {
		if err := checkCRLFile(c.ClientCRLFile); err != nil {
			return &configError{"client-crl-file", c.ClientCRLFile, err.Error()}
		}
	}
	return nil
}

// checkCRLFile reads the revocation list as etcd does at every handshake:
// DER, not PEM. A file etcd could not read would refuse every client
// certificate.
func checkCRLFile(path string) error {
	der, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if _, err := x509.ParseRevocationList(der); err != nil {
		if block, _ := pem.Decode(der); block != nil && block.Type == "X509 CRL" {
			return fmt.Errorf("a PEM revocation list; etcd reads it as DER (openssl crl -in %s -outform DER)", path)
		}
		return fmt.Errorf("not a DER certificate revocation list: %w", err)
	}
	return nil
}

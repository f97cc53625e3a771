package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"os"

	"github.com/heraldproj/herald/gossip/membership"
)

// checkFiles reads every file the configuration names, as start would,
// so that --check-config refuses a missing or unreadable certificate, key,
// CA bundle or fleet key, and start fails before it announces anything.
func (c *Config) checkFiles() error {
	pairs := []struct{ certSetting, cert, key string }{
		{"cert", c.Cert, c.Key},
		{"cert-file", c.CertFile, c.KeyFile},
	}
	for _, p := range pairs {
		if p.cert == "" {
			continue
		}
		if _, err := tls.LoadX509KeyPair(p.cert, p.key); err != nil {
			return &configError{p.certSetting, p.cert, "cannot load the certificate and its key: " + err.Error()}
		}
	}
	for _, ca := range []struct{ setting, path string }{{"cacert", c.CACert}, {"trusted-ca-file", c.TrustedCAFile}} {
		if ca.path == "" {
			continue
		}
		if err := checkCABundle(ca.path); err != nil {
			return &configError{ca.setting, ca.path, err.Error()}
		}
	}
	if c.GossipAddr != "" {
		if _, err := membership.LoadKey(c.GossipKeyFile); err != nil {
			return &configError{"gossip-key-file", c.GossipKeyFile, err.Error()}
		}
	}
	return nil
}

// checkCABundle reads a PEM bundle and wants at least one certificate in it.
func checkCABundle(path string) error {
	pem, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if !x509.NewCertPool().AppendCertsFromPEM(pem) {
		return errors.New("no PEM certificate in it")
	}
	return nil
}

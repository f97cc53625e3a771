package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
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
		pair, err := tls.LoadX509KeyPair(p.cert, p.key)
		if err != nil {
			return &configError{p.certSetting, p.cert, "cannot load the certificate and its key: " + err.Error()}
		}
		if p.certSetting == "cert" {
			if err := checkEmptyCN(pair, p.cert); err != nil {
				return &configError{p.certSetting, p.cert, err.Error()}
			}
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

// checkEmptyCN refuses an upstream client certificate with a Common Name,
// as etcd grpc-proxy does (etcd issue 11970), with its message. etcd with
// --client-cert-auth takes a certificate's CN as the user of every request
// without a token: through herald's connection, every client that sends
// none would act as that user.
func checkEmptyCN(pair tls.Certificate, path string) error {
	leaf, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		return err
	}
	if cn := leaf.Subject.CommonName; cn != "" {
		return fmt.Errorf("cert has non empty Common Name (%s): %s; etcd would take it as the user of every client herald passes through without a token (etcd grpc-proxy refuses it too)", cn, path)
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

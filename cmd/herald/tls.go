package main

import (
	"crypto/tls"
	"log/slog"
	"net/url"
	"path/filepath"

	"go.etcd.io/etcd/client/pkg/v3/tlsutil"
	"go.etcd.io/etcd/client/pkg/v3/transport"
	"go.uber.org/zap"
)

// listenTLSInfo is the TLS herald serves its clients, nil for plain text,
// built as etcd grpc-proxy builds it: from --cert-file/--key-file/
// --trusted-ca-file, or, with none of them, a self-signed certificate for
// --auto-tls; then --listen-cipher-suites, --tls-min-version,
// --tls-max-version and --client-crl-file on top.
func listenTLSInfo(cfg *Config, log *slog.Logger) (*transport.TLSInfo, error) {
	var info *transport.TLSInfo
	switch {
	case cfg.CertFile != "":
		info = &transport.TLSInfo{
			CertFile:       cfg.CertFile,
			KeyFile:        cfg.KeyFile,
			TrustedCAFile:  cfg.TrustedCAFile,
			ClientCertAuth: cfg.ClientCertAuth,
		}
		if cfg.AutoTLS {
			log.Warn("--auto-tls ignored: --cert-file is given")
		}
	case cfg.AutoTLS:
		dir := filepath.Join(cfg.DataDir, "fixtures", "proxy")
		self, err := transport.SelfCert(zap.NewNop(), dir, selfCertHosts(cfg), cfg.SelfSignedCertValidity)
		if err != nil {
			return nil, &configError{"auto-tls", cfg.AutoTLS, "generate a certificate in " + dir + ": " + err.Error()}
		}
		log.Warn("--auto-tls: serving clients with a self-signed certificate", "cert", self.CertFile)
		info = &self
	default:
		return nil, nil
	}
	// Validate has checked the names; the errors cannot happen.
	if len(cfg.CipherSuites) > 0 {
		cs, err := tlsutil.GetCipherSuites(cfg.CipherSuites)
		if err != nil {
			return nil, &configError{"listen-cipher-suites", cfg.CipherSuites, err.Error()}
		}
		info.CipherSuites = cs
	}
	var err error
	if info.MinVersion, err = tlsutil.GetTLSVersion(cfg.TLSMinVersion); err != nil {
		return nil, &configError{"tls-min-version", cfg.TLSMinVersion, err.Error()}
	}
	if info.MaxVersion, err = tlsutil.GetTLSVersion(cfg.TLSMaxVersion); err != nil {
		return nil, &configError{"tls-max-version", cfg.TLSMaxVersion, err.Error()}
	}
	info.CRLFile = cfg.ClientCRLFile
	return info, nil
}

// selfCertHosts are the names the --auto-tls certificate is made for: the
// hosts of --listen-addr and of the advertised client URLs, as host:port
// (transport.SelfCert splits off the port).
func selfCertHosts(cfg *Config) []string {
	hosts := []string{cfg.ListenAddr}
	for _, raw := range cfg.AdvertiseClientURLs {
		if u, err := url.Parse(raw); err == nil && u.Port() != "" {
			hosts = append(hosts, u.Host)
		}
	}
	return hosts
}

// serverTLS is the configuration of herald's client listener. A client
// certificate on the --client-crl-file list fails the handshake; the list
// is read again at each handshake, so an updated file applies at once.
func serverTLS(cfg *Config, info *transport.TLSInfo) (*tls.Config, error) {
	if info == nil {
		return nil, nil
	}
	c, err := info.ServerConfig()
	if err != nil {
		return nil, &configError{"cert-file", cfg.CertFile, err.Error()}
	}
	info.ConfigureCRLVerification(c)
	return c, nil
}

// peerTLS is how a herald reaches its peers' https client URLs (forwarded
// lease calls, relayed calls): it verifies them with --trusted-ca-file and
// presents its own serving certificate as a client certificate. With
// --auto-tls, peers' certificates are self-signed and not verified.
func peerTLS(cfg *Config, info *transport.TLSInfo) (*tls.Config, error) {
	if info == nil {
		return nil, nil
	}
	c, err := info.ClientConfig()
	if err != nil {
		return nil, &configError{"cert-file", cfg.CertFile, err.Error()}
	}
	return c, nil
}

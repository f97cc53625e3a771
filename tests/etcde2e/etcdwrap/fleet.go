package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"time"

	"go.etcd.io/etcd/client/pkg/v3/transport"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// gossipPortOffset puts a herald's gossip port (and, one above it, its
// broadcast port) at a fixed distance from its listen port, so that every
// herald of a cluster can compute every other's. The framework's ports
// start at 20000 (member i: client 20000+5i, peer +1, proxy +3), so the
// gossip ports stay below the kernel's ephemeral range (32768 and up), and
// above the ports tests/harness hands out (below 30000), so that a test
// run beside the e2e suite never takes one.
const gossipPortOffset = 10000

// proxyPortFromPeer is where the framework puts member i's proxy relative
// to its peer port: client = base+5i, peer = base+5i+1, proxy = base+5i+3.
const proxyPortFromPeer = 2

// fleetPeers asks the upstream for its members and returns the gossip
// address of the herald in front of each, ours first. The heralds in front
// of one etcd cluster form one fleet, as the framework's clients list all of
// them. The peer URLs are used, not the client URLs: a member that has not
// published itself yet has none.
func fleetPeers(t translation, listenPort int) ([]string, error) {
	endpoints := list(t, "endpoints")
	tlsCfg, err := upstreamTLS(t)
	if err != nil {
		return nil, err
	}
	cli, err := clientv3.New(clientv3.Config{Endpoints: endpoints, TLS: tlsCfg, DialTimeout: 5 * time.Second})
	if err != nil {
		return nil, err
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := cli.MemberList(ctx)
	if err != nil {
		return nil, fmt.Errorf("member list at %v: %w", endpoints, err)
	}
	self := gossipAddr(listenPort)
	out := []string{self}
	for _, m := range resp.Members {
		if len(m.PeerURLs) == 0 {
			continue
		}
		u, err := url.Parse(m.PeerURLs[0])
		if err != nil {
			return nil, err
		}
		p, err := strconv.Atoi(u.Port())
		if err != nil {
			return nil, fmt.Errorf("peer URL %s: %w", m.PeerURLs[0], err)
		}
		if a := gossipAddr(p + proxyPortFromPeer); a != self {
			out = append(out, a)
		}
	}
	return out, nil
}

func gossipAddr(listenPort int) string {
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(listenPort+gossipPortOffset))
}

// upstreamTLS is the TLS grpc-proxy's flags ask of the upstream: nil
// without a CA or certificate, and unverified with
// --insecure-skip-tls-verify (the framework's auto-TLS clusters).
func upstreamTLS(t translation) (*tls.Config, error) {
	ca, _ := anyFlag(t, "cacert")
	cert, _ := anyFlag(t, "cert")
	key, _ := anyFlag(t, "key")
	_, skip := anyFlag(t, "insecure-skip-tls-verify")
	if ca == "" && cert == "" && !skip {
		return nil, nil
	}
	info := transport.TLSInfo{TrustedCAFile: ca, CertFile: cert, KeyFile: key, InsecureSkipVerify: skip}
	return info.ClientConfig()
}

// anyFlag looks a flag up whether herald kept or dropped it.
func anyFlag(t translation, name string) (string, bool) {
	if v, ok := t.lookup(name); ok {
		return v, true
	}
	for _, f := range t.dropped {
		if f.name == name {
			return f.value, true
		}
	}
	return "", false
}

// list reads a comma-separated flag; the URLs keep their scheme, which
// clientv3 accepts.
func list(t translation, name string) []string {
	v, _ := anyFlag(t, name)
	var out []string
	for _, s := range splitComma(v) {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

package proxy

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/url"
	"strings"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// Metadata of calls that one herald forwards to another, as the owner of a
// virtual lease.
const (
	// forwardedKey names the herald that forwarded the call. The receiver
	// answers as the lease's owner or refuses with errMoved; it never
	// forwards the call again.
	forwardedKey = "herald-forwarded"
)

// errMoved is a forwarded call's answer from a herald that no longer owns
// the lease: the sender routes the call again.
var errMoved = status.Error(codes.Unavailable, "herald: this herald does not own the lease (it moved); retry")

// forwarded reports whether the call was forwarded by another herald.
func forwarded(ctx context.Context) bool {
	return len(metadata.ValueFromIncomingContext(ctx, forwardedKey)) > 0
}

// forwardCtx is the context of a call forwarded to a peer: the client's
// forwarded metadata (its token and the rest etcd reads) plus the mark.
func (p *peers) forwardCtx(ctx context.Context) context.Context {
	return metadata.AppendToOutgoingContext(outgoing(ctx), forwardedKey, p.self)
}

// errPeersClosed is conn's answer after Close: herald is shutting down.
var errPeersClosed = status.Error(codes.Unavailable, "herald: shutting down")

// peers are the gRPC connections to other heralds' client ports, by URL,
// for forwarding lease calls to their owners. A connection is made on first
// use and kept until Close.
type peers struct {
	self string
	tls  *tls.Config // for https:// peers; nil uses the system roots

	// mu guards conns and closed. It is a leaf, and never held while a
	// connection is closed (closing waits for the connection's goroutines);
	// grpc.NewClient, called under it, does no I/O.
	mu     sync.Mutex
	conns  map[string]*grpc.ClientConn
	closed bool // by Close: a handler still running gets no new connection
}

func newPeers(self string, tlsCfg *tls.Config) *peers {
	return &peers{self: self, tls: tlsCfg, conns: map[string]*grpc.ClientConn{}}
}

// conn returns the connection to the herald at rawURL.
func (p *peers) conn(rawURL string) (*grpc.ClientConn, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, errPeersClosed
	}
	if c, ok := p.conns[rawURL]; ok {
		return c, nil
	}
	target, creds, err := p.dialTarget(rawURL)
	if err != nil {
		return nil, err
	}
	c, err := grpc.NewClient(target, grpc.WithTransportCredentials(creds))
	if err != nil {
		return nil, fmt.Errorf("proxy: peer %s: %w", rawURL, err)
	}
	p.conns[rawURL] = c
	return c, nil
}

func (p *peers) dialTarget(rawURL string) (string, credentials.TransportCredentials, error) {
	if !strings.Contains(rawURL, "://") {
		return rawURL, insecure.NewCredentials(), nil
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", nil, fmt.Errorf("proxy: peer URL %q: %w", rawURL, err)
	}
	if u.Scheme == "https" {
		cfg := p.tls
		if cfg == nil {
			cfg = &tls.Config{MinVersion: tls.VersionTLS12}
		}
		return u.Host, credentials.NewTLS(cfg), nil
	}
	return u.Host, insecure.NewCredentials(), nil
}

// Close closes every connection; conn makes none after it. A handler that
// gRPC's Stop did not wait for may still ask for one.
func (p *peers) Close() {
	p.mu.Lock()
	p.closed = true
	conns := p.conns
	p.conns = map[string]*grpc.ClientConn{}
	p.mu.Unlock()
	for _, c := range conns {
		c.Close()
	}
}

package relay

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/url"
	"slices"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/keepalive"
)

// maxPeerConns bounds the connections a herald keeps to peers: a fleet
// may have thousands of members, and a couple of live connections are
// enough to relay through.
const maxPeerConns = 3

// peerPool dials peers lazily, caches one connection per URL and closes a
// connection when its peer leaves the list.
type peerPool struct {
	list func() []string
	dial func(peerURL string) (*grpc.ClientConn, error)
	log  *slog.Logger
	// start picks where in the peer list to look for a peer to dial
	// (rand.IntN; tests fix it).
	start func(n int) int

	// mu guards conns and closed. It is never held while a connection is
	// closed (closing waits for the connection's goroutines).
	mu     sync.Mutex
	conns  map[string]*grpc.ClientConn
	closed bool
}

func newPeerPool(list func() []string, dial func(string) (*grpc.ClientConn, error), log *slog.Logger) *peerPool {
	return &peerPool{list: list, dial: dial, log: log, start: rand.IntN, conns: map[string]*grpc.ClientConn{}}
}

// pick returns a connection to a listed peer that is not in avoid,
// preferring one that is connected, then one that is connecting or idle
// (the call connects it), then a peer not dialled yet (evicting a failed
// connection when the pool is full), and last a connection that is
// failing (the call fails fast and the caller rotates). ok is false when
// no peer is left to try.
func (p *peerPool) pick(avoid []string) (peerURL string, conn *grpc.ClientConn, ok bool) {
	listed := p.list()
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return "", nil, false
	}
	stale := p.dropUnlistedLocked(listed)
	peerURL, conn = p.chooseLocked(listed, avoid, &stale)
	p.mu.Unlock()
	closeAll(stale)
	return peerURL, conn, conn != nil
}

func (p *peerPool) chooseLocked(listed, avoid []string, stale *[]*grpc.ClientConn) (string, *grpc.ClientConn) {
	var idle, failing string
	for u, c := range p.conns {
		if slices.Contains(avoid, u) {
			continue
		}
		switch c.GetState() {
		case connectivity.Ready:
			return u, c
		case connectivity.Idle, connectivity.Connecting:
			idle = u
		case connectivity.TransientFailure:
			failing = u
		}
	}
	if idle != "" {
		return idle, p.conns[idle]
	}
	if u := p.undialledLocked(listed, avoid); u != "" && p.makeRoomLocked(avoid, stale) {
		// grpc.NewClient does no I/O: the connection is made by the call.
		c, err := p.dial(u)
		if err == nil {
			p.conns[u] = c
			return u, c
		}
		p.log.Warn("relay: cannot dial peer", "url", u, "err", err)
	}
	if failing != "" {
		return failing, p.conns[failing]
	}
	return "", nil
}

// undialledLocked returns a listed peer with no connection yet, not in
// avoid, starting from a random place in the list so that the heralds cut
// off together spread over the fleet.
func (p *peerPool) undialledLocked(listed, avoid []string) string {
	if len(listed) == 0 {
		return ""
	}
	start := p.start(len(listed))
	for i := range listed {
		u := listed[(start+i)%len(listed)]
		if _, dialled := p.conns[u]; !dialled && !slices.Contains(avoid, u) {
			return u
		}
	}
	return ""
}

// makeRoomLocked reports whether one more connection fits, evicting a
// connection that failed (its state, or this very call) when the pool is
// full.
func (p *peerPool) makeRoomLocked(avoid []string, stale *[]*grpc.ClientConn) bool {
	if len(p.conns) < maxPeerConns {
		return true
	}
	for u, c := range p.conns {
		if slices.Contains(avoid, u) || c.GetState() == connectivity.TransientFailure {
			delete(p.conns, u)
			*stale = append(*stale, c)
			return true
		}
	}
	return false
}

// prune closes the connections of peers that left the list; it does not
// ask for the list when nothing is cached.
func (p *peerPool) prune() {
	p.mu.Lock()
	empty := len(p.conns) == 0
	p.mu.Unlock()
	if empty {
		return
	}
	listed := p.list()
	p.mu.Lock()
	stale := p.dropUnlistedLocked(listed)
	p.mu.Unlock()
	closeAll(stale)
}

func (p *peerPool) dropUnlistedLocked(listed []string) []*grpc.ClientConn {
	var stale []*grpc.ClientConn
	for u, c := range p.conns {
		if !slices.Contains(listed, u) {
			delete(p.conns, u)
			stale = append(stale, c)
		}
	}
	return stale
}

func (p *peerPool) size() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.conns)
}

// close closes every peer connection; calls on them end with
// codes.Canceled, and pick finds no peer from then on.
func (p *peerPool) close() {
	p.mu.Lock()
	p.closed = true
	stale := make([]*grpc.ClientConn, 0, len(p.conns))
	for u, c := range p.conns {
		delete(p.conns, u)
		stale = append(stale, c)
	}
	p.mu.Unlock()
	closeAll(stale)
}

func closeAll(conns []*grpc.ClientConn) {
	for _, c := range conns {
		c.Close()
	}
}

// peerDialer returns the function that connects to a peer's client URL:
// plain text for http, TLS with tlsCfg for https, and gRPC's limits set as
// clientv3 sets them towards etcd (an answer relayed from etcd may be as
// large as etcd's), then extra, which may override any of them.
func peerDialer(tlsCfg *tls.Config, extra []grpc.DialOption) func(string) (*grpc.ClientConn, error) {
	return func(peerURL string) (*grpc.ClientConn, error) {
		u, err := url.Parse(peerURL)
		if err != nil {
			return nil, fmt.Errorf("relay: peer URL %q: %w", peerURL, err)
		}
		if u.Host == "" {
			return nil, fmt.Errorf("relay: peer URL %q has no host", peerURL)
		}
		var creds credentials.TransportCredentials
		switch u.Scheme {
		case "http":
			creds = insecure.NewCredentials()
		case "https":
			cfg := &tls.Config{MinVersion: tls.VersionTLS12}
			if tlsCfg != nil {
				cfg = tlsCfg.Clone()
			}
			creds = credentials.NewTLS(cfg)
		default:
			return nil, fmt.Errorf("relay: peer URL %q: scheme must be http or https", peerURL)
		}
		opts := append([]grpc.DialOption{
			grpc.WithTransportCredentials(creds),
			grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(math.MaxInt32)),
			// Notice a dead peer under a long stream; herald's server
			// refuses pings more often than every 5 s.
			grpc.WithKeepaliveParams(keepalive.ClientParameters{Time: 10 * time.Second, Timeout: 5 * time.Second}),
		}, extra...)
		c, err := grpc.NewClient(u.Host, opts...)
		if err != nil {
			return nil, fmt.Errorf("relay: peer %s: %w", peerURL, err)
		}
		return c, nil
	}
}

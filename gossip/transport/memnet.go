package transport

import (
	"fmt"
	"sync"
)

// Network is an in-memory network for unit tests: endpoints registered by
// address exchange frames through channels, without sockets, encoding or
// authentication. Like TCP, Send to an address nobody listens on succeeds
// and the frame is lost.
type Network struct {
	mu  sync.Mutex
	eps map[string]*MemTransport
}

// NewNetwork returns an empty network.
func NewNetwork() *Network { return &Network{eps: make(map[string]*MemTransport)} }

// Listen registers an endpoint at addr whose frames arrive at peers with
// From set to id. Its Recv channel holds queueLen frames (default 1024);
// a Send to a full endpoint reports ErrQueueFull.
func (n *Network) Listen(addr, id string, queueLen int) (*MemTransport, error) {
	if queueLen <= 0 {
		queueLen = 1024
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if _, ok := n.eps[addr]; ok {
		return nil, fmt.Errorf("transport: memnet address %s in use", addr)
	}
	m := &MemTransport{net: n, addr: addr, id: id, recv: make(chan Frame, queueLen)}
	n.eps[addr] = m
	return m, nil
}

// MemTransport is one endpoint of a Network.
type MemTransport struct {
	net    *Network
	addr   string
	id     string
	recv   chan Frame
	closed bool // guarded by net.mu
}

var _ Transport = (*MemTransport)(nil)

// Addr is the endpoint's address.
func (m *MemTransport) Addr() string { return m.addr }

// Send implements Transport; it never blocks.
func (m *MemTransport) Send(to string, frame []byte) error {
	m.net.mu.Lock()
	defer m.net.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	dst := m.net.eps[to]
	if dst == nil {
		return nil
	}
	select {
	case dst.recv <- Frame{From: m.id, Data: frame}:
		return nil
	default:
		return ErrQueueFull
	}
}

// Recv implements Transport.
func (m *MemTransport) Recv() <-chan Frame { return m.recv }

// Keep implements Transport: an in-memory endpoint has no connections to
// set up, so there is nothing to keep.
func (m *MemTransport) Keep([]string) {}

// Close implements Transport: the endpoint leaves the network and its Recv
// channel is closed.
func (m *MemTransport) Close() error {
	m.net.mu.Lock()
	defer m.net.mu.Unlock()
	if m.closed {
		return nil
	}
	m.closed = true
	delete(m.net.eps, m.addr)
	close(m.recv)
	return nil
}

// Package relay is herald's upstream path through a peer herald: a herald
// cut off from etcd, but not from its fleet, sends its upstream gRPC calls
// to a peer, which passes them as raw frames to its own etcd connection.
//
// It owns four pieces, all generic over gRPC methods (unary and streaming
// alike, no per-method code):
//
//   - the "herald-relay" codec and Frame: the relaying herald marshals its
//     requests as ordinary protobuf, the peer keeps every message as the
//     bytes that crossed the wire and never decodes etcd's messages;
//   - Token: the secret, derived from the fleet key, that a relayed call
//     carries so that only fleet members can relay;
//   - Handler: the peer's side, an unknown-service handler for herald's
//     client-facing gRPC server that serves "/herald.relay/<method>" and
//     leaves every other unknown method as gRPC would;
//   - Switch: the relaying herald's side, a grpc.ClientConnInterface that
//     sends each new call direct to etcd while etcd answers the probes and
//     through a peer while it does not.
//
// It must not touch what it relays: no etcd message is decoded on the peer,
// no status, code, message or metadata is rewritten on the way back, and
// the relay adds no retry of its own once a request may have been sent. It
// does not own the connections it is given (the direct connection to etcd,
// the upstream of a Handler) and never closes them; it owns only the
// connections it dials to peers. It does not know the fleet: peers' URLs
// come from a function the caller supplies. It does not wire itself into
// herald: cmd/herald and proxy/ do that.
//
// Lock order: peerPool.mu (peers.go) is the package's only mutex, and a
// leaf. It is never held while a connection is closed or while the
// caller's peer list is read; grpc.NewClient, called under it, does no
// I/O. Switch keeps its state in atomics. docs/lock-order.md lists every
// package's order.
package relay

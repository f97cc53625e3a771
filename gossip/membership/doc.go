// Package membership says who is in the herald fleet. It wraps
// hashicorp/memberlist (SWIM with Lifeguard): join by a seed list, the fleet's
// encryption key, a compact metadata record per member (herald id, gRPC
// client address, gossip transport address, roles) and join / leave / fail /
// update events delivered to subscribers.
//
// It owns every import of memberlist in herald: nothing else may import it.
// It carries membership only — memberlist's broadcast queue is too slow for
// watch events at fleet scale (memberlist #299), so events travel over
// gossip/transport driven by gossip/plumtree. It must not touch the
// transport, the broadcast protocol or anything above gossip/.
//
// # The fleet key
//
// One key is shared by every herald of a fleet (the --gossip-key-file flag).
// It encrypts and authenticates memberlist's traffic (AES-GCM) and, through a
// derived key, authenticates every frame of gossip/transport. The key file
// holds either the raw key (exactly 16, 24 or 32 bytes, AES-128/192/256) or
// its standard base64 encoding (surrounding whitespace ignored). If the file's
// trimmed text is valid base64 of 16, 24 or 32 bytes it is read as base64;
// otherwise the file's exact bytes must be 16, 24 or 32 long. Generate one
// with:
//
//	head -c 32 /dev/urandom | base64 > fleet.key
//
// # Lock order
//
//	Membership.closeMu → memberlist's locks → metaDelegate.mu, view.mu, subscribers.mu
//	memberlist's locks → the Carrier's lock (gossip.Piggyback.mu, a leaf)
//
// memberlist calls the delegates (NodeMeta; NotifyJoin, NotifyLeave,
// NotifyUpdate) under its node lock, from its own goroutines and from
// UpdateNode and Leave, so no lock of this package is held while calling
// memberlist (UpdateMeta sets the metadata, then calls UpdateNode).
// metaDelegate.mu, view.mu and subscribers.mu are leaves and never nest (an
// event updates the view, then publishes); subscribers.mu sends to
// subscriptions without blocking. closeMu makes Close idempotent and is
// held, by design, across the leave's network I/O (bounded by Close's
// timeout): a second Close waits for the first. docs/lock-order.md lists
// every package's order.
package membership

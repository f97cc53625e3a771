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
package membership

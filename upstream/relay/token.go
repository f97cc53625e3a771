package relay

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
)

// MetadataKey is the gRPC metadata key that carries the relay token on a
// relayed call. The peer removes it before the call reaches etcd.
const MetadataKey = "herald-relay"

// tokenLabel separates the relay token from anything else derived from the
// same fleet key; changing it changes every token, so a fleet must agree.
const tokenLabel = "herald relay token v1"

// Token derives the relay token from the fleet's shared key (the gossip
// encryption key): HMAC-SHA256 of a fixed label, hex encoded. Every member
// of a fleet computes the same token, and the token reveals nothing of the
// key. With no fleet key the token is a public constant: relaying is then
// open to any client of the herald's port, which can already call etcd
// through it, but could bypass herald's lease offloading.
func Token(fleetKey []byte) string {
	m := hmac.New(sha256.New, fleetKey)
	m.Write([]byte(tokenLabel))
	return hex.EncodeToString(m.Sum(nil))
}

// tokenMatches reports whether got carries exactly one value equal to
// want, compared in constant time. An empty want matches nothing, so a
// Handler given no token refuses every relayed call.
func tokenMatches(got []string, want string) bool {
	if want == "" || len(got) != 1 {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(got[0]), []byte(want)) == 1
}

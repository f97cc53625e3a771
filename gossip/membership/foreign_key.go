package membership

import (
	"errors"
	"strings"
)

// ErrForeignKey is New's error when a seed answered, but under another
// fleet key: this herald's --gossip-key-file is not that fleet's. Rather
// than run as a fleet of one (and feed its own clients from etcd), herald
// refuses to start.
var ErrForeignKey = errors.New("membership: a seed answered under another fleet key")

// foreignKeyErrors are memberlist's errors for a state exchange sealed with
// a key this member does not have, or not sealed at all (memberlist's
// security.go and net.go).
var foreignKeyErrors = []string{
	"no installed keys could decrypt the message",
	"remote state is encrypted and encryption is not configured",
	"encryption is configured but remote state is not encrypted",
}

// foreignKey reports whether a failed join failed on another fleet key.
func foreignKey(err error) bool {
	if err == nil {
		return false
	}
	for _, s := range foreignKeyErrors {
		if strings.Contains(err.Error(), s) {
			return true
		}
	}
	return false
}

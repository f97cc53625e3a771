package relay

import "time"

// Defaults of the switching rule. Two consecutive failures, not one: a
// single slow linearizable read (a leader election, a compaction) must not
// move the whole herald. With a probe every 500 ms bounded by 400 ms, a
// herald is on the relay about 1 s after etcd stops answering when the
// connection fails fast, and at most 1.8 s after when it hangs (two probe
// timeouts); a fleet session's TTL (2 s by default) must leave room for
// that and for restarting the session's keepalive on the relay. Two
// consecutive successes bring it back: the relay works meanwhile, so there
// is no hurry, and a direct path that answers every other probe keeps the
// herald where it is instead of flapping. Each probe is a linearizable
// read at etcd: two per second per herald.
const (
	DefaultProbeInterval     = 500 * time.Millisecond
	DefaultProbeTimeout      = 400 * time.Millisecond
	DefaultFailuresToRelay   = 2
	DefaultSuccessesToDirect = 2
)

// rule decides, from the outcomes of successive probes of the direct
// path, which path new calls take. It is a plain state machine (no clock,
// no I/O) so that its table test covers every transition.
type rule struct {
	failuresToRelay   int
	successesToDirect int

	failures  int // consecutive failed probes
	successes int // consecutive successful probes
	relaying  bool
}

// observe records one probe and returns the path new calls take from now
// on and whether that changed. peerKnown is asked only when the rule would
// go to the relay: with no peer to relay through the Switch stays direct,
// but the failures keep counting, so it goes as soon as a peer is known
// and a probe fails again.
func (r *rule) observe(directOK bool, peerKnown func() bool) (relaying, changed bool) {
	if directOK {
		r.successes++
		r.failures = 0
	} else {
		r.failures++
		r.successes = 0
	}
	switch {
	case !r.relaying && r.failures >= r.failuresToRelay && peerKnown():
		r.relaying = true
		return true, true
	case r.relaying && r.successes >= r.successesToDirect:
		r.relaying = false
		return false, true
	}
	return r.relaying, false
}

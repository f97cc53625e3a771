package tests

import (
	"testing"

	"github.com/heraldproj/herald/tests/harness"
)

// TestConformanceLease: lease grant, attach, timetolive (--keys), list,
// keep-alive --once, revoke, and the errors on a revoked lease.
func TestConformanceLease(t *testing.T) {
	conformance(t, harness.EtcdOptions{}, func(s *session) {
		// A watcher of the whole key space sees exactly the clients' keys,
		// whatever herald keeps for itself.
		everything := s.background("", "watch", "", "--prefix", "--prev-kv")
		s.waitUpstreamWatchers(1)
		s.grant("l1", 100)
		s.run("put", "--lease={l1}", "k1", "v1")
		s.run("put", "--lease={l1}", "k2", "v2")
		s.run("put", "k3", "v3")
		s.run("put", "--lease={l1}", "k3", "v3b", "--prev-kv", "-w", "json")
		s.run("put", "k3", "v3c", "--ignore-lease")
		s.run("get", "k", "--prefix", "-w", "json")
		s.run("lease", "timetolive", "{l1}")
		s.run("lease", "timetolive", "{l1}", "--keys")
		s.run("lease", "timetolive", "{l1}", "--keys", "-w", "json")
		s.run("lease", "list")
		s.run("lease", "list", "-w", "json")
		s.run("lease", "keep-alive", "--once", "{l1}")
		s.run("lease", "keep-alive", "--once", "{l1}", "-w", "json")
		s.run("lease", "revoke", "{l1}")
		s.run("get", "k", "--prefix")
		s.run("lease", "timetolive", "{l1}")
		s.run("lease", "timetolive", "{l1}", "-w", "json")
		s.run("lease", "revoke", "{l1}")
		s.run("lease", "keep-alive", "--once", "{l1}")
		s.run("put", "--lease={l1}", "k4", "v4")
		s.run("put", "--lease=1234abcd", "k4", "v4")
		s.run("lease", "timetolive", "1234abcd")
		s.run("lease", "revoke", "1234abcd")
		s.run("lease", "list")
		s.run("lease", "grant", "-5")
		s.run("lease", "grant", "9999999999")
		s.run("lease", "grant", "100", "-w", "json")
		s.run("get", "", "--prefix", "--keys-only")
		s.run("get", "", "--from-key", "--count-only", "-w", "fields")
		s.run("put", "zz-end", "x")
		s.waitOutput(everything, "zz-end", 1)
		s.interrupt("watch \"\" --prefix --prev-kv", everything)
	})
}

// TestConformanceElect: a campaign in the background, an observer
// (elect -l), a second candidate that waits, and the hand-over when the first
// leader resigns.
func TestConformanceElect(t *testing.T) {
	conformance(t, harness.EtcdOptions{}, func(s *session) {
		first := s.background("", "elect", "myelection", "p1")
		s.waitOutput(first, "p1", 1)
		observer := s.background("", "elect", "-l", "myelection")
		s.waitOutput(observer, "p1", 1)
		second := s.background("", "elect", "myelection", "p2")
		s.waitKeys("myelection/", 2)
		s.record("second candidate before the first resigns", second.Stdout(), second.Stderr(), 0)
		s.run("get", "myelection/", "--prefix", "--sort-by", "CREATE")

		s.interrupt("elect myelection p1 (resigns)", first)
		s.waitOutput(second, "p2", 1)
		s.waitOutput(observer, "p2", 1)
		// The observer goes first: stopped after the leader resigns, it
		// could be caught in the middle of a Range, and say so on stderr.
		s.interrupt("elect -l myelection", observer)
		s.interrupt("elect myelection p2", second)
		s.run("get", "myelection/", "--prefix")
	})
}

// TestConformanceLock: a held lock, a second locker that waits until the
// first releases, and lock with a command.
func TestConformanceLock(t *testing.T) {
	conformance(t, harness.EtcdOptions{}, func(s *session) {
		first := s.background("", "lock", "mylock")
		s.waitOutput(first, "mylock/", 1)
		second := s.background("", "lock", "mylock")
		s.waitKeys("mylock/", 2)
		s.record("second locker while the first holds", second.Stdout(), second.Stderr(), 0)

		s.interrupt("lock mylock (releases)", first)
		s.waitOutput(second, "mylock/", 1)
		s.interrupt("lock mylock (second)", second)
		s.run("get", "mylock/", "--prefix", "--count-only", "-w", "fields")

		s.run("lock", "mylock", "echo", "hello")
		s.run("lock", "mylock", "--", "sh", "-c", "echo $ETCD_LOCK_KEY")
		s.run("lock", "--ttl", "5", "other", "--", "sh", "-c", "exit 3")
	})
}

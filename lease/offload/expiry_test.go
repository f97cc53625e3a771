package offload

import (
	"strings"
	"testing"
	"time"

	"github.com/heraldproj/herald/internal/clock"
	"github.com/heraldproj/herald/lease"
	"github.com/heraldproj/herald/tests/harness"
)

// TestExpiryWaitsForAConfirmedSession lets a lease run out in the table of
// a herald whose session keepalives cannot reach etcd (its unary calls
// can: a delete would run). The herald deletes nothing while it cannot
// confirm its session, even after the session expired at etcd; when etcd
// answers again it learns that the session ended, claims its carrier back
// under a new session, and the lease comes back with a full TTL. Left
// alone, it then expires, and its key goes. The virtual leases run on a
// manual clock: the test moves it, and counts the expiry rounds that find
// the lease expired and delete nothing.
func TestExpiryWaitsForAConfirmedSession(t *testing.T) {
	f := newFleet(t)
	// Long carriers: this test cuts the herald off for longer than a
	// carrier of 6 s is sure to live without renewals (the cut, then the
	// index's watch backing off before it reconnects).
	f.opts.CarrierTTL = 12
	clk := clock.NewManual(time.Now())
	f.opts.Clock = clk
	a := f.start("a")
	ks := a.o.Keyspace()

	id := a.grant(3)
	c := a.carrierOf(id)
	k := f.key("k")
	a.put(k, "v", id)
	oldSession := a.session()

	a.conn.cut(false, keepAliveMethod, watchMethod)
	waitUntil(t, "a's session unconfirmed in a's view", func() bool {
		a.o.mu.Lock()
		defer a.o.mu.Unlock()
		return !a.o.own.SessionValid(a.o.wall())
	})
	if _, v := a.keepAliveOnce(id); v != Hold {
		t.Fatalf("keepalive at a, its session unconfirmed: verdict %v, want Hold", v)
	}
	waitUntil(t, "a's session expired at etcd", func() bool { return !existsAt(t, ks.SessionKey("a")) })
	harness.AdvanceUntil(t, clk, 100*time.Millisecond, "the lease past its deadline in a's table", patience, func() bool {
		a.o.mu.Lock()
		defer a.o.mu.Unlock()
		return a.o.table.TimeToLive(lease.ID(id), a.o.now(), false).TTL == -1
	})
	// Ten rounds of the expiry loop later, each run to its end (the loop
	// and the intake's have armed their next timers on the clock again):
	for range 10 {
		waitUntil(t, "a's expiry loop and intake waiting on the clock", func() bool { return clk.Timers() == 2 })
		clk.Advance(f.opts.ExpiryInterval)
	}
	waitUntil(t, "a's last expiry round done", func() bool { return clk.Timers() == 2 })
	if !existsAt(t, []byte(k)) || !existsAt(t, ks.RecordKey(lease.ID(id))) {
		t.Fatal("a deleted an expired lease's key or record while it could not confirm its session")
	}
	if !a.holds(id) {
		t.Fatal("a collected the expired lease while it could not confirm its session")
	}

	a.conn.heal(false, keepAliveMethod, watchMethod)
	a.o.PathChanged()
	waitUntil(t, "a answering the lease's keepalives again", func() bool {
		ka, v := a.keepAliveOnce(id)
		return v == Answered && ka.TTL == 3
	})
	if !existsAt(t, []byte(k)) {
		t.Fatal("the lease came back without its key")
	}
	if s := a.session(); s == oldSession || s == lease.NoLease {
		t.Fatalf("a's session %x after the cut, want a new one (the old one, %x, expired)", uint64(s), uint64(oldSession))
	}
	if rec, ok := carrierRecordAt(t, ks, c); !ok || rec.Owner != "a" || rec.Session != a.session() {
		t.Fatalf("carrier record: %+v (found %v), want a under its new session", rec, ok)
	}

	harness.AdvanceUntil(t, clk, 100*time.Millisecond, "the lease, left alone, expired with its key", patience, func() bool {
		return !existsAt(t, []byte(k)) && !existsAt(t, ks.RecordKey(lease.ID(id)))
	})
}

// TestLapseIsGivenBackToTheLeases holds etcd's answers to the herald's
// session keepalives (etcd gets the keepalives: the session stays alive)
// while a client keeps its lease alive through the herald. Once the herald
// can no longer prove its session it holds the client's keepalives, and
// the lease runs past its deadline in the table. When the answers arrive
// they prove the session was alive all along: the lease gets the held time
// back (as etcd's leases get a fresh TTL at a leader change), its next
// keepalive is answered with its TTL, not as an ended lease, and its key
// stays.
func TestLapseIsGivenBackToTheLeases(t *testing.T) {
	f := newFleet(t)
	a := f.start("a")
	id := a.grant(1)
	k := f.key("k")
	a.put(k, "v", id)
	session := a.session()

	// The client: a keepalive every 300 ms, as long as the test runs.
	held := make(chan struct{}, 1)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(300 * time.Millisecond)
		defer tick.Stop()
		for {
			if _, v := a.keepAliveOnce(id); v == Hold {
				select {
				case held <- struct{}{}:
				default:
				}
			}
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	defer func() { close(stop); <-done }()

	a.conn.holdAnswers(keepAliveMethod)
	select {
	case <-held:
	case <-time.After(patience):
		t.Fatal("the client's keepalives were never held with the session's answers held")
	}
	waitUntil(t, "the lease past its deadline in a's table", func() bool {
		a.o.mu.Lock()
		defer a.o.mu.Unlock()
		return a.o.table.TimeToLive(lease.ID(id), a.o.now(), false).TTL == -1
	})
	a.conn.releaseAnswers(keepAliveMethod)

	waitUntil(t, "the lease's keepalive answered again", func() bool {
		_, v := a.keepAliveOnce(id)
		return v == Answered
	})
	if ka, _ := a.keepAliveOnce(id); ka.TTL != 1 {
		t.Fatalf("keepalive after the lapse answered TTL %d, want 1 (the lease was kept alive throughout)", ka.TTL)
	}
	if s := a.session(); s != session {
		t.Fatalf("a's session %x after the lapse, want %x (it never expired at etcd)", uint64(s), uint64(session))
	}
	if !existsAt(t, []byte(k)) {
		t.Fatal("the key of a lease kept alive throughout was deleted")
	}
	if !strings.Contains(a.log.String(), "could not vouch for virtual leases") {
		t.Fatalf("a's log does not say it extended its leases:\n%s", a.log.String())
	}
}

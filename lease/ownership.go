package lease

import (
	"slices"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
)

// Ownership is what this herald may act on as an owner: its session and
// the carriers it claimed, each valid until etcd could have expired it
// (docs/fleet-leases.md, "Sessions and ownership"). The driver reports
// every keepalive answer with the time the keepalive was sent; the table's
// leases on a carrier may be answered for only while Valid says so. Pure:
// time comes in as arguments.
type Ownership struct {
	margin       time.Duration
	session      ID
	sessionUntil time.Time
	blindSince   time.Time // when the session's certain life ran out, while no answer has renewed it yet
	carriers     map[ID]*ownedCarrier
}

type ownedCarrier struct {
	claimRev int64 // mod revision of the carrier record this herald wrote
	ttl      int64 // granted TTL, seconds: renewals are due every third of it
	until    time.Time
}

// NewOwnership tracks nothing yet. margin is taken off every validity, for
// clocks that run at slightly different rates here and at etcd.
func NewOwnership(margin time.Duration) *Ownership {
	return &Ownership{margin: margin, carriers: map[ID]*ownedCarrier{}}
}

// until is how long a lease that etcd answered with ttl seconds to a
// keepalive sent at sentAt is certainly alive: etcd counts the TTL from when
// it received the keepalive, which is later.
func (o *Ownership) until(sentAt time.Time, ttl int64) time.Time {
	return sentAt.Add(time.Duration(ttl)*time.Second - o.margin)
}

// SetSession starts tracking a new session lease, granted with ttl seconds
// by a grant sent at sentAt. Carriers claimed under another session are
// forgotten (see SessionLost): they must be claimed again under this one.
func (o *Ownership) SetSession(id ID, sentAt time.Time, ttl int64) {
	if id != o.session {
		clear(o.carriers)
	}
	o.session = id
	o.sessionUntil = o.until(sentAt, ttl)
	o.blindSince = time.Time{}
}

// Session is the session lease, NoLease if none.
func (o *Ownership) Session() ID { return o.session }

// Lapse is a stretch of time during which this herald could not vouch
// for its leases although its session was alive at etcd all along: from
// From, when the session's certain life ran out, until an answer renewed
// it, Length later. The zero Lapse is none.
type Lapse struct {
	From   time.Time
	Length time.Duration
}

// SessionRenewed records etcd's answer, received at now, to a keepalive of
// the session sent at sentAt. ttl ≤ 0 means etcd no longer knows the
// session: see SessionLost.
//
// If the session's certain life had run out before now, this answer proves
// that the session was alive at etcd through the gap (a lease etcd expired
// is never renewed again), and it returns the Lapse: the time this herald
// held its clients' keepalives for want of proof, which the caller gives
// back to the leases (Table.Extend), as etcd's lessor gives its leases a
// fresh TTL when a new leader takes over. An answer that comes too late to
// make the session valid at now leaves the lapse open, from its start.
func (o *Ownership) SessionRenewed(sentAt time.Time, ttl int64, now time.Time) Lapse {
	if ttl <= 0 || o.session == NoLease {
		return Lapse{}
	}
	if o.blindSince.IsZero() && !now.Before(o.sessionUntil) {
		o.blindSince = o.sessionUntil
	}
	if u := o.until(sentAt, ttl); u.After(o.sessionUntil) {
		o.sessionUntil = u
	}
	if o.blindSince.IsZero() || !now.Before(o.sessionUntil) {
		return Lapse{}
	}
	l := Lapse{From: o.blindSince, Length: now.Sub(o.blindSince)}
	o.blindSince = time.Time{}
	return l
}

// SessionLost forgets the session and every carrier claimed under it (a
// carrier is owned through the session that claimed it), and returns those
// carriers, ascending: the caller drops their leases and may claim them
// again under a new session.
func (o *Ownership) SessionLost() []ID {
	lost := o.Carriers()
	o.session = NoLease
	o.sessionUntil, o.blindSince = time.Time{}, time.Time{}
	clear(o.carriers)
	return lost
}

// SessionValid reports whether the session is certainly alive at now.
func (o *Ownership) SessionValid(now time.Time) bool {
	return o.session != NoLease && now.Before(o.sessionUntil)
}

// Claim records carrier c, granted with granted seconds, as owned, claimed
// with a record at revision rev, and alive for remaining seconds as etcd
// said in an answer (a grant, a keepalive, a TimeToLive) to a request sent
// at sentAt.
func (o *Ownership) Claim(c ID, rev int64, granted int64, sentAt time.Time, remaining int64) {
	o.carriers[c] = &ownedCarrier{claimRev: rev, ttl: granted, until: o.until(sentAt, remaining)}
}

// CarrierTTL is owned carrier c's granted TTL in seconds (0 if not owned).
func (o *Ownership) CarrierTTL(c ID) int64 {
	if oc := o.carriers[c]; oc != nil {
		return oc.ttl
	}
	return 0
}

// CarrierRenewed records a keepalive answer for carrier c. It reports false
// when etcd no longer knows c (ttl ≤ 0): c and its keys are gone, and the
// carrier is released.
func (o *Ownership) CarrierRenewed(c ID, sentAt time.Time, ttl int64) bool {
	oc := o.carriers[c]
	if oc == nil {
		return true
	}
	if ttl <= 0 {
		delete(o.carriers, c)
		return false
	}
	oc.ttl = ttl // a keepalive answers with the granted TTL
	if u := o.until(sentAt, ttl); u.After(oc.until) {
		oc.until = u
	}
	return true
}

// Release forgets carrier c (taken over by another herald, or retired).
func (o *Ownership) Release(c ID) { delete(o.carriers, c) }

// Owns reports whether c is claimed by this herald.
func (o *Ownership) Owns(c ID) bool { return o.carriers[c] != nil }

// Carriers returns the claimed carriers, ascending.
func (o *Ownership) Carriers() []ID {
	ids := make([]ID, 0, len(o.carriers))
	for c := range o.carriers {
		ids = append(ids, c)
	}
	slices.Sort(ids)
	return ids
}

// Valid reports whether this herald may answer for c's leases at now: it
// owns c, and both its session and c are certainly alive.
func (o *Ownership) Valid(c ID, now time.Time) bool {
	oc := o.carriers[c]
	return oc != nil && o.SessionValid(now) && now.Before(oc.until)
}

// NextExpiry is the earliest moment at which the session or a carrier stops
// being certainly alive; ok is false with no session.
func (o *Ownership) NextExpiry() (at time.Time, ok bool) {
	if o.session == NoLease {
		return time.Time{}, false
	}
	at = o.sessionUntil
	for _, oc := range o.carriers {
		if oc.until.Before(at) {
			at = oc.until
		}
	}
	return at, true
}

// Fence is the compare that every write for c's leases carries: c's record
// is still the one this herald wrote. nil if c is not owned.
func (o *Ownership) Fence(ks Keyspace, c ID) *pb.Compare {
	oc := o.carriers[c]
	if oc == nil {
		return nil
	}
	return ModIs(ks.CarrierKey(c), oc.claimRev)
}

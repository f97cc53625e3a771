package offload

import (
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"

	"github.com/heraldproj/herald/lease"
)

// KeepAlive answers one keepalive for a lease this herald holds. It answers
// alive only while its session and the lease's carrier are confirmed at
// etcd (Hold otherwise: a paused or cut-off herald must not vouch for a
// lease a successor may be about to adopt); a lease that has expired in the
// table is answered with TTL 0, as etcd's keepalive stream answers an
// unknown lease.
func (o *Offloader) KeepAlive(id int64) (*pb.LeaseKeepAliveResponse, Verdict) {
	// Alive is judged on the intake's clock (a keepalive read late may
	// still be in time); the new deadline counts from now, when it is read,
	// never from earlier. Whether herald may vouch is etcd's side: the wall.
	mark, now, wall := o.now(), o.clock.Now(), o.wall()
	o.mu.Lock()
	defer o.mu.Unlock()
	if _, v := o.vouchLocked(lease.ID(id), wall); v != Answered {
		return nil, v
	}
	ttl, err := o.table.KeepAlive(lease.ID(id), mark)
	if err != nil {
		return &pb.LeaseKeepAliveResponse{Header: o.LocalHeader(), ID: id}, Answered
	}
	if now.After(mark) {
		_, _ = o.table.KeepAlive(lease.ID(id), now)
	}
	o.m.keepalivesAbsorbed.Inc()
	return &pb.LeaseKeepAliveResponse{Header: o.LocalHeader(), ID: id, TTL: ttl}, Answered
}

// TrackIntake registers a client keepalive stream with the intake (see
// intake); the caller wraps the stream's Recv with RecvTracked and calls
// Done when the stream ends.
func (o *Offloader) TrackIntake() *IntakeStream { return o.intake.track() }

// Changed is closed at the next change of the index or of ownership: a
// call told to Hold waits on it, then tries again.
func (o *Offloader) Changed() <-chan struct{} { return o.changed.C() }

// vouchLocked says whether this herald may answer for lease id now: it
// holds the lease (NotHeld otherwise) and etcd has confirmed its session
// and the lease's carrier within their TTLs (Hold otherwise). It returns
// the carrier.
func (o *Offloader) vouchLocked(id lease.ID, wall time.Time) (lease.ID, Verdict) {
	c, held := o.table.CarrierOf(id)
	switch {
	case !held:
		return c, NotHeld
	case !o.own.Valid(c, wall):
		return c, Hold
	}
	return c, Answered
}

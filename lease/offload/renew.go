package offload

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/heraldproj/herald/internal/backoff"
	"github.com/heraldproj/herald/lease"
	"github.com/heraldproj/herald/upstream"
)

// errPathChanged ends a stream that must reopen on the new upstream path.
var errPathChanged = errors.New("offload: the upstream path changed")

// renewTick is how often the renewal loop looks for a lease to renew.
const renewTick = 100 * time.Millisecond

// keepAliveLoop keeps the session and every owned carrier alive over one
// keepalive stream: the session every third of its TTL, each carrier every
// sixth of its (lease.CarrierTTLFor says why). Every answer is recorded with the time its keepalive was
// sent (etcd answers in order on a stream), which is what herald's
// validities count from. A stream that stops answering is reopened (through
// the upstream's current path: direct, or relayed through a peer).
func (o *Offloader) keepAliveLoop(ctx context.Context) {
	b := backoff.New(200*time.Millisecond, 2*time.Second)
	for ctx.Err() == nil {
		repath := o.repath.C()
		err := o.renewStream(ctx)
		if ctx.Err() != nil {
			return
		}
		if errors.Is(err, errPathChanged) || upstream.TokenRefused(err) {
			// A new path, or a token that etcd no longer takes (the
			// upstream fetches another): reopen at once.
			b.Reset()
			continue
		}
		o.log.Warn("session and carrier keepalive stream failed; reopening", "err", err)
		if !b.WaitOr(ctx, repath) {
			return
		}
	}
}

// renewStream runs one keepalive stream until it fails or ctx ends. The
// stream opens once there is a session to keep alive: etcd checks a
// keepalive stream's token at each renewal, and a simple token that sat
// unused on an idle stream for etcd's --auth-token-ttl has expired.
func (o *Offloader) renewStream(ctx context.Context) error {
	repath := o.repath.C()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if err := o.waitSession(ctx, repath); err != nil || ctx.Err() != nil {
		return err
	}
	ka, err := o.up.KeepAlive(ctx)
	if err != nil {
		return err
	}
	var (
		mu      sync.Mutex
		pending = map[lease.ID][]time.Time{} // send times awaiting an answer, per lease
	)
	recvErr := make(chan error, 1)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			resp, err := ka.Recv()
			if err != nil {
				recvErr <- err
				return
			}
			o.NoteHeader(resp.Header)
			o.opts.Witness.Note(resp.Header.GetRevision())
			o.lastAnswer.Store(o.wall().UnixNano())
			mu.Lock()
			q := pending[lease.ID(resp.ID)]
			var sentAt time.Time
			if len(q) > 0 {
				sentAt, pending[lease.ID(resp.ID)] = q[0], q[1:]
			}
			mu.Unlock()
			if !sentAt.IsZero() {
				o.renewed(lease.ID(resp.ID), sentAt, resp.TTL)
			}
		}
	}()
	defer wg.Wait()
	defer cancel()

	lastSent := map[lease.ID]time.Time{}
	stuckAfter := time.Duration(o.opts.SessionTTL) * time.Second / 2
	t := time.NewTicker(renewTick)
	defer t.Stop()
	for {
		now := o.wall()
		periods := map[lease.ID]time.Duration{}
		o.mu.Lock()
		if session := o.own.Session(); session != lease.NoLease {
			periods[session] = time.Duration(o.opts.SessionTTL) * time.Second / 3
		}
		for _, c := range o.own.Carriers() {
			periods[c] = time.Duration(lease.CarrierRenewPeriod(o.own.CarrierTTL(c)) * float64(time.Second))
		}
		o.mu.Unlock()
		send := dueRenewals(now, periods, lastSent)
		mu.Lock()
		stuck := false
		for _, q := range pending {
			if len(q) > 0 && now.Sub(q[0]) > stuckAfter {
				stuck = true
			}
		}
		for _, id := range send {
			pending[id] = append(pending[id], now)
		}
		mu.Unlock()
		if stuck {
			return errors.New("keepalives unanswered")
		}
		for _, id := range send {
			lastSent[id] = now
			if err := ka.KeepAlive(int64(id)); err != nil {
				return err
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case err := <-recvErr:
			return err
		case <-repath:
			return errPathChanged
		case <-t.C:
		}
	}
}

// dueRenewals returns the leases to renew now, each period[id] after its
// last renewal (lastSent): none until one is due, and then, with it, every
// lease that would fall due within the shortest period. Renewals go out
// together, a little early: etcd pays for being woken more than for each
// message (docs/benchmarks.md, "Where the rack stop's time and etcd's
// steady CPU go"), and a herald's session and carriers then wake it once
// per session renewal rather than once each.
func dueRenewals(now time.Time, period map[lease.ID]time.Duration, lastSent map[lease.ID]time.Time) []lease.ID {
	var shortest time.Duration
	anyDue := false
	for id, p := range period {
		if shortest == 0 || p < shortest {
			shortest = p
		}
		if now.Sub(lastSent[id]) >= p {
			anyDue = true
		}
	}
	if !anyDue {
		return nil
	}
	var send []lease.ID
	for id, p := range period {
		if now.Sub(lastSent[id]) >= p-shortest {
			send = append(send, id)
		}
	}
	slices.Sort(send)
	return send
}

// renewed records etcd's answer to a keepalive of an internal lease.
func (o *Offloader) renewed(id lease.ID, sentAt time.Time, ttl int64) {
	o.mu.Lock()
	switch {
	case id == o.own.Session():
		if ttl <= 0 {
			o.mu.Unlock()
			o.loseSession()
			return
		}
		if l := o.own.SessionRenewed(sentAt, ttl, o.wall()); l.Length > 0 {
			n := o.table.Extend(l.From, l.Length)
			o.m.lapseSeconds.Add(l.Length.Seconds())
			o.log.Warn("could not vouch for virtual leases until etcd renewed the session; their TTLs are extended by that time",
				"unconfirmed_for", l.Length.Round(time.Millisecond), "virtual_leases", n)
		}
	case o.own.Owns(id):
		if !o.own.CarrierRenewed(id, sentAt, ttl) {
			o.own.Release(id)
			n := o.dropCarrierLeasesLocked(id)
			o.log.Error("carrier lease expired at etcd: its keys are gone, its virtual leases end",
				"carrier", fmt.Sprintf("%x", uint64(id)), "virtual_leases", n)
		}
	}
	o.mu.Unlock()
	o.changed.fire()
}

// AnsweredWithin reports whether etcd answered a keepalive of the session
// or a carrier within the last d: proof that the path the keepalive stream
// runs on works, without asking etcd again.
func (o *Offloader) AnsweredWithin(d time.Duration) bool {
	last := o.lastAnswer.Load()
	return last != 0 && o.wall().Sub(time.Unix(0, last)) < d
}

// waitSession returns once this herald has a session, or with
// errPathChanged, or nil when ctx ends.
func (o *Offloader) waitSession(ctx context.Context, repath <-chan struct{}) error {
	t := time.NewTicker(renewTick)
	defer t.Stop()
	for {
		o.mu.Lock()
		session := o.own.Session()
		o.mu.Unlock()
		if session != lease.NoLease {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-repath:
			return errPathChanged
		case <-t.C:
		}
	}
}

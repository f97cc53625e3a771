package offload

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"

	"github.com/heraldproj/herald/lease"
)

// ensureSession makes sure this herald holds a valid session, granting a
// new one (and publishing it under its session key) if it has none or lost
// it. Called under setup.
func (o *Offloader) ensureSession(ctx context.Context) error {
	o.mu.Lock()
	valid := o.own.SessionValid(o.wall())
	o.mu.Unlock()
	if valid {
		return nil
	}
	sentAt := o.wall()
	id, ttl, err := o.grantInternal(ctx, o.opts.SessionTTL)
	if err != nil {
		return fmt.Errorf("offload: grant a session: %w", err)
	}
	info := lease.SessionInfo{Name: o.opts.Name, URL: o.opts.URL}
	resp, err := o.up.Put(ctx, &pb.PutRequest{Key: o.ks.SessionKey(o.opts.Name), Value: info.Encode(), Lease: int64(id)})
	if err != nil {
		_, _ = o.up.Revoke(context.WithoutCancel(ctx), &pb.LeaseRevokeRequest{ID: int64(id)})
		return fmt.Errorf("offload: publish the session: %w", err)
	}
	o.NoteHeader(resp.Header)
	o.mu.Lock()
	lost := o.own.SessionLost()
	for _, c := range lost {
		o.dropCarrierLeasesLocked(c)
	}
	o.own.SetSession(id, sentAt, ttl)
	o.mu.Unlock()
	o.log.Info("session started", "session", fmt.Sprintf("%x", uint64(id)), "ttl", ttl)
	// Wait until the index shows the new session: the takeover of this
	// herald's own carriers ranks it by what the index says.
	o.WaitIndex(ctx, resp.Header.Revision, o.opts.HoldTimeout)
	return nil
}

// loseSession is called when etcd no longer knows the session: every
// carrier claimed under it is released (its leases leave the table without
// their keys being deleted) until this herald or a successor claims it
// again, and a new session is started on the next need.
func (o *Offloader) loseSession() {
	o.mu.Lock()
	lost := o.own.SessionLost()
	for _, c := range lost {
		o.dropCarrierLeasesLocked(c)
	}
	clear(o.mine)
	o.mu.Unlock()
	o.log.Warn("session lost at etcd; its carriers wait for a claim under a new session", "carriers", len(lost))
	o.changed.fire()
	o.kickTakeover()
}

// grantInternal grants a real etcd lease with an ID under the internal
// prefix (a carrier or a session), drawing another ID if that one exists.
func (o *Offloader) grantInternal(ctx context.Context, ttl int64) (lease.ID, int64, error) {
	for range 5 {
		var b [8]byte
		if _, err := rand.Read(b[:]); err != nil {
			return 0, 0, err
		}
		id := lease.InternalID(o.internalPrefix(), binary.LittleEndian.Uint64(b[:]))
		resp, err := o.up.Grant(ctx, &pb.LeaseGrantRequest{ID: int64(id), TTL: ttl})
		if errors.Is(rpctypes.Error(err), rpctypes.ErrLeaseExist) {
			continue
		}
		if err != nil {
			return 0, 0, err
		}
		o.NoteHeader(resp.Header)
		return lease.ID(resp.ID), resp.TTL, nil
	}
	return 0, 0, errors.New("offload: no free internal lease ID after 5 draws")
}

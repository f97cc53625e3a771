package offload

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"

	"github.com/heraldproj/herald/lease"
)

// takeoverScan is how often orphaned carriers are looked for even when no
// index event woke the loop (a ranked successor's turn comes by time).
const takeoverScan = 250 * time.Millisecond

// takeoverLoop adopts the orphaned carriers that this herald is due to take
// (docs/fleet-leases.md, "Takeover").
func (o *Offloader) takeoverLoop(ctx context.Context) {
	t := time.NewTicker(takeoverScan)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-o.kick:
		case <-t.C:
		}
		o.takeoverNow(ctx, false)
	}
}

// takeoverNow claims every orphaned carrier for which this herald is the
// successor whose turn has come; ownOnly limits it to carriers that name
// this herald (a restart taking back its own).
func (o *Offloader) takeoverNow(ctx context.Context, ownOnly bool) {
	if o.setup.lock(ctx) != nil {
		return
	}
	defer o.setup.unlock()
	var (
		orphans    []lease.ID
		seen       = map[lease.ID]lease.Carrier{}
		candidates []string
	)
	o.idx.read(func(ix *lease.Index) {
		orphans = ix.Orphans()
		for _, c := range orphans {
			seen[c], _ = ix.Carrier(c)
		}
		candidates = ix.Sessions()
	})
	if !slices.Contains(candidates, o.opts.Name) {
		candidates = append(candidates, o.opts.Name)
	}
	now := o.wall()
	if o.noticed == nil {
		o.noticed = map[lease.ID]time.Time{}
	}
	for c := range o.noticed {
		if !slices.Contains(orphans, c) {
			delete(o.noticed, c)
		}
	}
	if !ownOnly {
		defer o.retireEmpty(ctx)
	}
	for _, c := range orphans {
		rec := seen[c]
		if ownOnly && rec.Owner != o.opts.Name {
			continue
		}
		first, ok := o.noticed[c]
		if !ok {
			first = now
			o.noticed[c] = now
		}
		rank := slices.Index(lease.Successors(c, rec.Owner, candidates), o.opts.Name)
		if now.Sub(first) < time.Duration(rank)*o.opts.TakeoverStagger {
			continue
		}
		if err := o.claim(ctx, c, rec); err != nil && ctx.Err() == nil {
			o.log.Warn("takeover of a carrier failed", "carrier", fmt.Sprintf("%x", uint64(c)), "owner", rec.Owner, "err", err)
		}
	}
}

// claim takes carrier c over from the herald its record names (seen) and
// adopts every lease recorded on it, each with a full TTL from now.
func (o *Offloader) claim(ctx context.Context, c lease.ID, seen lease.Carrier) error {
	if err := o.ensureSession(ctx); err != nil {
		return err
	}
	o.mu.Lock()
	session := o.own.Session()
	o.mu.Unlock()
	resp, err := o.up.Txn(ctx, o.ks.TakeoverTxn(c, seen, o.opts.Name, session))
	if errors.Is(rpctypes.Error(err), rpctypes.ErrLeaseNotFound) {
		o.log.Warn("orphaned carrier expired at etcd before anyone took it over: its keys are gone",
			"carrier", fmt.Sprintf("%x", uint64(c)), "owner", seen.Owner)
		return nil
	}
	if err != nil {
		return err
	}
	o.NoteHeader(resp.Header)
	if !resp.Succeeded {
		return nil // another herald was faster, or the owner came back
	}
	rev := resp.Header.Revision
	// A keepalive, not a TimeToLive: TimeToLive rounds the remaining time
	// down, so 0 there is a carrier alive for under a second, which must
	// still be claimed and renewed; a keepalive answered TTL 0 is a carrier
	// etcd no longer knows.
	sentAt := o.wall()
	granted, err := o.keepAliveOnce(ctx, c)
	if err != nil {
		return fmt.Errorf("renew the claimed carrier: %w", err)
	}
	if granted <= 0 {
		o.log.Warn("a claimed carrier had expired at etcd: its keys are gone",
			"carrier", fmt.Sprintf("%x", uint64(c)), "owner", seen.Owner)
		return nil
	}

	// The leases go into the table before the carrier counts as owned:
	// until then a call about one of them waits (Hold) instead of finding
	// an owned carrier without the lease (which would read as an ended
	// lease). Everything recorded on c up to the claim is in the index once
	// it has reached the claim's revision (nothing can be recorded on c
	// after it but by this herald); if the index does not get there, etcd
	// is read.
	var (
		records []lease.ID
		recs    = map[lease.ID]lease.LeaseRecord{}
		atts    map[lease.ID][]lease.AttachedKey
	)
	if o.WaitIndex(ctx, rev, o.opts.HoldTimeout) {
		o.idx.read(func(ix *lease.Index) {
			records = ix.LeasesOn(c)
			for _, id := range records {
				recs[id], _ = ix.Lease(id)
			}
			atts = ix.AttachmentsOn(c)
		})
	} else if records, recs, atts, err = o.readCarrier(ctx, c); err != nil {
		return err
	}
	now := o.now()
	restored := 0
	o.mu.Lock()
	for _, id := range records {
		err := o.table.Restore(lease.Record{ID: id, TTL: recs[id].TTL}, c, atts[id], now)
		delete(atts, id)
		if err != nil {
			o.log.Warn("cannot adopt a virtual lease", "lease", fmt.Sprintf("%x", uint64(id)), "err", err)
			continue
		}
		restored++
	}
	o.own.Claim(c, rev, granted, sentAt, granted)
	o.mu.Unlock()
	var orphans []lease.Expired
	for id, keys := range atts {
		orphans = append(orphans, lease.Expired{ID: id, Carrier: c, Keys: keys})
	}
	o.m.takeovers.Inc()
	o.log.Info("took over a carrier", "carrier", fmt.Sprintf("%x", uint64(c)), "from", seen.Owner,
		"virtual_leases", restored, "orphan_attachments", len(orphans))
	o.changed.fire()
	if len(orphans) > 0 {
		o.deleteUntilDone(ctx, orphans)
	}
	return nil
}

// readCarrier reads from etcd what is recorded on carrier c: its leases'
// records and every attachment on it.
func (o *Offloader) readCarrier(ctx context.Context, c lease.ID) ([]lease.ID, map[lease.ID]lease.LeaseRecord, map[lease.ID][]lease.AttachedKey, error) {
	resp, err := o.up.Range(ctx, &pb.RangeRequest{Key: o.ks.Prefix(), RangeEnd: o.ks.End()})
	if err != nil {
		return nil, nil, nil, err
	}
	ix := lease.NewIndex(o.ks, 0)
	ix.Load(resp.Header.Revision, resp.Kvs)
	records := ix.LeasesOn(c)
	recs := map[lease.ID]lease.LeaseRecord{}
	for _, id := range records {
		recs[id], _ = ix.Lease(id)
	}
	return records, recs, ix.AttachmentsOn(c), nil
}

// keepAliveOnce renews lease id once, on a stream of its own, and returns
// the TTL etcd answered (0: etcd does not know the lease).
func (o *Offloader) keepAliveOnce(ctx context.Context, id lease.ID) (int64, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ka, err := o.up.KeepAlive(ctx)
	if err != nil {
		return 0, err
	}
	if err := ka.KeepAlive(int64(id)); err != nil {
		return 0, err
	}
	resp, err := ka.Recv()
	if err != nil {
		return 0, err
	}
	o.NoteHeader(resp.Header)
	return resp.TTL, nil
}

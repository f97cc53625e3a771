package proxy

import (
	"bytes"
	"context"
	"fmt"
	"hash/fnv"
	"log/slog"
	"strings"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/mvccpb"

	"github.com/heraldproj/herald/lease"
	"github.com/heraldproj/herald/upstream"
)

// newOffloader builds the offloader; start brings it up.
func newOffloader(opts OffloadOptions, name string, up upstream.Upstream, log *slog.Logger) *offloader {
	res := newReserved(opts.ReservedPrefix)
	o := &offloader{
		opts:      opts,
		name:      name,
		kv:        up.KV(),
		ls:        up.Lease(),
		wc:        up.Watch(),
		log:       log,
		res:       res,
		intake:    newIntake(max(opts.MaxIntakeLag, time.Second), time.Now),
		carrierOf: map[lease.ID]int64{},
		recorded:  map[lease.ID]bool{},
		stop:      make(chan struct{}),
	}
	o.now = o.intake.now
	o.fleet = newFleetIndex(o.kv, o.wc, res, log, o.noteHeader)
	return o
}

// start resumes or grants the carriers, restores the virtual leases of a
// previous run of this herald from their records, and starts the carrier
// keepalives, the expiry loop and the fleet index.
func (o *offloader) start(ctx context.Context, cluster pb.ClusterClient) error {
	members, err := cluster.MemberList(internalCtx(ctx), &pb.MemberListRequest{})
	if err != nil {
		return fmt.Errorf("proxy: lease offload: list upstream members: %w", err)
	}
	var memberIDs []uint64
	for _, m := range members.Members {
		memberIDs = append(memberIDs, m.ID)
	}
	ids, err := lease.NewIDAllocator(lease.IDConfig{MemberIDs: memberIDs, Identity: identityHash(o.name)}, o.now())
	if err != nil {
		return fmt.Errorf("proxy: lease offload: %w", err)
	}
	o.table = lease.New(lease.Config{Owner: o.name, MinTTL: o.opts.MinTTL}, ids)

	var journaled map[lease.ID]lease.Record
	if o.opts.JournalPath != "" {
		if o.journal, journaled, err = openJournal(o.opts.JournalPath); err != nil {
			return err
		}
	}
	resumed, err := o.resumeCarriers(ctx)
	if err != nil {
		return err
	}
	orphans, err := o.restore(ctx, resumed)
	if err != nil {
		return err
	}
	o.restoreJournaled(journaled)

	bg, cancel := context.WithCancel(context.WithoutCancel(ctx))
	o.done.Add(4)
	go func() { defer o.done.Done(); o.intake.run(bg, 20*time.Millisecond) }()
	go func() { defer o.done.Done(); o.keepCarriersAlive(bg) }()
	go func() { defer o.done.Done(); o.expireLoop(bg) }()
	go func() { defer o.done.Done(); o.fleet.run(bg) }()
	go func() { <-o.stop; cancel() }()
	if len(orphans) > 0 {
		o.log.Info("deleting keys of leases that ended while herald was down", "leases", len(orphans))
		o.deleteUntilDone(ctx, orphans)
	}
	select {
	case <-o.fleet.synced:
	case <-ctx.Done():
		return ctx.Err()
	}
	o.active.Store(true)
	return nil
}

// close stops the background loops. Carriers are not revoked: a herald that
// restarts within their TTL resumes its virtual leases.
func (o *offloader) close() {
	select {
	case <-o.stop:
	default:
		close(o.stop)
	}
	o.done.Wait()
	if o.journal != nil {
		o.journal.close()
	}
}

// restoreJournaled re-creates the leases of the local journal that the
// upstream records did not bring back: leases that had no key yet. Each
// gets a full TTL from now, like the others.
func (o *offloader) restoreJournaled(journaled map[lease.ID]lease.Record) {
	now := o.now()
	n := 0
	o.mu.Lock()
	for id, rec := range journaled {
		if o.table.TimeToLive(id, now, false).TTL >= 0 {
			continue
		}
		if err := o.table.Restore(lease.Record{ID: id, TTL: rec.TTL, Owner: o.name}, now); err != nil {
			continue
		}
		o.pickCarrierLocked(id)
		n++
	}
	o.mu.Unlock()
	virtualLeases.Add(float64(n))
	if n > 0 {
		o.log.Info("virtual leases without keys restored from the local journal", "leases", n)
	}
}

// restore re-creates the virtual leases whose records hang on a resumed
// carrier, each with a full TTL from now (see lease.Table.Restore). It
// returns attachments on those carriers whose lease has no record any more:
// keys of leases that ended while herald was down, to delete.
func (o *offloader) restore(ctx context.Context, resumed map[int64]bool) ([]doomed, error) {
	if len(resumed) == 0 {
		return nil, nil
	}
	records, err := o.listReserved(ctx, "leases/")
	if err != nil {
		return nil, err
	}
	attachments, err := o.listReserved(ctx, "keys/")
	if err != nil {
		return nil, err
	}

	keysOf := map[lease.ID][]string{}
	carrierOfAttachment := map[lease.ID]int64{}
	for _, kv := range attachments {
		rest := strings.TrimPrefix(string(kv.Key), string(o.res.prefix)+"keys/")
		idHex, key, ok := strings.Cut(rest, "/")
		id, okID := parseHexID(idHex)
		if ok && okID && resumed[kv.Lease] {
			keysOf[id] = append(keysOf[id], key)
			carrierOfAttachment[id] = kv.Lease
		}
	}

	now := o.now()
	restored := 0
	o.mu.Lock()
	for _, kv := range records {
		if !resumed[kv.Lease] {
			continue
		}
		rec, err := lease.DecodeRecord(kv.Value)
		if err != nil || rec.Owner != o.name {
			continue
		}
		rec.Keys = keysOf[rec.ID]
		if err := o.table.Restore(rec, now); err != nil {
			o.log.Warn("cannot restore virtual lease", "lease", fmt.Sprintf("%x", rec.ID), "err", err)
			continue
		}
		o.carrierOf[rec.ID] = kv.Lease
		o.recorded[rec.ID] = true
		delete(keysOf, rec.ID)
		restored++
	}
	o.mu.Unlock()
	virtualLeases.Add(float64(restored))

	var orphans []doomed
	for id, keys := range keysOf {
		orphans = append(orphans, doomed{id: id, carrier: carrierOfAttachment[id], keys: keys})
	}
	o.log.Info("virtual leases restored from their records", "leases", restored)
	return orphans, nil
}

// listReserved reads every key under the reserved prefix + sub.
func (o *offloader) listReserved(ctx context.Context, sub string) ([]*mvccpb.KeyValue, error) {
	p := append(bytes.Clone(o.res.prefix), sub...)
	resp, err := o.kv.Range(internalCtx(ctx), &pb.RangeRequest{Key: p, RangeEnd: prefixEnd(p)})
	if err != nil {
		return nil, fmt.Errorf("proxy: list %q: %w", p, err)
	}
	return resp.Kvs, nil
}

// identityHash turns a herald's name into the identity the ID allocator
// derives its prefix from.
func identityHash(name string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(name))
	return h.Sum64()
}

package proxy

import (
	"context"
	"fmt"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"

	"github.com/heraldproj/herald/lease"
)

// resumeCarriers finds this herald's carriers that are still alive upstream
// (a restart within the carrier TTL), keeps all of them, and grants new ones
// up to the configured number. It returns the live carriers found before granting.
func (o *offloader) resumeCarriers(ctx context.Context) (resumed map[int64]bool, err error) {
	prefix := []byte(fmt.Sprintf("%scarriers/%s/", o.res.prefix, o.name))
	resp, err := o.kv.Range(internalCtx(ctx), &pb.RangeRequest{Key: prefix, RangeEnd: prefixEnd(prefix)})
	if err != nil {
		return nil, fmt.Errorf("proxy: list carriers: %w", err)
	}
	o.noteHeader(resp.Header)
	resumed = map[int64]bool{}
	for _, kv := range resp.Kvs {
		ttl, err := o.ls.LeaseTimeToLive(internalCtx(ctx), &pb.LeaseTimeToLiveRequest{ID: kv.Lease})
		if err != nil {
			return nil, fmt.Errorf("proxy: check carrier %x: %w", kv.Lease, err)
		}
		// Every live carrier is kept, even beyond --carrier-leases (it was
		// lowered): dropping one would let etcd delete live nodes' keys.
		if ttl.TTL > 0 {
			o.carriers = append(o.carriers, kv.Lease)
			resumed[kv.Lease] = true
		}
	}
	for len(o.carriers) < o.opts.Carriers {
		id, err := o.grantCarrier(ctx)
		if err != nil {
			return nil, err
		}
		o.carriers = append(o.carriers, id)
	}
	o.log.Info("carrier leases ready", "carriers", len(o.carriers), "resumed", len(resumed), "ttl", o.opts.CarrierTTL)
	return resumed, nil
}

// grantCarrier grants one carrier lease and records it under the reserved
// prefix, attached to itself.
func (o *offloader) grantCarrier(ctx context.Context) (int64, error) {
	g, err := o.ls.LeaseGrant(internalCtx(ctx), &pb.LeaseGrantRequest{TTL: o.opts.CarrierTTL})
	if err != nil {
		return 0, fmt.Errorf("proxy: grant carrier lease: %w", err)
	}
	if _, err := o.kv.Put(internalCtx(ctx), &pb.PutRequest{Key: o.carrierKey(g.ID), Lease: g.ID}); err != nil {
		return 0, fmt.Errorf("proxy: record carrier lease: %w", err)
	}
	return g.ID, nil
}

// keepCarriersAlive refreshes every carrier each third of its TTL over one
// keepalive stream, reopened after failures. A carrier that etcd no longer
// knows has taken every key attached to it: the virtual leases on it are
// dropped (their clients see their next keepalive fail, as with an expired
// etcd lease) and a new carrier replaces it.
func (o *offloader) keepCarriersAlive(ctx context.Context) {
	period := time.Duration(o.opts.CarrierTTL) * time.Second / 3
	for ctx.Err() == nil {
		err := o.keepAliveStream(ctx, period)
		if ctx.Err() != nil {
			return
		}
		o.log.Warn("carrier keepalive stream failed; reopening", "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
}

func (o *offloader) keepAliveStream(ctx context.Context, period time.Duration) error {
	ctx, cancel := context.WithCancel(internalCtx(ctx))
	defer cancel()
	ka, err := o.ls.LeaseKeepAlive(ctx)
	if err != nil {
		return err
	}
	recvErr := make(chan error, 1)
	go func() {
		for {
			resp, err := ka.Recv()
			if err != nil {
				recvErr <- err
				return
			}
			o.noteHeader(resp.Header)
			if resp.TTL <= 0 {
				o.replaceCarrier(ctx, resp.ID)
			}
		}
	}()
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		o.mu.Lock()
		carriers := append([]int64(nil), o.carriers...)
		o.mu.Unlock()
		for _, id := range carriers {
			if err := ka.Send(&pb.LeaseKeepAliveRequest{ID: id}); err != nil {
				return err
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case err := <-recvErr:
			return err
		case <-t.C:
		}
	}
}

// replaceCarrier handles a carrier that etcd expired (herald was cut off
// for longer than the carrier TTL).
func (o *offloader) replaceCarrier(ctx context.Context, lost int64) {
	o.mu.Lock()
	idx := -1
	for i, c := range o.carriers {
		if c == lost {
			idx = i
		}
	}
	if idx < 0 {
		o.mu.Unlock()
		return
	}
	var dropped []lease.ID
	for id, c := range o.carrierOf {
		if c == lost {
			o.table.Revoke(id)
			delete(o.carrierOf, id)
			delete(o.recorded, id)
			dropped = append(dropped, id)
		}
	}
	if o.journal != nil {
		o.journal.end(dropped...)
	}
	o.mu.Unlock()
	o.log.Error("carrier lease expired upstream; its keys are gone and its virtual leases are dropped",
		"carrier", fmt.Sprintf("%x", lost), "virtual_leases", len(dropped))
	id, err := o.grantCarrier(ctx)
	if err != nil {
		o.log.Error("could not replace carrier lease", "err", err)
		return
	}
	o.mu.Lock()
	o.carriers[idx] = id
	o.mu.Unlock()
}

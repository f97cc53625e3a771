package offload

import (
	"context"
	"fmt"
	"slices"

	"github.com/heraldproj/herald/lease"
)

// ensureCarriers makes sure this herald has its configured number of fresh
// carriers of TTL class class (lease.CarrierTTLFor) for its own grants,
// granting and recording new ones under its session. Called under setup,
// after ensureSession.
func (o *Offloader) ensureCarriers(ctx context.Context, class int64) error {
	for {
		o.mu.Lock()
		n, session := len(o.mine[class]), o.own.Session()
		o.mu.Unlock()
		if n >= o.opts.Carriers {
			return nil
		}
		sentAt := o.wall()
		c, ttl, err := o.grantInternal(ctx, class)
		if err != nil {
			return fmt.Errorf("offload: grant a carrier: %w", err)
		}
		resp, err := o.up.Txn(ctx, o.ks.ClaimNewTxn(c, o.opts.Name, session))
		if err == nil && !resp.Succeeded {
			err = fmt.Errorf("carrier %x already has a record", uint64(c))
		}
		if err != nil {
			o.revokeQuietly(c)
			return fmt.Errorf("offload: record a carrier: %w", err)
		}
		o.NoteHeader(resp.Header)
		o.mu.Lock()
		o.own.Claim(c, resp.Header.Revision, ttl, sentAt, ttl)
		o.mine[class] = append(o.mine[class], c)
		o.mu.Unlock()
		o.log.Info("carrier lease ready", "carrier", fmt.Sprintf("%x", uint64(c)), "ttl", ttl)
	}
}

// pickCarrierLocked chooses a fresh carrier of TTL class class, valid now,
// for a new lease.
func (o *Offloader) pickCarrierLocked(class int64) (lease.ID, bool) {
	now := o.wall()
	mine := o.mine[class]
	for range len(mine) {
		c := mine[o.next%len(mine)]
		o.next++
		if o.own.Valid(c, now) {
			return c, true
		}
	}
	return lease.NoLease, false
}

// loseCarrierLocked gives up carrier c: its leases leave the table without
// any delete (etcd deleted their keys with the carrier, or another herald
// owns them now).
func (o *Offloader) loseCarrierLocked(c lease.ID, why string) {
	o.own.Release(c)
	n := o.dropCarrierLeasesLocked(c)
	o.log.Warn("carrier lost", "carrier", fmt.Sprintf("%x", uint64(c)), "why", why, "virtual_leases", n)
	o.changed.fire()
}

// dropCarrierLeasesLocked forgets c's leases and c as a fresh carrier.
func (o *Offloader) dropCarrierLeasesLocked(c lease.ID) int {
	for class, mine := range o.mine {
		if i := slices.Index(mine, c); i >= 0 {
			o.mine[class] = slices.Delete(mine, i, i+1)
		}
	}
	return len(o.table.DropCarrier(c))
}

// isMineLocked reports whether c is one of this herald's fresh carriers.
func (o *Offloader) isMineLocked(c lease.ID) bool {
	for _, mine := range o.mine {
		if slices.Contains(mine, c) {
			return true
		}
	}
	return false
}

// revokeQuietly revokes an internal lease that herald could not put to use.
func (o *Offloader) revokeQuietly(id lease.ID) {
	ctx, cancel := context.WithTimeout(context.Background(), o.opts.HoldTimeout)
	defer cancel()
	if _, err := o.up.Revoke(ctx, revokeReq(id)); err != nil {
		o.log.Warn("could not revoke an unused internal lease; it expires by itself", "lease", fmt.Sprintf("%x", uint64(id)), "err", err)
	}
}

package proxy

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"google.golang.org/grpc/metadata"

	"github.com/heraldproj/herald/lease"
)

// OffloadOptions configure lease offloading. The zero value disables it.
type OffloadOptions struct {
	Enabled bool
	// Carriers is how many upstream carrier leases this herald keeps.
	Carriers int
	// CarrierTTL is the carriers' TTL in seconds; they are refreshed every
	// third of it. A herald that restarts within it resumes its leases.
	CarrierTTL int64
	// MinTTL is the smallest virtual lease TTL in seconds (etcd's is 2 at
	// its defaults; herald allows 1).
	MinTTL int64
	// ReservedPrefix is the key prefix under which herald keeps its lease
	// records upstream. Clients cannot see or write it.
	ReservedPrefix string
	// ExpiryInterval is how often expired leases are collected.
	ExpiryInterval time.Duration
	// MaxIntakeLag bounds how long expiry waits for herald to catch up on
	// reading its clients' keepalives (see intake).
	MaxIntakeLag time.Duration
	// JournalPath is the file where herald keeps its virtual leases for a
	// restart (in its data dir); empty keeps none (leases without a key are
	// then lost when herald restarts).
	JournalPath string
	// DeleteBatch is how many operations one delete transaction holds (two
	// per key, one per record); at most etcd's --max-txn-ops less the
	// nested transaction's own operation.
	DeleteBatch int
}

// DefaultOffloadOptions are the defaults of `herald start`.
func DefaultOffloadOptions() OffloadOptions {
	return OffloadOptions{
		Enabled:        true,
		Carriers:       2,
		CarrierTTL:     15,
		MinTTL:         lease.DefaultMinTTL,
		ReservedPrefix: "\x00herald/",
		ExpiryInterval: 100 * time.Millisecond,
		MaxIntakeLag:   5 * time.Second,
		DeleteBatch:    120,
	}
}

// offloader holds virtual leases inside herald. Keys put with a virtual lease
// are written upstream attached to one of the herald's carrier leases; each
// attachment is recorded under the reserved prefix in the same transaction,
// attached to the same carrier:
//
//	<prefix>leases/<lease id, 16 hex>           lease.Record (TTL, owner)
//	<prefix>keys/<lease id, 16 hex>/<key>       an attachment, empty value
//	<prefix>carriers/<herald name>/<carrier id> a carrier of that herald
//
// A lease record is written with the lease's first key (a grant changes no
// key upstream, as in etcd) and deleted when the lease ends, in the same
// transaction as its keys when they fit in one; a Put that lands after its
// lease ended finds the lease gone from the table and has its key deleted
// at once; attachments without a record are garbage that a restarted herald
// deletes. Every key delete is guarded by a compare on the key's lease, so a
// key rewritten by anyone else survives.
type offloader struct {
	opts OffloadOptions
	name string
	kv   pb.KVClient
	ls   pb.LeaseClient
	wc   pb.WatchClient
	log  *slog.Logger
	res  reserved
	// now is the table's clock: the keepalive intake's watermark.
	now    func() time.Time
	intake *intake

	mu        sync.Mutex // guards table, carriers and carrierOf; never held across I/O
	table     *lease.Table
	carriers  []int64            // this herald's carrier lease IDs
	carrierOf map[lease.ID]int64 // the carrier each virtual lease's keys hang on
	recorded  map[lease.ID]bool  // leases whose record is upstream (written with their first key)

	journal *journal // nil without OffloadOptions.JournalPath

	header atomic.Pointer[pb.ResponseHeader] // the newest upstream header seen
	fleet  *fleetIndex                       // every herald's carriers and attachments

	// active is false when offloading could not start (an etcd with auth
	// on refuses herald's own writes): herald then passes leases through.
	active atomic.Bool

	stop chan struct{}
	done sync.WaitGroup
}

// internalCtx marks herald's own upstream calls: no client token.
func internalCtx(ctx context.Context) context.Context {
	return metadata.NewOutgoingContext(ctx, metadata.MD{})
}

// tokenless reports whether a client request carries no auth token. Only
// such requests use virtual leases and the fan-out cache: with etcd auth on,
// a Put attached to a carrier would be checked against every key on the
// carrier (etcd's checkLeasePuts), and the cache does not check
// permissions, so authenticated clients are passed through and etcd
// enforces everything as it does for direct clients.
func tokenless(ctx context.Context) bool {
	return len(metadata.ValueFromIncomingContext(ctx, rpctypes.TokenFieldNameGRPC)) == 0
}

// serves reports whether this request gets virtual leases: offloading is
// active and the client has no auth token.
func (o *offloader) serves(ctx context.Context) bool {
	return o.active.Load() && tokenless(ctx)
}

func (o *offloader) recordKey(id lease.ID) []byte {
	return []byte(fmt.Sprintf("%sleases/%016x", o.res.prefix, uint64(id)))
}

func (o *offloader) attachPrefix(id lease.ID) string {
	return fmt.Sprintf("%skeys/%016x/", o.res.prefix, uint64(id))
}

func (o *offloader) attachKey(id lease.ID, key []byte) []byte {
	return append([]byte(o.attachPrefix(id)), key...)
}

func (o *offloader) carrierKey(id int64) []byte {
	return []byte(fmt.Sprintf("%scarriers/%s/%016x", o.res.prefix, o.name, uint64(id)))
}

// pickCarrierLocked assigns a new virtual lease to a carrier.
func (o *offloader) pickCarrierLocked(id lease.ID) int64 {
	c := o.carriers[uint64(id)%uint64(len(o.carriers))]
	o.carrierOf[id] = c
	return c
}

// liveCarrier returns the carrier of a live virtual lease of this herald.
func (o *offloader) liveCarrier(id int64) (int64, bool) {
	if id == 0 {
		return 0, false
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.table.TimeToLive(lease.ID(id), o.now(), false).TTL < 0 {
		return 0, false
	}
	c, ok := o.carrierOf[lease.ID(id)]
	return c, ok
}

// parseHexID reads a 16-hex-digit lease ID.
func parseHexID(s string) (lease.ID, bool) {
	if len(s) != 16 {
		return 0, false
	}
	v, err := strconv.ParseUint(s, 16, 64)
	return lease.ID(v), err == nil
}

// noteHeader remembers an upstream header, for answers herald gives itself.
func (o *offloader) noteHeader(h *pb.ResponseHeader) {
	if h == nil {
		return
	}
	for {
		cur := o.header.Load()
		if cur != nil && cur.Revision >= h.Revision {
			return
		}
		if o.header.CompareAndSwap(cur, h) {
			return
		}
	}
}

// localHeader is the header of an answer herald gives without asking etcd.
func (o *offloader) localHeader() *pb.ResponseHeader {
	if h := o.header.Load(); h != nil {
		return &pb.ResponseHeader{ClusterId: h.ClusterId, MemberId: h.MemberId, Revision: h.Revision, RaftTerm: h.RaftTerm}
	}
	return &pb.ResponseHeader{}
}

// owns reports whether id is a live virtual lease of this herald.
func (o *offloader) owns(id int64) bool {
	_, ok := o.liveCarrier(id)
	return ok
}

// isCarrier reports whether id is a carrier of any herald in the fleet.
func (o *offloader) isCarrier(id int64) bool {
	o.mu.Lock()
	for _, c := range o.carriers {
		if c == id {
			o.mu.Unlock()
			return true
		}
	}
	o.mu.Unlock()
	return o.fleet.isCarrier(id)
}

// virtualLeaseOf is the lease a client sees on key, given the lease etcd
// holds it under: carriers are replaced by the virtual lease, any other
// lease is shown as it is.
func (o *offloader) virtualLeaseOf(key []byte, upstreamLease int64) int64 {
	if upstreamLease == 0 || !o.isCarrier(upstreamLease) {
		return upstreamLease
	}
	o.mu.Lock()
	id := o.table.LeaseOf(string(key))
	o.mu.Unlock()
	if id != lease.NoLease {
		return int64(id)
	}
	if id, ok := o.fleet.leaseOf(key); ok {
		return int64(id)
	}
	return upstreamLease
}

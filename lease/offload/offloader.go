package offload

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	pb "go.etcd.io/etcd/api/v3/etcdserverpb"

	"github.com/heraldproj/herald/fanout/feed"
	"github.com/heraldproj/herald/internal/clock"
	"github.com/heraldproj/herald/lease"
	"github.com/heraldproj/herald/upstream"
)

// Upstream is what the offloader needs of the coordinator: reads and
// conditional write batches on the reserved keyspace, a watch of it (the
// lease index's feed), the liveness of herald's carriers and sessions, and
// the member IDs its lease IDs stay clear of. The offloader's own calls go
// as herald's etcd user (upstream.AsHerald, see asHerald); only a Permit's
// probes carry a client's metadata.
type Upstream interface {
	upstream.KV
	upstream.Watches
	upstream.Leases
	upstream.Members
}

// Offloader holds this herald's virtual leases and serves the fleet's: see
// doc.go. Its methods are safe for concurrent use.
type Offloader struct {
	opts Options
	ks   lease.Keyspace
	up   Upstream // as herald's own user (asHerald)
	// client is the upstream as it is, for the Permit's probes: they carry
	// the client's own metadata.
	client Upstream
	log    *slog.Logger
	m      *metrics

	intake *intake
	clock  clock.Clock      // the virtual leases' clock (Options.Clock)
	now    func() time.Time // the table's clock: the intake's watermark on clock
	wall   func() time.Time // etcd's side: session and carrier validity

	// internal is the internal lease ID prefix (a uint16), set by Start.
	// It is read without mu: every watch response a herald serves asks it
	// (Translate), and mu is held across a whole expiry batch.
	internal atomic.Uint32

	// mu guards the table, the ownership and the carrier choice. It is never
	// held across I/O, and never taken while idx.mu is held.
	mu    sync.Mutex
	table *lease.Table
	own   *lease.Ownership
	mine  map[int64][]lease.ID // fresh carriers for this herald's grants, by carrier TTL class
	next  int                  // round robin over a class

	noticed    map[lease.ID]time.Time // orphans and when they were first seen; under setup
	emptySince map[lease.ID]time.Time // adopted carriers without leases, since when; under mu
	// retiring are the carriers whose record this herald is deleting
	// (retireEmpty): etcd's DELETE of the record may reach the index before
	// the txn's answer, and is then no loss. Under mu.
	retiring map[lease.ID]bool
	ending   map[attachment]int // keys of ended leases whose deletes are in flight (ending.go); under mu

	idx            *index
	feed           *feed.Feed // keeps idx current: the fleet's lease index; set under mu
	feedMetrics    *feed.Metrics
	upstreamLeases leaseSet // lease IDs known to be etcd's own

	// setup serialises what creates or claims upstream state (the session,
	// carriers, takeovers): I/O, so not under mu. It is taken before mu and
	// index.mu, never under a lock, and is the one lock of the package held
	// across etcd calls (doc.go, Lock order); a grant waiting for it gives
	// up at its deadline.
	setup setupLock

	header     atomic.Pointer[pb.ResponseHeader] // the newest upstream header seen
	lastAnswer atomic.Int64                      // unix nanoseconds of etcd's last keepalive answer
	// active is false when offloading could not start (an etcd with auth on
	// refuses herald's own reads): herald then passes leases through.
	active atomic.Bool
	// readiness is a Readiness, set by TryStart (readiness.go); startErr
	// (a string) says why its last try failed.
	readiness atomic.Int32
	startErr  atomic.Value

	kick    chan struct{}   // wakes the takeover loop
	changed *broadcast      // fires when the index or ownership moved
	repath  *broadcast      // fires when the upstream path changed (direct, relayed)
	bg      context.Context // lives until Close: background work
	stop    context.CancelFunc
	started atomic.Bool
	spawnMu sync.Mutex // guards closing, and wg.Add against Close's wg.Wait
	closing bool
	wg      sync.WaitGroup
}

// New builds an offloader; Start brings it up. reg receives its metrics
// (nil: none are registered).
func New(opts Options, up Upstream, reg prometheus.Registerer, log *slog.Logger) (*Offloader, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	o := &Offloader{
		opts:       opts,
		setup:      newSetupLock(),
		ks:         lease.NewKeyspace(opts.ReservedPrefix),
		up:         asHerald{up},
		client:     up,
		log:        log.With("area", "lease"),
		clock:      clock.Or(opts.Clock),
		wall:       time.Now,
		own:        lease.NewOwnership(opts.ClockMargin),
		emptySince: map[lease.ID]time.Time{},
		retiring:   map[lease.ID]bool{},
		ending:     map[attachment]int{},
		mine:       map[int64][]lease.ID{},
		kick:       make(chan struct{}, 1),
		changed:    newBroadcast(),
		repath:     newBroadcast(),
	}
	o.bg, o.stop = context.WithCancel(context.Background())
	o.intake = newIntake(max(opts.MaxIntakeLag, time.Second), o.clock.Now)
	o.now = o.intake.now
	o.idx = newIndex(o.ks)
	o.m = newMetrics(o, reg)
	fm, err := feed.NewMetrics(reg, "lease_index")
	if err != nil {
		return nil, fmt.Errorf("offload: %w", err)
	}
	o.feedMetrics = fm
	return o, nil
}

// Keyspace is the reserved keyspace.
func (o *Offloader) Keyspace() lease.Keyspace { return o.ks }

// HoldTimeout bounds how long a call waits while its lease's owner is being
// replaced.
func (o *Offloader) HoldTimeout() time.Duration { return o.opts.HoldTimeout }

// Clock is the virtual leases' clock (Options.Clock; the wall clock when
// none was given), on which the gRPC services also time their holds.
func (o *Offloader) Clock() clock.Clock { return o.clock }

// ChecksPermissions reports whether every client's call is checked with
// etcd (Options.CheckPermissions): herald has an etcd user of its own.
func (o *Offloader) ChecksPermissions() bool { return o.opts.CheckPermissions }

// Active reports whether virtual leases are served.
func (o *Offloader) Active() bool { return o.active.Load() }

// Start loads the fleet's lease index from etcd, takes back the carriers of
// a previous run of this herald (same name) that no successor has taken
// over yet, and starts the background loops: keepalives of the session and
// carriers, expiry, takeovers and the index's feed. When it fails (etcd out
// of reach, a learner, out of space) it may be called again: it resumes
// where it stopped. Clients get virtual leases only once it has succeeded.
func (o *Offloader) Start(ctx context.Context) error {
	if !o.started.Load() {
		if err := o.load(ctx); err != nil {
			return err
		}
	}
	// Leases of a previous run come back before clients are served.
	if o.hasCarriersOf(o.opts.Name) {
		if err := o.ensureSession(ctx); err != nil {
			return err
		}
		o.takeoverNow(ctx, true)
	}
	return nil
}

// load reads etcd's members and the fleet's lease index, and starts the
// loops. It changes nothing when it fails.
func (o *Offloader) load(ctx context.Context) error {
	members, err := o.up.MemberList(ctx, &pb.MemberListRequest{})
	if err != nil {
		return fmt.Errorf("offload: list upstream members: %w", err)
	}
	var memberIDs []uint64
	for _, m := range members.Members {
		memberIDs = append(memberIDs, m.ID)
	}
	internal := lease.InternalPrefix(memberIDs)
	ids, err := lease.NewIDAllocator(lease.IDConfig{
		MemberIDs: memberIDs, AvoidPrefixes: []uint16{internal}, Identity: identityHash(o.opts.Name),
	}, o.wall())
	if err != nil {
		return fmt.Errorf("offload: %w", err)
	}
	o.mu.Lock()
	f := o.feed
	o.mu.Unlock()
	if f == nil {
		f, err = feed.New(feed.Config{
			Name: o.opts.Name, Topic: "leases", Prefixes: []string{o.opts.ReservedPrefix},
			Feeders: o.opts.Feeders, KV: o.up, Watch: o.up, Bus: o.opts.Bus,
			Sink: newIndexSink(o), Logger: o.log.With("feed", "leases"), Metrics: o.feedMetrics,
			Witness: o.opts.Witness,
		})
		if err != nil {
			return fmt.Errorf("offload: %w", err)
		}
		o.mu.Lock()
		o.feed = f
		o.mu.Unlock()
	}
	o.internal.Store(uint32(internal))
	o.mu.Lock()
	o.table = lease.New(lease.Config{Owner: o.opts.Name, MinTTL: o.opts.MinTTL}, ids)
	o.mu.Unlock()
	if err := f.Start(ctx); err != nil {
		return fmt.Errorf("offload: load the lease index: %w", err)
	}

	o.started.Store(true)
	for _, loop := range []func(context.Context){
		func(ctx context.Context) { o.intake.run(ctx, o.clock, 20*time.Millisecond) },
		o.keepAliveLoop,
		o.expireLoop,
		o.takeoverLoop,
	} {
		o.spawn(loop)
	}
	o.active.Store(true)
	return nil
}

// Close stops the loops and revokes the session, so that successors adopt
// this herald's carriers at once instead of after the session TTL. Carriers
// are not revoked: their leases live on with the successors.
func (o *Offloader) Close() {
	if !o.started.Load() {
		return
	}
	o.spawnMu.Lock()
	o.closing = true
	o.spawnMu.Unlock()
	o.stop()
	o.wg.Wait()
	o.mu.Lock()
	f := o.feed
	o.mu.Unlock()
	f.Close()
	o.mu.Lock()
	session := o.own.Session()
	o.mu.Unlock()
	if session != lease.NoLease {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if _, err := o.up.Revoke(ctx, &pb.LeaseRevokeRequest{ID: int64(session)}); err != nil {
			o.log.Warn("could not revoke the session; successors take over when it expires", "err", err)
		}
	}
}

// spawn runs f on a goroutine until Close, which cancels its context and
// waits for it. After Close it runs nothing.
func (o *Offloader) spawn(f func(ctx context.Context)) {
	o.spawnMu.Lock()
	defer o.spawnMu.Unlock()
	if o.closing {
		return
	}
	o.wg.Add(1)
	go func() { defer o.wg.Done(); f(o.bg) }()
}

// NoteHeader remembers an upstream header, for answers herald gives itself.
func (o *Offloader) NoteHeader(h *pb.ResponseHeader) {
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

// LocalHeader is the header of an answer herald gives without asking etcd:
// the newest etcd header it has seen.
func (o *Offloader) LocalHeader() *pb.ResponseHeader {
	if h := o.header.Load(); h != nil {
		return &pb.ResponseHeader{ClusterId: h.ClusterId, MemberId: h.MemberId, Revision: h.Revision, RaftTerm: h.RaftTerm}
	}
	return &pb.ResponseHeader{}
}

// PathChanged reopens the offloader's long-lived upstream streams (the
// keepalives of the session and carriers, the index's watch): new calls
// take the new path (direct to etcd, or relayed through a peer), and a
// stream left on a dead path would hang until TCP gave up.
func (o *Offloader) PathChanged() {
	o.repath.fire()
	o.mu.Lock()
	f := o.feed
	o.mu.Unlock()
	if f != nil {
		f.Reconnect()
	}
}

// kickTakeover wakes the takeover loop.
func (o *Offloader) kickTakeover() {
	select {
	case o.kick <- struct{}{}:
	default:
	}
}

// internalPrefix is the internal lease ID prefix (0 before Start).
func (o *Offloader) internalPrefix() uint16 { return uint16(o.internal.Load()) }

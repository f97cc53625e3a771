package feed

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"

	"github.com/heraldproj/herald/fanout"
)

// Feed keeps one Sink current from etcd and the fleet. Its methods are safe
// for concurrent use.
type Feed struct {
	cfg Config
	m   *Metrics
	log *slog.Logger

	feeding    atomic.Bool
	repairKick chan struct{}

	repathMu sync.Mutex    // guards repath
	repath   chan struct{} // closed by Reconnect

	mu      sync.Mutex // guards started, closed and cancel; never held across I/O
	started bool
	closed  bool
	cancel  context.CancelFunc // stops the loops; nil until they run
	done    sync.WaitGroup     // the loops
}

// New validates cfg; nothing runs until Start.
func New(cfg Config) (*Feed, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	m := cfg.Metrics
	if m == nil {
		var err error
		if m, err = NewMetrics(nil, cfg.Topic); err != nil {
			return nil, err
		}
	}
	return &Feed{
		cfg: cfg, m: m, log: cfg.Logger.With("topic", cfg.Topic),
		repairKick: make(chan struct{}, 1),
	}, nil
}

// Start loads the sink from etcd and starts the loops: the feeder choice
// (and the feeder's watch when this herald is one), the fleet's deliveries
// and the repair of gaps. It fails, running nothing, when the load fails,
// and may then be called again. The loops outlive ctx's cancellation (they run until Close) but keep its
// values.
func (f *Feed) Start(ctx context.Context) error {
	f.mu.Lock()
	started, closed := f.started, f.closed
	f.started = true
	f.mu.Unlock()
	switch {
	case closed:
		return fmt.Errorf("feed %s: start after close", f.cfg.Topic)
	case started:
		return fmt.Errorf("feed %s: started twice", f.cfg.Topic)
	}
	if err := f.reload(ctx); err != nil {
		f.mu.Lock()
		f.started = false // nothing was installed: Start may be tried again
		f.mu.Unlock()
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return fmt.Errorf("feed %s: closed while starting", f.cfg.Topic)
	}
	bg, cancel := context.WithCancel(context.WithoutCancel(ctx))
	f.cancel = cancel
	loops := []func(context.Context){f.feederLoop, f.repairLoop}
	if f.cfg.Bus != nil {
		loops = append(loops, f.deliveryLoop)
	}
	for _, loop := range loops {
		f.done.Add(1)
		go func() { defer f.done.Done(); loop(bg) }()
	}
	return nil
}

// Close stops every goroutine of the Feed and waits for them. It is
// idempotent; a Feed that never started closes at once, and a Start after
// Close fails.
func (f *Feed) Close() {
	f.mu.Lock()
	f.closed = true
	if f.cancel != nil {
		f.cancel()
	}
	f.mu.Unlock()
	f.done.Wait()
}

// IsFeeder reports whether this herald watches etcd for the fleet now.
func (f *Feed) IsFeeder() bool { return f.feeding.Load() }

// reload reads every prefix at one revision, or only the ranges a
// RangeKeeper sink keeps (after a count of the first prefix, which fixes
// the revision), and loads the sink with it. When a kept range cannot be
// read at that revision (ZooKeeper serves only its current one), the
// snapshot keeps none: the sink reads its ranges again as it needs them.
func (f *Feed) reload(ctx context.Context) error {
	var snap Snapshot
	if rk, ok := f.cfg.Sink.(RangeKeeper); ok {
		snap.Ranges, snap.Partial = rk.KeptRanges()
	}
	read := func(key, end []byte, countOnly bool) error {
		resp, err := f.cfg.KV.Range(ctx, &pb.RangeRequest{Key: key, RangeEnd: end, Revision: snap.Rev, CountOnly: countOnly})
		if err != nil {
			return fmt.Errorf("feed %s: load %q: %w", f.cfg.Topic, key, err)
		}
		if snap.Rev == 0 {
			snap.Rev, snap.Header = resp.Header.GetRevision(), resp.Header
		}
		snap.KVs = append(snap.KVs, resp.Kvs...)
		return nil
	}
	if snap.Partial {
		p := []byte(f.cfg.Prefixes[0])
		if err := read(p, fanout.PrefixEnd(p), true); err != nil {
			return err
		}
		for _, r := range snap.Ranges {
			if err := read(r.Key, r.RangeEnd, false); err != nil {
				f.log.Info("a kept range cannot be read at the snapshot's revision; loading none", "err", err)
				snap.Ranges, snap.KVs = nil, nil
				break
			}
		}
	} else {
		for _, p := range f.cfg.Prefixes {
			if err := read([]byte(p), fanout.PrefixEnd([]byte(p)), false); err != nil {
				return err
			}
		}
	}
	gap, err := f.cfg.Sink.Load(snap)
	if err != nil {
		return fmt.Errorf("feed %s: load: %w", f.cfg.Topic, err)
	}
	if gap != nil {
		f.kickRepair()
	}
	f.log.Info("replica loaded from the upstream", "revision", snap.Rev, "keys", len(snap.KVs), "ranges", rangesOf(snap))
	return nil
}

// apply hands one batch to the sink.
func (f *Feed) apply(b fanout.Batch) {
	gap, err := f.cfg.Sink.Apply(b)
	f.m.Batches.Inc()
	if err != nil {
		f.log.Warn("batch refused", "prev", b.PrevRev, "rev", b.Rev, "err", err)
	}
	if gap != nil {
		f.kickRepair()
	}
}

func (f *Feed) kickRepair() {
	select {
	case f.repairKick <- struct{}{}:
	default:
	}
}

// deliveryLoop applies what the fleet broadcasts.
func (f *Feed) deliveryLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case payload, ok := <-f.cfg.Bus.Deliveries():
			if !ok {
				return
			}
			var b fanout.Batch
			if err := b.UnmarshalBinary(payload); err != nil {
				f.m.BadBatches.Inc()
				f.log.Warn("undecodable batch from the fleet", "err", err)
				continue
			}
			f.apply(b)
		}
	}
}

// compacted reports etcd's compact revision when err says that etcd
// compacted the revision a watch asked for, and records it in the sink.
func (f *Feed) compacted(err error) bool {
	var c errCompacted
	if !errors.As(err, &c) {
		return false
	}
	f.cfg.Sink.SetCompactRev(int64(c))
	return true
}

// rangesOf says what a snapshot read, for the log.
func rangesOf(s Snapshot) string {
	if !s.Partial {
		return "every prefix"
	}
	return fmt.Sprintf("%d kept", len(s.Ranges))
}

package transport

import (
	"container/heap"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// FaultConfig describes the faults a Faulty transport injects on send.
type FaultConfig struct {
	// Loss is the probability, independently for each frame, that it is
	// dropped.
	Loss float64
	// DelayMin and DelayMax bound a uniform per-frame delay before the frame
	// is handed to the wrapped transport. Frames to one peer may therefore be
	// reordered, as on a network with jitter.
	DelayMin, DelayMax time.Duration
	// Seed makes the loss and delay draws reproducible.
	Seed uint64
	// MaxPending bounds the frames waiting out their delay; Send reports
	// ErrQueueFull beyond it (default 65536).
	MaxPending int
}

// FaultStats counts what a Faulty did.
type FaultStats struct {
	Dropped uint64 // lost to the loss probability
	Cut     uint64 // dropped by a partition
}

// Faulty wraps a Transport and injects delay, i.i.d. loss and partitions on
// the frames it sends, for tests and benchmarks. Frames received are passed
// through untouched (wrap both ends to fault both directions).
type Faulty struct {
	inner Transport
	cfg   FaultConfig

	mu      sync.Mutex
	rng     *rand.Rand
	cut     map[string]bool
	pending delayHeap
	seq     uint64
	closed  bool

	wake             chan struct{}
	done             chan struct{}
	wg               sync.WaitGroup
	dropped, cutDrop atomic.Uint64
}

var _ Transport = (*Faulty)(nil)

// NewFaulty wraps inner. Closing the Faulty closes inner.
func NewFaulty(inner Transport, cfg FaultConfig) *Faulty {
	if cfg.MaxPending <= 0 {
		cfg.MaxPending = 1 << 16
	}
	if cfg.DelayMax < cfg.DelayMin {
		cfg.DelayMax = cfg.DelayMin
	}
	f := &Faulty{
		inner: inner,
		cfg:   cfg,
		rng:   rand.New(rand.NewPCG(cfg.Seed, 0x6865726c64)),
		cut:   make(map[string]bool),
		wake:  make(chan struct{}, 1),
		done:  make(chan struct{}),
	}
	f.wg.Add(1)
	go f.deliverLoop()
	return f
}

// Cut drops every later frame to the given addresses until Heal.
func (f *Faulty) Cut(to ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, a := range to {
		f.cut[a] = true
	}
}

// Heal undoes Cut for the given addresses.
func (f *Faulty) Heal(to ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, a := range to {
		delete(f.cut, a)
	}
}

// HealAll undoes every Cut.
func (f *Faulty) HealAll() {
	f.mu.Lock()
	defer f.mu.Unlock()
	clear(f.cut)
}

// Stats returns the faults injected so far.
func (f *Faulty) Stats() FaultStats {
	return FaultStats{Dropped: f.dropped.Load(), Cut: f.cutDrop.Load()}
}

// Send implements Transport. It never blocks. A frame lost to a fault is
// reported as sent (nil), as a network would.
func (f *Faulty) Send(to string, frame []byte) error {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return ErrClosed
	}
	if f.cut[to] {
		f.mu.Unlock()
		f.cutDrop.Add(1)
		return nil
	}
	if f.cfg.Loss > 0 && f.rng.Float64() < f.cfg.Loss {
		f.mu.Unlock()
		f.dropped.Add(1)
		return nil
	}
	delay := f.cfg.DelayMin
	if span := f.cfg.DelayMax - f.cfg.DelayMin; span > 0 {
		delay += time.Duration(f.rng.Int64N(int64(span) + 1))
	}
	if delay == 0 {
		f.mu.Unlock()
		return f.inner.Send(to, frame)
	}
	if len(f.pending) >= f.cfg.MaxPending {
		f.mu.Unlock()
		return ErrQueueFull
	}
	f.seq++
	heap.Push(&f.pending, delayed{due: time.Now().Add(delay), seq: f.seq, to: to, frame: frame})
	f.mu.Unlock()
	select {
	case f.wake <- struct{}{}:
	default:
	}
	return nil
}

// Recv implements Transport.
func (f *Faulty) Recv() <-chan Frame { return f.inner.Recv() }

// Keep implements Transport: the wrapped transport keeps the connections
// (faults apply to frames, not to set-up).
func (f *Faulty) Keep(addrs []string) { f.inner.Keep(addrs) }

// Close implements Transport: it drops delayed frames and closes the
// wrapped transport.
func (f *Faulty) Close() error {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return nil
	}
	f.closed = true
	f.pending = nil
	f.mu.Unlock()
	close(f.done)
	f.wg.Wait()
	return f.inner.Close()
}

// deliverLoop hands delayed frames to the wrapped transport when due.
func (f *Faulty) deliverLoop() {
	defer f.wg.Done()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		f.mu.Lock()
		var due []delayed
		now := time.Now()
		for len(f.pending) > 0 && !f.pending[0].due.After(now) {
			due = append(due, heap.Pop(&f.pending).(delayed))
		}
		wait := time.Hour
		if len(f.pending) > 0 {
			wait = f.pending[0].due.Sub(now)
		}
		f.mu.Unlock()
		for _, d := range due {
			// An error (queue full, closed) loses the frame, as a network would.
			_ = f.inner.Send(d.to, d.frame)
		}
		if len(due) > 0 {
			continue
		}
		timer.Reset(wait)
		select {
		case <-timer.C:
		case <-f.wake: // Reset above discards a stale expiry (Go ≥ 1.23 timers)
		case <-f.done:
			return
		}
	}
}

type delayed struct {
	due   time.Time
	seq   uint64 // keeps frames with equal due times in send order
	to    string
	frame []byte
}

type delayHeap []delayed

func (h delayHeap) Len() int { return len(h) }
func (h delayHeap) Less(i, j int) bool {
	if h[i].due.Equal(h[j].due) {
		return h[i].seq < h[j].seq
	}
	return h[i].due.Before(h[j].due)
}
func (h delayHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *delayHeap) Push(x any)   { *h = append(*h, x.(delayed)) }
func (h *delayHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

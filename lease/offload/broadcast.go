package offload

import (
	"context"
	"sync"
	"time"
)

// broadcast wakes every waiter when something moved (the index advanced,
// ownership changed): waiters take the channel, re-check their condition,
// and wait on the channel if it still does not hold.
type broadcast struct {
	mu sync.Mutex
	ch chan struct{}
}

func newBroadcast() *broadcast { return &broadcast{ch: make(chan struct{})} }

// C is closed at the next fire.
func (b *broadcast) C() <-chan struct{} {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.ch
}

func (b *broadcast) fire() {
	b.mu.Lock()
	close(b.ch)
	b.ch = make(chan struct{})
	b.mu.Unlock()
}

// waitFor waits until cond holds, ctx ends or timeout passes; it reports
// whether cond held.
func (b *broadcast) waitFor(ctx context.Context, timeout time.Duration, cond func() bool) bool {
	var deadline <-chan time.Time
	for {
		ch := b.C()
		if cond() {
			return true
		}
		if deadline == nil {
			t := time.NewTimer(timeout)
			defer t.Stop()
			deadline = t.C
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return false
		case <-deadline:
			return cond()
		}
	}
}

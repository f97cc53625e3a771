package lograte

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Interval is herald's: one line per kind every 10 s.
const Interval = 10 * time.Second

// maxKeys bounds the kinds a Limiter remembers; past it, it forgets them
// all (at worst, one extra line per kind).
const maxKeys = 1024

// Limiter lets one line per key through per interval.
type Limiter struct {
	every time.Duration
	now   func() time.Time

	mu   sync.Mutex
	keys map[string]*kind
}

type kind struct {
	last       time.Time // when a line of this kind was last let through
	suppressed int       // lines held back since
}

// New returns a Limiter that lets through one line per key every interval.
func New(every time.Duration) *Limiter {
	return &Limiter{every: every, now: time.Now, keys: map[string]*kind{}}
}

// Allow reports whether a line of kind key may be logged now and, if so,
// how many lines of that kind were held back since the last one.
func (l *Limiter) Allow(key string) (ok bool, suppressed int) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	k := l.keys[key]
	if k == nil {
		if len(l.keys) >= maxKeys {
			clear(l.keys)
		}
		l.keys[key] = &kind{last: now}
		return true, 0
	}
	if now.Sub(k.last) < l.every {
		k.suppressed++
		return false, 0
	}
	suppressed = k.suppressed
	k.last, k.suppressed = now, 0
	return true, suppressed
}

// Log logs msg on log at level unless a line with the same msg was let
// through less than an interval ago; a line that follows held-back ones
// says how many ("held_back").
func (l *Limiter) Log(log *slog.Logger, level slog.Level, msg string, args ...any) {
	ok, n := l.Allow(msg)
	if !ok {
		return
	}
	if n > 0 {
		args = append(args, "held_back", n)
	}
	log.Log(context.Background(), level, msg, args...)
}

package embedetcd

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"
)

// records is a slog.Handler that keeps what it is given, at or above min;
// handlers derived with WithAttrs keep into the same store.
type records struct {
	min   slog.Level
	with  []slog.Attr
	store *recordStore
}

type recordStore struct {
	mu  sync.Mutex
	got []slog.Record
}

func newRecords(min slog.Level) *records { return &records{min: min, store: &recordStore{}} }

func (r *records) Enabled(_ context.Context, l slog.Level) bool { return l >= r.min }
func (r *records) Handle(_ context.Context, rec slog.Record) error {
	rec.AddAttrs(r.with...)
	r.store.mu.Lock()
	defer r.store.mu.Unlock()
	r.store.got = append(r.store.got, rec)
	return nil
}
func (r *records) WithAttrs(as []slog.Attr) slog.Handler {
	return &records{min: r.min, with: append(append([]slog.Attr(nil), r.with...), as...), store: r.store}
}
func (r *records) WithGroup(string) slog.Handler { return r }

func (r *records) take() []slog.Record {
	r.store.mu.Lock()
	defer r.store.mu.Unlock()
	out := r.store.got
	r.store.got = nil
	return out
}

func attrsString(rec slog.Record) map[string]string {
	m := map[string]string{}
	rec.Attrs(func(a slog.Attr) bool { m[a.Key] = a.Value.String(); return true })
	return m
}

func TestSlogCoreLevelsAndFields(t *testing.T) {
	h := newRecords(slog.LevelDebug)
	var closing atomic.Bool
	lg := zap.New(newSlogCore(h, &closing))

	lg.Debug("etcd debug")                                      // below herald's debug: dropped
	lg.Info("etcd info", zap.String("b", "2"), zap.Int("a", 1)) // herald debug
	lg.Warn("etcd warn")
	lg.Warn("simple token is not cryptographically signed") // a start warning: info
	lg.Error("etcd error", zap.Error(errors.New("boom")))
	lg.Error("setting up serving from embedded etcd failed.", zap.Error(errors.New("accept tcp: use of closed network connection")))
	closing.Store(true)
	lg.Error("setting up serving from embedded etcd failed.", zap.Error(errors.New("http: Server closed")))
	lg.Error("etcd error while closing", zap.Error(errors.New("disk full")))

	want := []struct {
		msg   string
		level slog.Level
	}{
		{"etcd info", slog.LevelDebug},
		{"etcd warn", slog.LevelWarn},
		{"simple token is not cryptographically signed", slog.LevelInfo},
		{"etcd error", slog.LevelError},
		{"setting up serving from embedded etcd failed.", slog.LevelError}, // not closing yet
		{"setting up serving from embedded etcd failed.", slog.LevelDebug},
		{"etcd error while closing", slog.LevelError},
	}
	got := h.take()
	if len(got) != len(want) {
		for _, r := range got {
			t.Logf("%s %s", r.Level, r.Message)
		}
		t.Fatalf("got %d records, want %d", len(got), len(want))
	}
	for i, w := range want {
		if got[i].Message != w.msg || got[i].Level != w.level {
			t.Errorf("record %d: %s %q, want %s %q", i, got[i].Level, got[i].Message, w.level, w.msg)
		}
	}
	var keys []string
	got[0].Attrs(func(a slog.Attr) bool { keys = append(keys, a.Key); return true })
	if len(keys) != 2 || keys[0] != "a" || keys[1] != "b" {
		t.Errorf("fields %v, want [a b] (sorted)", keys)
	}
	if a := attrsString(got[3]); a["error"] != "boom" {
		t.Errorf("error field %q, want boom", a["error"])
	}
}

func TestSlogCoreWithAndLevelFilter(t *testing.T) {
	h := newRecords(slog.LevelInfo)
	var closing atomic.Bool
	lg := zap.New(newSlogCore(h, &closing)).With(zap.String("member", "m1"))
	if lg.Core().Enabled(zap.InfoLevel) {
		t.Error("etcd info enabled at herald info: it must need herald debug")
	}
	lg.Info("hidden")
	lg.Warn("shown", zap.Duration("took", time.Second))
	got := h.take()
	if len(got) != 1 || got[0].Message != "shown" {
		t.Fatalf("got %v", got)
	}
	if a := attrsString(got[0]); a["member"] != "m1" || a["took"] != "1s" {
		t.Errorf("attributes %v, want member=m1 took=1s", a)
	}
}

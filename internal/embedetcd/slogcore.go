package embedetcd

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync/atomic"

	"go.uber.org/zap/zapcore"
)

// The embedded member logs through herald's slog handler, so that its lines
// take herald's format and --log-level, with area=embedded-etcd. etcd's
// levels map one down for info and below: etcd's info lines (dozens at
// start) are detail of a component herald owns, shown at herald's debug;
// its warnings and errors stay warnings and errors.
func slogLevel(l zapcore.Level) slog.Level {
	switch {
	case l < zapcore.InfoLevel:
		return slog.LevelDebug - 4
	case l == zapcore.InfoLevel:
		return slog.LevelDebug
	case l == zapcore.WarnLevel:
		return slog.LevelWarn
	default:
		return slog.LevelError
	}
}

// startWarnings are etcd's warnings about how a member faces its clients
// (one port for gRPC and HTTP; unsigned simple tokens, which matter only
// with auth on). The embedded member serves herald alone, on the address
// herald gives it, so herald logs them at info.
var startWarnings = map[string]bool{
	"Running http and grpc server on single port. This is not recommended for production.": true,
	"simple token is not cryptographically signed":                                         true,
}

// closedErrors are the errors etcd's listeners report when Close stops
// them. etcd logs each at error level, with a stack trace, on every normal
// stop ("setting up serving from embedded etcd failed."); once Close has
// begun, herald logs them at debug.
var closedErrors = []string{"use of closed network connection", "server closed", "Server closed"}

// slogCore is a zapcore.Core that writes to a slog.Handler.
type slogCore struct {
	h       slog.Handler
	closing *atomic.Bool // Close has begun
}

func newSlogCore(h slog.Handler, closing *atomic.Bool) *slogCore {
	return &slogCore{h: h, closing: closing}
}

func (c *slogCore) Enabled(l zapcore.Level) bool {
	return c.h.Enabled(context.Background(), slogLevel(l))
}

func (c *slogCore) With(fields []zapcore.Field) zapcore.Core {
	return &slogCore{h: c.h.WithAttrs(attrsOf(fields)), closing: c.closing}
}

func (c *slogCore) Check(e zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if c.Enabled(e.Level) {
		return ce.AddCore(e, c)
	}
	return ce
}

func (c *slogCore) Write(e zapcore.Entry, fields []zapcore.Field) error {
	level := slogLevel(e.Level)
	attrs := attrsOf(fields)
	switch {
	case level >= slog.LevelWarn && c.closing.Load() && closedError(attrs):
		level = slog.LevelDebug
	case level == slog.LevelWarn && startWarnings[e.Message]:
		level = slog.LevelInfo
	}
	ctx := context.Background()
	if !c.h.Enabled(ctx, level) {
		return nil
	}
	r := slog.NewRecord(e.Time, level, e.Message, 0)
	r.AddAttrs(attrs...)
	return c.h.Handle(ctx, r)
}

func (c *slogCore) Sync() error { return nil }

// attrsOf turns zap fields into slog attributes, sorted by key (zap's map
// encoder does not keep their order).
func attrsOf(fields []zapcore.Field) []slog.Attr {
	if len(fields) == 0 {
		return nil
	}
	enc := zapcore.NewMapObjectEncoder()
	for _, f := range fields {
		f.AddTo(enc)
	}
	keys := make([]string, 0, len(enc.Fields))
	for k := range enc.Fields {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	attrs := make([]slog.Attr, 0, len(keys))
	for _, k := range keys {
		attrs = append(attrs, slog.Any(k, enc.Fields[k]))
	}
	return attrs
}

// closedError reports whether attrs carry an "error" that a closing
// listener reports.
func closedError(attrs []slog.Attr) bool {
	for _, a := range attrs {
		if a.Key != "error" {
			continue
		}
		msg := fmt.Sprint(a.Value.Any())
		for _, s := range closedErrors {
			if strings.Contains(msg, s) {
				return true
			}
		}
	}
	return false
}

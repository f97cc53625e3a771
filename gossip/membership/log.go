package membership

import (
	"bytes"
	"context"
	"log"
	"log/slog"
	"net"
	"sync/atomic"

	"github.com/heraldproj/herald/internal/lograte"
)

// slogWriter routes memberlist's standard-library log lines, which look like
// "[WARN] memberlist: Was able to connect to ...", to an slog.Logger at the
// matching level. Warnings and errors are what packets from the network
// cause (one per packet sealed with another key, for one): they are held
// to one line per kind every lograte.Interval, the kind being the message
// before its first ": " (the rest goes to the attribute "detail").
//
// Once closing is set (Membership.Close is stopping memberlist), a
// warning or error about a closed connection is memberlist's own gossip
// racing its shutdown (it closes its sockets before its goroutines stop):
// it goes out at DEBUG.
type slogWriter struct {
	l       *slog.Logger
	limit   *lograte.Limiter
	closing *atomic.Bool // nil: never
}

func newStdLogger(l *slog.Logger, closing *atomic.Bool) *log.Logger {
	return log.New(slogWriter{l.With("component", "memberlist"), lograte.New(lograte.Interval), closing}, "", 0)
}

func (w slogWriter) Write(p []byte) (int, error) {
	line := bytes.TrimSpace(p)
	level := slog.LevelInfo
	for _, lv := range []struct {
		tag   string
		level slog.Level
	}{
		{"[DEBUG]", slog.LevelDebug},
		{"[INFO]", slog.LevelInfo},
		{"[WARN]", slog.LevelWarn},
		{"[ERR]", slog.LevelError},
		{"[ERROR]", slog.LevelError},
	} {
		if rest, ok := bytes.CutPrefix(line, []byte(lv.tag)); ok {
			level, line = lv.level, bytes.TrimSpace(rest)
			break
		}
	}
	line, _ = bytes.CutPrefix(line, []byte("memberlist: "))
	if level >= slog.LevelWarn && w.closing != nil && w.closing.Load() && bytes.Contains(line, []byte(net.ErrClosed.Error())) {
		level = slog.LevelDebug
	}
	if level < slog.LevelWarn {
		w.l.Log(context.Background(), level, string(line))
		return len(p), nil
	}
	if msg, detail, ok := bytes.Cut(line, []byte(": ")); ok {
		w.limit.Log(w.l, level, string(msg), "detail", string(detail))
	} else {
		w.limit.Log(w.l, level, string(line))
	}
	return len(p), nil
}

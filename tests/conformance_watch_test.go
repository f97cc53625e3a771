package tests

import (
	"strings"
	"testing"

	"github.com/heraldproj/herald/tests/harness"
)

// progressNotifyInterval makes etcd send progress notifications often enough
// for a test (default: 10 minutes).
const progressNotifyInterval = "--watch-progress-notify-interval=300ms"

// TestConformanceWatch: etcdctl watch with --prefix, --rev (history),
// --prev-kv, -w json and --progress-notify, each run in the background while
// keys change, then interrupted; the outputs are compared.
func TestConformanceWatch(t *testing.T) {
	opts := harness.EtcdOptions{ExtraArgs: []string{progressNotifyInterval}}
	conformance(t, opts, func(s *session) {
		s.run("put", "foo1", "a") // rev 2
		s.run("put", "foo2", "b") // rev 3
		s.run("put", "bar", "x")  // rev 4

		history := s.background("", "watch", "foo", "--prefix", "--rev", s.rev(2), "--prev-kv")
		live := s.background("", "watch", "foo", "--prefix")
		ranged := s.background("", "watch", "foo1", "foo3", "--prev-kv")
		s.waitUpstreamWatchers(3)

		s.run("put", "foo1", "c")
		s.run("del", "foo2")
		s.run("put", "bar", "y")
		s.run("put", "foo3", "d")
		s.run("del", "foo", "--prefix")
		s.run("put", "foo9", "end")

		for _, w := range []*harness.BackgroundCtl{history, live} {
			s.waitOutput(w, "end", 1)
		}
		s.waitOutput(ranged, "DELETE", 2) // foo2, then foo1
		s.interrupt("watch foo --prefix --rev 2 --prev-kv", history)
		s.interrupt("watch foo --prefix", live)

		// History only, so that etcd sends it in one response whatever the
		// timing (live events may be batched differently from run to run).
		single := s.background("", "watch", "foo1", "--rev", s.rev(1), "-w", "json")
		s.waitOutput(single, `"type":1`, 1) // foo1 deleted (DELETE is type 1)
		s.interrupt("watch foo1 --rev 1 -w json", single)
		s.interrupt("watch foo1 foo3 --prev-kv", ranged)

		// A synced watcher with progress notifications: the events, then
		// a notification at the current revision. How many notifications
		// arrive depends on time, so only the first one is compared.
		progress := s.background("", "watch", "foo", "--prefix", "--rev", s.rev(5), "--progress-notify")
		s.waitOutput(progress, "progress notify:", 1)
		stdout, stderr := progress.Interrupt()
		s.record("watch foo --prefix --rev 5 --progress-notify (to the first notification)",
			upToFirst(stdout, "progress notify:"), stderr, progress.ExitCode())
	})
}

// upToFirst cuts s after the first line that starts with prefix.
func upToFirst(s, prefix string) string {
	var b strings.Builder
	for _, line := range strings.SplitAfter(s, "\n") {
		b.WriteString(line)
		if strings.HasPrefix(line, prefix) {
			break
		}
	}
	return b.String()
}

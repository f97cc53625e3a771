package tests

import (
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/heraldproj/herald/tests/harness"
)

// session runs a sequence of etcdctl commands against one target and records
// every outcome, so that two sessions (direct and through herald) can be
// compared step by step.
type session struct {
	t     *testing.T
	tgt   target
	vars  map[string]string
	steps []step
	// base is the store revision when the session started: 1 on a fresh
	// etcd, more when herald has written its own records upstream.
	base int64
}

// step is one recorded outcome.
type step struct {
	label          string
	stdout, stderr string
	code           int
}

func newSession(t *testing.T, tgt target) *session {
	t.Helper()
	s := &session{t: t, tgt: tgt, vars: map[string]string{}}
	out, stderr, err := harness.Etcdctl(t, tgt.endpoints, "get", "herald-test/no-such-key", "-w", "json")
	var resp struct {
		Header struct {
			Revision int64 `json:"revision"`
		} `json:"header"`
	}
	if err != nil || json.Unmarshal([]byte(out), &resp) != nil || resp.Header.Revision == 0 {
		t.Fatalf("%s: reading the start revision: %q %q %v", tgt.name, out, stderr, err)
	}
	s.base = resp.Header.Revision
	return s
}

// rev is the revision that a fresh etcd would number n, in this session:
// n+base-1. Sessions use it for revisions they pass as arguments, so that
// records herald writes upstream before the session do not shift them.
func (s *session) rev(n int64) string {
	return strconv.FormatInt(n+s.base-1, 10)
}

// run runs etcdctl args (with {name} replaced by a value set with set) and
// records its outcome.
func (s *session) run(args ...string) step {
	s.t.Helper()
	return s.input("", args...)
}

// input is run with stdin.
func (s *session) input(stdin string, args ...string) step {
	s.t.Helper()
	args = s.expand(args)
	stdout, stderr, err := harness.EtcdctlInput(s.t, s.tgt.endpoints, stdin, args...)
	return s.record("etcdctl "+strings.Join(args, " "), stdout, stderr, harness.ExitCode(err))
}

func (s *session) record(label, stdout, stderr string, code int) step {
	st := step{label: label, stdout: stdout, stderr: stderr, code: code}
	s.steps = append(s.steps, st)
	return st
}

// set makes {name} expand to value in later commands.
func (s *session) set(name, value string) { s.vars[name] = value }

func (s *session) expand(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		for name, v := range s.vars {
			a = strings.ReplaceAll(a, "{"+name+"}", v)
		}
		out[i] = a
	}
	return out
}

// background starts etcdctl args in the background.
func (s *session) background(stdin string, args ...string) *harness.BackgroundCtl {
	s.t.Helper()
	return harness.StartEtcdctl(s.t, s.tgt.endpoints, stdin, s.expand(args)...)
}

// interrupt stops a background command with SIGINT and records its output.
func (s *session) interrupt(label string, b *harness.BackgroundCtl) step {
	s.t.Helper()
	stdout, stderr := b.Interrupt()
	return s.record(label, stdout, stderr, b.ExitCode())
}

// waitOutput fails the test unless b prints substr n times.
func (s *session) waitOutput(b *harness.BackgroundCtl, substr string, n int) {
	s.t.Helper()
	if err := b.WaitOutput(substr, n); err != nil {
		s.t.Fatalf("%s: %v", s.tgt.name, err)
	}
}

var leaseGranted = regexp.MustCompile(`lease ([0-9a-f]+) granted`)

// grant runs `lease grant ttl` (after flags, such as --user) and sets
// {name} to the lease id.
func (s *session) grant(name string, ttl int, flags ...string) {
	s.t.Helper()
	st := s.run(append(flags, "lease", "grant", strconv.Itoa(ttl))...)
	m := leaseGranted.FindStringSubmatch(st.stdout)
	if m == nil {
		s.t.Fatalf("%s: lease grant printed %q (stderr %q)", s.tgt.name, st.stdout, st.stderr)
	}
	s.set(name, m[1])
}

var watcherGauge = regexp.MustCompile(`(?m)^etcd_debugging_mvcc_watcher_total (\d+)`)

// waitUpstreamWatchers waits until the etcd behind the target has at least n
// watchers: a watch started in the background is then in place, whichever
// way it reached etcd.
func (s *session) waitUpstreamWatchers(n int) {
	s.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	url := s.tgt.upstream.Member(0).MetricsURL() + "/metrics"
	for {
		body, err := harness.Metrics(url)
		if err == nil {
			if m := watcherGauge.FindStringSubmatch(body); m != nil {
				if v, _ := strconv.Atoi(m[1]); v >= n {
					return
				}
			}
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("%s: upstream etcd never had %d watchers (err %v)", s.tgt.name, n, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitKeys waits until the target holds at least n keys under prefix (a
// candidate or locker in the background has then queued its key). The polls
// are not recorded.
func (s *session) waitKeys(prefix string, n int) {
	s.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		out, stderr, err := harness.Etcdctl(s.t, s.tgt.endpoints, "get", prefix, "--prefix", "--keys-only")
		if err == nil && len(strings.Fields(out)) >= n {
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("%s: never %d keys under %q: %q %q %v", s.tgt.name, n, prefix, out, stderr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// expectStderr fails the test unless st's stderr contains want: it pins what
// a scenario is about, so that a comparison of two equal but wrong outputs
// cannot pass.
func (s *session) expectStderr(st step, want string) {
	s.t.Helper()
	if !strings.Contains(st.stderr, want) {
		s.t.Errorf("%s: %s: stderr %q does not contain %q", s.tgt.name, st.label, st.stderr, want)
	}
}

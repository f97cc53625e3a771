package tests

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/heraldproj/herald/tests/harness"
)

// showStepsEnv, set to 1, logs every normalised step of the direct session.
const showStepsEnv = "HERALD_TEST_SHOW_STEPS"

// compareSessions fails t for every step whose normalised stdout, stderr or
// exit code differ between the direct session and the one through herald.
func compareSessions(t *testing.T, direct, via *session) {
	t.Helper()
	if len(direct.steps) != len(via.steps) {
		t.Fatalf("direct ran %d steps, %s ran %d", len(direct.steps), via.tgt.name, len(via.steps))
	}
	nd, nv := newNormaliser(), newNormaliser()
	if via.tgt.herald != nil {
		// A lease grant through herald writes the lease's record: etcd's
		// revision moves where a plain etcd's does not. Those revisions
		// (only herald's keys changed) are taken out before comparing.
		if skip, ok := heraldOnlyRevisions(t, via.tgt.upstream); ok {
			nv.mapRevisions(withoutRevisions(skip))
		}
	}
	show := os.Getenv(showStepsEnv) == "1"
	for i := range direct.steps {
		d, v := direct.steps[i], via.steps[i]
		dOut, vOut := nd.normalise(d.stdout), nv.normalise(v.stdout)
		dErr, vErr := nd.normalise(d.stderr), nv.normalise(v.stderr)
		if show {
			t.Logf("step %d: %s\n(exit %d) stdout:\n%sstderr:\n%s", i+1, d.label, d.code, dOut, dErr)
		}
		if dOut == vOut && dErr == vErr && d.code == v.code {
			continue
		}
		t.Errorf("step %d differs: %s (%s: %s)\n%s", i+1, d.label, via.tgt.name, v.label,
			describeDiff(step{stdout: dOut, stderr: dErr, code: d.code}, step{stdout: vOut, stderr: vErr, code: v.code}, via.tgt.name))
	}
}

// describeDiff shows two normalised outcomes.
func describeDiff(d, v step, viaName string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "--- direct (exit %d) stdout:\n%s--- direct stderr:\n%s", d.code, d.stdout, d.stderr)
	fmt.Fprintf(&b, "--- %s (exit %d) stdout:\n%s--- %s stderr:\n%s", viaName, v.code, v.stdout, viaName, v.stderr)
	return b.String()
}

// conformance runs scenario against a fresh etcd directly and against a second
// fresh etcd through herald (started with heraldArgs), then compares the two
// sessions.
func conformance(t *testing.T, opts harness.EtcdOptions, scenario func(s *session), heraldArgs ...string) {
	t.Helper()
	skipIfShort(t)
	t.Parallel()
	direct := newSession(t, directTarget(t, opts))
	via := newSession(t, heraldTarget(t, opts, heraldArgs...))
	scenario(direct)
	scenario(via)
	compareSessions(t, direct, via)
}

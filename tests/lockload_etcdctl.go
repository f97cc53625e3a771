package tests

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/heraldproj/herald/tests/harness"
)

// The lock workload of lockload.go, with `etcdctl lock` and `etcdctl elect`
// processes as the holders:
//
//	res := RunEtcdctlLockLoad(t, EtcdctlLockLoad{Kind: MutexLock, Endpoints: eps, Name: "ctl-lock", Holders: 3, Rounds: 4})
//	if msg := res.Check(); msg != "" { t.Error(msg) }
//
// Each holder runs its rounds one after the other; each round is one process:
// `etcdctl lock NAME` (or `etcdctl elect NAME holder-i`) started in the
// background. etcdctl 3.7 prints the lock's key (the candidate's key) once it
// holds the lock (leads), and holds it until SIGINT, when it unlocks
// (resigns) and exits 0; if its session expires first it exits 1 with
// "session expired". The history is taken on the test's side: the acquire
// window runs from the process's start to the moment its stdout shows the
// key, the release window from the SIGINT to the process's exit. A process
// that exited before the SIGINT lost the lock (Tenure.Lost).
//
// `etcdctl lock NAME -- command` is not used: the command runs while the
// lock is held, but neither what it prints nor the test's signals give a
// moment at which the lock is certainly still held (a slow reader of its
// output can see "acquired" after the release), and etcdctl does not watch
// its session while the command runs, so a lost lock goes unnoticed.

// EtcdctlLockLoad configures RunEtcdctlLockLoad; Kind is MutexLock or
// ElectionLock.
type EtcdctlLockLoad struct {
	Kind         LockKind
	Endpoints    []string
	EndpointsFor func(holder int) []string // optional, as in LockLoad
	Name         string
	Holders      int
	Rounds       int
	// TTL is `etcdctl lock --ttl` (default: etcdctl's, 10 s). etcdctl
	// elect has no such flag (its sessions have clientv3's default 60 s).
	TTL int
}

// RunEtcdctlLockLoad runs the workload and returns its history. It must be
// called from the test's goroutine; the processes are stopped by the end of
// the test at the latest.
func RunEtcdctlLockLoad(t testing.TB, l EtcdctlLockLoad) *LockResult {
	t.Helper()
	if l.Kind != MutexLock && l.Kind != ElectionLock {
		t.Fatalf("etcdctl lock load: kind %v; want mutex or election", l.Kind)
	}
	harness.Binaries(t) // build (or fail) here, on the test's goroutine
	res := &LockResult{History: NewHistory()}
	var mu sync.Mutex // guards res.Acquired and res.Errors
	var wg sync.WaitGroup
	for i := range l.Holders {
		eps := l.Endpoints
		if l.EndpointsFor != nil {
			eps = l.EndpointsFor(i)
		}
		h := &ctlHolder{load: &l, name: fmt.Sprintf("ctl-holder-%d", i), endpoints: eps, history: res.History}
		wg.Go(func() {
			for round := range l.Rounds {
				h.once(t, round)
			}
			mu.Lock()
			defer mu.Unlock()
			res.Acquired += h.acquired
			res.Errors = append(res.Errors, h.errs...)
		})
	}
	wg.Wait()
	return res
}

// ctlHolder is one goroutine of the workload, running one etcdctl at a time.
type ctlHolder struct {
	load      *EtcdctlLockLoad
	name      string
	endpoints []string
	history   *History
	acquired  int
	errs      []error
}

func (h *ctlHolder) args() []string {
	if h.load.Kind == ElectionLock {
		return []string{"elect", h.load.Name, h.name}
	}
	args := []string{"lock"}
	if h.load.TTL > 0 {
		args = append(args, "--ttl", strconv.Itoa(h.load.TTL))
	}
	return append(args, h.load.Name)
}

func (h *ctlHolder) once(t testing.TB, round int) {
	fail := func(format string, args ...any) {
		h.errs = append(h.errs, fmt.Errorf("%s round %d: %s", h.name, round, fmt.Sprintf(format, args...)))
	}
	tenure := h.history.Begin(h.load.Name, h.name)
	ctl := harness.StartEtcdctl(t, h.endpoints, "", h.args()...)
	// The key is printed as "NAME/<lease id in hex>" once the lock is held.
	if err := ctl.WaitOutput(h.load.Name+"/", 1); err != nil {
		fail("%v", err)
		ctl.Interrupt()
		return
	}
	tenure.Acquired()
	h.acquired++
	if !ctl.Running() {
		tenure.Lost()
		fail("etcdctl exited (code %d) while holding the lock: %s", ctl.ExitCode(), strings.TrimSpace(ctl.Stderr()))
		return
	}
	tenure.Releasing()
	_, stderr := ctl.Interrupt()
	tenure.Released()
	if code := ctl.ExitCode(); code != 0 {
		fail("etcdctl exited %d after SIGINT: %s", code, strings.TrimSpace(stderr))
	}
}

package tests

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
)

// A lock workload: Holders goroutines, each with its own clientv3 client and
// concurrency.Session, acquire and release one shared lock Rounds times each
// and record every hold in a History, which the test then checks for
// overlaps. A fleet test runs it through the heralds while it kills, pauses
// or cuts them:
//
//	res, err := RunLockLoad(ctx, LockLoad{Kind: MutexLock, Endpoints: eps, Name: "/locks/a", Holders: 8, Rounds: 20})
//	overlaps, bad := res.History.Overlaps()
//	// want: no overlap, no bad hold; res.Errors tells what failed
//
// The same load through etcdctl processes is RunEtcdctlLockLoad
// (lockload_etcdctl.go). NoLock is the control: holders that take no lock at
// all, which the checker must catch.

// LockKind is what the holders of a lock workload acquire.
type LockKind int

const (
	// MutexLock is concurrency.Mutex: Lock, then Unlock.
	MutexLock LockKind = iota
	// ElectionLock is leadership of a concurrency.Election: Campaign (with
	// the holder's name as its value), then Resign.
	ElectionLock
	// NoLock acquires nothing: every holder is in at once. The control that
	// shows a checker can fail.
	NoLock
)

func (k LockKind) String() string {
	switch k {
	case MutexLock:
		return "mutex"
	case ElectionLock:
		return "election"
	case NoLock:
		return "no lock"
	}
	return fmt.Sprintf("LockKind(%d)", int(k))
}

// LockLoad configures RunLockLoad. Name, Holders, Rounds and Endpoints (or
// EndpointsFor) are required.
type LockLoad struct {
	Kind LockKind
	// Endpoints is what every holder's client dials (clientv3 spreads its
	// calls over all of them).
	Endpoints []string
	// EndpointsFor, when set, gives holder i its own endpoints instead.
	EndpointsFor func(holder int) []string
	// Name is the lock's key prefix (or the election's name).
	Name    string
	Holders int
	Rounds  int
	// SessionTTL is the sessions' lease TTL in seconds (default 10, as
	// etcdctl lock).
	SessionTTL int
	// OpTimeout bounds each Lock, Unlock, Campaign and Resign (default 30
	// s); a call that takes longer counts as an error.
	OpTimeout time.Duration
	// Critical, when set, runs while the lock is held; an error it returns
	// counts as an error of the workload. The default is an empty critical
	// section.
	Critical func(ctx context.Context, holder, round int) error
	// DialKeepAlive is the clients' gRPC keepalive (default none, as
	// clientv3's): set it for holders to leave a paused or cut endpoint.
	DialKeepAlive DialKeepAlive
}

// Defaults of LockLoad.
const (
	defaultLockSessionTTL = 10
	defaultLockOpTimeout  = 30 * time.Second
)

// LockResult is what a lock workload did.
type LockResult struct {
	History  *History
	Acquired int     // holds recorded (released or lost)
	Errors   []error // every failed call, lost session and critical-section error
}

// Check returns a description of every overlap, malformed hold and error,
// or "" when there is none: what a test asserts is empty.
func (r *LockResult) Check() string {
	overlaps, bad := r.History.Overlaps()
	if len(overlaps) == 0 && len(bad) == 0 && len(r.Errors) == 0 {
		return ""
	}
	msg := r.History.Report(overlaps, 10)
	for _, err := range bad {
		msg += "\n\t" + err.Error()
	}
	msg += fmt.Sprintf("\n%d errors", len(r.Errors))
	for i, err := range r.Errors {
		if i == 10 {
			msg += fmt.Sprintf("\n\t... and %d more", len(r.Errors)-10)
			break
		}
		msg += "\n\t" + err.Error()
	}
	return msg
}

// RunLockLoad runs the workload and returns its history; it returns an
// error only when a client cannot be created. It waits for every holder.
func RunLockLoad(ctx context.Context, l LockLoad) (*LockResult, error) {
	l = l.withDefaults()
	res := &LockResult{History: NewHistory()}
	var mu sync.Mutex // guards res.Acquired and res.Errors
	clients := make([]*clientv3.Client, l.Holders)
	defer func() {
		for _, c := range clients {
			if c != nil {
				c.Close()
			}
		}
	}()
	for i := range clients {
		c, err := newWorkloadClient(l.endpoints(i), l.DialKeepAlive)
		if err != nil {
			return nil, fmt.Errorf("lock load: client %d: %w", i, err)
		}
		clients[i] = c
	}
	var wg sync.WaitGroup
	for i, cli := range clients {
		h := &lockHolder{load: &l, id: i, name: fmt.Sprintf("holder-%d", i), cli: cli, history: res.History}
		wg.Go(func() {
			h.run(ctx)
			mu.Lock()
			defer mu.Unlock()
			res.Acquired += h.acquired
			res.Errors = append(res.Errors, h.errs...)
		})
	}
	wg.Wait()
	return res, nil
}

func (l LockLoad) withDefaults() LockLoad {
	if l.SessionTTL == 0 {
		l.SessionTTL = defaultLockSessionTTL
	}
	if l.OpTimeout == 0 {
		l.OpTimeout = defaultLockOpTimeout
	}
	return l
}

func (l *LockLoad) endpoints(holder int) []string {
	if l.EndpointsFor != nil {
		return l.EndpointsFor(holder)
	}
	return l.Endpoints
}

// lockHolder is one goroutine of a lock workload.
type lockHolder struct {
	load     *LockLoad
	id       int
	name     string
	cli      *clientv3.Client
	history  *History
	session  *concurrency.Session
	acquired int
	errs     []error
}

func (h *lockHolder) fail(round int, what string, err error) {
	h.errs = append(h.errs, fmt.Errorf("%s round %d: %s: %w", h.name, round, what, err))
}

func (h *lockHolder) run(ctx context.Context) {
	defer func() {
		if h.session != nil {
			h.session.Close() // revokes the lease: no key is left behind
		}
	}()
	for round := range h.load.Rounds {
		if ctx.Err() != nil {
			return
		}
		if h.load.Kind != NoLock && !h.ensureSession(ctx, round) {
			continue
		}
		h.once(ctx, round)
	}
}

// ensureSession opens a session if there is none or the last one ended.
func (h *lockHolder) ensureSession(ctx context.Context, round int) bool {
	if h.session != nil {
		select {
		case <-h.session.Done():
			h.session.Close()
			h.session = nil
		default:
			return true
		}
	}
	// The session's context is also its keepalives' lifetime, so its grant
	// is bounded only by ctx.
	s, err := concurrency.NewSession(h.cli, concurrency.WithTTL(h.load.SessionTTL), concurrency.WithContext(ctx))
	if err != nil {
		h.fail(round, "NewSession", err)
		return false
	}
	h.session = s
	return true
}

// lockOps are the acquiring and releasing calls of one kind of lock.
type lockOps struct {
	acquire, release func(context.Context) error
}

func (h *lockHolder) ops() lockOps {
	switch h.load.Kind {
	case MutexLock:
		m := concurrency.NewMutex(h.session, h.load.Name)
		return lockOps{acquire: m.Lock, release: m.Unlock}
	case ElectionLock:
		e := concurrency.NewElection(h.session, h.load.Name)
		return lockOps{
			acquire: func(ctx context.Context) error { return e.Campaign(ctx, h.name) },
			release: e.Resign,
		}
	default:
		nop := func(context.Context) error { return nil }
		return lockOps{acquire: nop, release: nop}
	}
}

// once acquires, runs the critical section and releases, recording the hold.
func (h *lockHolder) once(ctx context.Context, round int) {
	ops := h.ops()
	tenure := h.history.Begin(h.load.Name, h.name)
	actx, cancel := context.WithTimeout(ctx, h.load.OpTimeout)
	err := ops.acquire(actx)
	cancel()
	if err != nil {
		h.fail(round, "acquire", err)
		return
	}
	tenure.Acquired()
	h.acquired++
	if h.load.Critical != nil {
		if err := h.load.Critical(ctx, h.id, round); err != nil {
			h.fail(round, "critical section", err)
		}
	}
	if h.sessionLost() {
		tenure.Lost()
		h.fail(round, "hold", errSessionLost)
		return
	}
	tenure.Releasing()
	rctx, cancel := context.WithTimeout(ctx, h.load.OpTimeout)
	err = ops.release(rctx)
	cancel()
	tenure.Released()
	if err != nil {
		h.fail(round, "release", err)
	}
}

// errSessionLost is the error of a hold whose session ended while it held
// the lock.
var errSessionLost = errors.New("session ended while holding the lock")

func (h *lockHolder) sessionLost() bool {
	if h.session == nil {
		return false
	}
	select {
	case <-h.session.Done():
		return true
	default:
		return false
	}
}

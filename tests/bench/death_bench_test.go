package bench

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/heraldproj/herald/lease"
	"github.com/heraldproj/herald/tests/harness"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// The herald-death workload: leased nodes, all granted through the first
// front, half of which go on keeping alive through the front's death.
const (
	defaultDeathNodes = 5000
	defaultDeathTTL   = 10 * time.Second
	defaultDeathConns = 10
	deathFronts       = 3
	deathPrefix       = fanoutPrefix + "death/"
	deathParallel     = 64
	// deathObserve is how long after the later of (the last stopped node's
	// DELETE, kill + 2 TTL) the survivors are still watched.
	deathObserve = 2 * time.Second
)

// The reserved keys a takeover shows at etcd (docs/fleet-leases.md, "The
// reserved keyspace"): the dead herald's session key is deleted when its
// session expires, and each of its carrier records is rewritten by the
// successor; a lease record is attached to its lease's carrier.
const (
	reservedSessions = "\x00herald/heralds/"
	reservedCarriers = "\x00herald/carriers/"
	reservedRecords  = "\x00herald/leases/"
)

// BenchmarkHeraldDeath kills (SIGKILL) the front through which every node
// was granted its lease, while half of the nodes go on keeping alive (their
// connections list the three fronts and fail over) and the other half stop
// at the kill. Through herald the survivors must keep their leases and keys
// (a successor takes over the dead herald's carriers); direct to etcd and
// through grpc-proxy the leases live at etcd, so they lose nothing: the bar.
func BenchmarkHeraldDeath(b *testing.B) {
	skipUnlessEnabled(b)
	paths := benchPaths(b)
	nodes := envInt(b, nodesEnv, defaultDeathNodes)
	ttl := envDuration(b, ttlEnv, defaultDeathTTL)
	if ttl%time.Second != 0 {
		b.Fatalf("%s: %v is not a whole number of seconds (a lease's TTL)", ttlEnv, ttl)
	}
	conns := envInt(b, deathConnsEnv, defaultDeathConns)
	root := harness.RepoRoot(b)
	harness.Binaries(b)
	treeAtBuild(root)
	printRunInfo(os.Stdout, "BenchmarkHeraldDeath", root)

	t := newTable("path", "nodes (survivors + stopped)", "TTL", "survivors' keys deleted", "survivors lost: TTL 0 / silent > TTL",
		"survivors' longest silence", "kill → survivor answered again: first / p50 / p99 / max (never)",
		"kill → session gone at etcd", "kill → carriers taken over at etcd: first / last (n)", "takeovers (metric)",
		"stopped nodes' DELETEs", "kill → stopped node's DELETE: first / p50 / p99 / max", "stream restarts")
	for _, p := range paths {
		r := runDeath(b, p, nodes, conns, ttl)
		na := func(s string) string {
			if p != pathHerald {
				return "—"
			}
			return s
		}
		session := "never"
		if r.sessionGone >= 0 {
			session = secs(r.sessionGone)
		}
		t.add(p, fmt.Sprintf("%d (%d + %d)", nodes, r.survivors, r.stopped), ttl,
			fmt.Sprintf("%d / %d", r.survivorDeletes, r.survivors),
			fmt.Sprintf("%d / %d", r.survivorTTL0, r.survivorSilent), secs(r.longestSilence),
			fmt.Sprintf("%s / %s / %s / %s (%d)", secs(r.again.first), secs(r.again.p50), secs(r.again.p99), secs(r.again.last), r.never),
			na(session),
			na(fmt.Sprintf("%s / %s (%d)", secs(r.takeovers.first), secs(r.takeovers.last), r.takeovers.n)),
			na(fmt.Sprintf("%.0f", r.takeoverMetric)),
			fmt.Sprintf("%d / %d", r.stoppedDeletes.n, r.stopped),
			fmt.Sprintf("%s / %s / %s / %s", secs(r.stoppedDeletes.first), secs(r.stoppedDeletes.p50),
				secs(r.stoppedDeletes.p99), secs(r.stoppedDeletes.last)),
			r.streamErrs)
	}
	fmt.Printf("%d nodes, each a lease of TTL %v with one key %s<i>, granted and put through front 0 (direct: etcd), "+
		"kept alive every TTL/3 (random phase) over %d raw gRPC connections (LeaseKeepAlive streams) that list the %d fronts: "+
		"front 0 first; a failed stream is reopened 500 ms later on the next front (clientv3's retry wait). "+
		"After a settle of one TTL, every other node of each connection stops keeping alive and front 0 is killed with "+
		"SIGKILL at the same instant (direct: nothing is killed; the instant is the stop); the others (survivors) go on, "+
		"over connections that fail over to front 1 or front 2 (half each). herald: 3 heralds in one "+
		"fleet (--fanout-prefix %s, --fanout-feeders 2, --fleet-session-ttl at its default 2 s); grpc-proxy: 3 `etcd "+
		"grpc-proxy start`. A watcher of the whole keyspace straight at etcd gives every DELETE, the DELETE of the dead "+
		"herald's session key and the rewrites of its carrier records (the takeover). \"silent > TTL\": a survivor with no "+
		"keepalive answered TTL > 0 for longer than its TTL (the client's lease would have ended); \"answered again\": a "+
		"survivor's first answer with TTL > 0 after the kill (bounded below by its next keepalive, up to TTL/3 later); "+
		"\"takeovers (metric)\": herald_lease_takeovers_total over the surviving heralds. Fresh etcd and fronts per path; "+
		"survivors are watched until the later of the last stopped node's DELETE and kill + 2 TTL, plus %v.\n\n",
		nodes, ttl, deathPrefix, conns, deathFronts, fanoutPrefix, deathObserve)
	t.write(os.Stdout)
	fmt.Println()
}

type deathResult struct {
	survivors, stopped int
	survivorDeletes    int // DELETEs at etcd of survivors' keys
	survivorTTL0       int // survivors answered TTL ≤ 0
	survivorSilent     int // survivors with no answer TTL > 0 for longer than TTL
	longestSilence     time.Duration
	again              distribution // kill → each survivor's first answer after it
	never              int          // survivors with no answer after the kill
	sessionGone        time.Duration
	takeovers          distribution // kill → each carrier record rewritten
	takeoverMetric     float64
	stoppedDeletes     distribution // kill → each stopped node's DELETE
	streamErrs         int64
}

func runDeath(b *testing.B, kind pathKind, nodes, conns int, ttl time.Duration) deathResult {
	b.Helper()
	r := startRacks(b, kind, deathFronts)
	defer func() {
		r.stop()
		if kind == pathHerald {
			keepLogs(r.procs)
		}
	}()
	fleet, err := dialFleet([][]string{r.endpoints}, conns, ttl)
	if err != nil {
		b.Fatalf("%s: %v", kind, err)
	}
	defer fleet.close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	g := fleet.grant(ctx, nodes, deathParallel)
	if g.failed > 0 {
		b.Fatalf("%s: %d of %d grants failed, first: %v", kind, g.failed, nodes, g.firstErr)
	}
	if err := fleet.putLeasedKeys(ctx, deathPrefix, g.ids, deathParallel); err != nil {
		b.Fatalf("%s: %v", kind, err)
	}
	// Node i is on connection i mod conns (grant's round-robin): every other
	// node of each connection stops, so that each connection, and each
	// front the connections fail over to, carries survivors.
	stoppedIDs := map[int64]bool{}
	for i, id := range g.ids {
		if (i/conns)%2 == 1 {
			stoppedIDs[id] = true
		}
	}
	mine, err := openWatchers(r.etcd.Endpoints(), []watchRange{everything}, false, true)
	if err != nil {
		b.Fatalf("%s: %v", kind, err)
	}
	defer mine.close()
	time.Sleep(ttl)
	var where *carrierMap
	if kind == pathHerald {
		if where, err = readCarriers(ctx, r.etcd.Endpoints()[0]); err != nil {
			b.Fatal(err)
		}
	}
	if n := fleet.counters.lost.Load(); n > 0 {
		fmt.Printf("%s: %d leases answered TTL ≤ 0 before the kill\n", kind, n)
	}

	res := deathResult{stopped: fleet.stopLeases(func(id int64) bool { return stoppedIDs[id] })}
	res.survivors = nodes - res.stopped
	kill := time.Now()
	fleet.setMark(kill)
	if kind != pathDirect {
		r.procs[0].Kill()
	}

	deadline := kill.Add(3*ttl + 30*time.Second)
	for time.Now().Before(deadline) {
		if n, _ := mine.deletedKeys(deathPrefix); n >= res.stopped {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	_, lastDelete := mine.deletedKeys(deathPrefix)
	end := lastDelete
	if min2 := kill.Add(2 * ttl); end.Before(min2) {
		end = min2
	}
	time.Sleep(time.Until(end.Add(deathObserve)))
	end = time.Now()

	// The survivors' side, as their clients saw it.
	for _, l := range fleet.leaseStates() {
		if l.stopped {
			continue
		}
		if l.lost {
			res.survivorTTL0++
		}
		silence := l.maxSilence
		if !l.lost {
			silence = max(silence, end.Sub(l.answered))
		}
		res.longestSilence = max(res.longestSilence, silence)
		if silence > ttl {
			res.survivorSilent++
		}
	}
	if where != nil {
		if err := where.readOwners(ctx, r.etcd.Endpoints()[0]); err != nil {
			fmt.Printf("%s: %v\n", kind, err)
		}
	}
	reportLostSurvivors(kind, fleet.leaseStates(), kill, r.endpoints, where)
	var again []time.Duration
	for _, l := range fleet.leaseStates() {
		if l.stopped {
			continue
		}
		if l.firstAfterMark.IsZero() {
			res.never++
			continue
		}
		again = append(again, l.firstAfterMark.Sub(kill))
	}
	res.again = summarise(again)

	// etcd's side, from the reference watcher.
	survivorKey := map[string]bool{}
	for i, id := range g.ids {
		if !stoppedIDs[id] {
			survivorKey[leasedKey(deathPrefix, i)] = true
		}
	}
	var stoppedDel, takeovers []time.Duration
	res.sessionGone = -1
	seen := map[string]bool{}
	for _, a := range mine.arrivals() {
		if a.at.Before(kill) {
			continue
		}
		switch {
		case a.del && strings.HasPrefix(a.key, deathPrefix) && !seen[a.key]:
			seen[a.key] = true
			if survivorKey[a.key] {
				res.survivorDeletes++
				fmt.Printf("%s: survivor key %s deleted at etcd %v after the kill (revision %d)\n", kind, a.key, a.at.Sub(kill), a.rev)
			} else {
				stoppedDel = append(stoppedDel, a.at.Sub(kill))
			}
		case a.del && strings.HasPrefix(a.key, reservedSessions) && res.sessionGone < 0:
			res.sessionGone = a.at.Sub(kill)
		case !a.del && strings.HasPrefix(a.key, reservedCarriers):
			takeovers = append(takeovers, a.at.Sub(kill))
		}
	}
	res.stoppedDeletes = summarise(stoppedDel)
	res.takeovers = summarise(takeovers)
	if kind == pathHerald {
		for _, u := range r.metrics[1:] {
			if v, err := scrape(u, "herald_lease_takeovers_total", nil); err == nil {
				res.takeoverMetric += v
			} else {
				fmt.Printf("%s: %v\n", kind, err)
			}
		}
	}
	res.streamErrs = fleet.counters.streamErrs.Load()
	if err := fleet.counters.firstStreamError(); err != nil {
		fmt.Printf("%s: %d keepalive streams failed and were reopened, first: %v\n", kind, res.streamErrs, err)
	}
	if h := mine.health(); h != "" {
		fmt.Printf("%s: reference watcher: %s\n", kind, h)
	}
	return res
}

// reportLostSurvivors prints, for the survivors whose lease was answered
// TTL ≤ 0, how many per connection and front, and the first few lease IDs.
// With where (herald), also by the carrier each lease was on before the kill
// and the herald that owns that carrier at the end.
func reportLostSurvivors(kind pathKind, states []leaseState, kill time.Time, fronts []string, where *carrierMap) {
	front := map[string]int{}
	for i, ep := range fronts {
		front[hostPort(ep)] = i
	}
	type at struct {
		conn, front int
		carrier     string
	}
	counts := map[at]int{}
	survivorsAt := map[at]int{}
	var examples []string
	for _, l := range states {
		if l.stopped {
			continue
		}
		k := at{l.conn, front[l.endpoint], where.describe(l.id)}
		survivorsAt[k]++
		if !l.lost {
			continue
		}
		counts[k]++
		if len(examples) < 5 {
			examples = append(examples, fmt.Sprintf("%016x (connection %d, front %d, %s, answered TTL 0 at kill %+.3f s, last TTL > 0 at kill %+.3f s)",
				l.id, l.conn, front[l.endpoint], k.carrier, l.lostAt.Sub(kill).Seconds(), l.answered.Sub(kill).Seconds()))
		}
	}
	if len(counts) == 0 {
		return
	}
	var parts []string
	for k, n := range counts {
		parts = append(parts, fmt.Sprintf("connection %d on front %d, %s: %d of %d", k.conn, k.front, k.carrier, n, survivorsAt[k]))
	}
	slices.Sort(parts)
	fmt.Printf("%s: survivors answered TTL 0 —\n  %s\n  e.g. %s\n", kind, strings.Join(parts, "\n  "), strings.Join(examples, "\n  "))
}

// carrierMap says which carrier each virtual lease's record was attached to
// at etcd, and (readOwners) which herald owns each carrier.
type carrierMap struct {
	carrier map[int64]int64  // virtual lease → carrier
	owner   map[int64]string // carrier → owner named in its record
}

// readCarriers reads every lease record under the reserved prefix.
func readCarriers(ctx context.Context, endpoint string) (*carrierMap, error) {
	cli, err := newClient(endpoint)
	if err != nil {
		return nil, err
	}
	defer cli.Close()
	resp, err := cli.Get(ctx, reservedRecords, clientv3.WithPrefix())
	if err != nil {
		return nil, fmt.Errorf("bench: read lease records: %w", err)
	}
	m := &carrierMap{carrier: map[int64]int64{}}
	for _, kv := range resp.Kvs {
		id, err := strconv.ParseUint(strings.TrimPrefix(string(kv.Key), reservedRecords), 16, 64)
		if err != nil {
			return nil, fmt.Errorf("bench: lease record key %q: %w", kv.Key, err)
		}
		m.carrier[int64(id)] = kv.Lease
	}
	return m, nil
}

// readOwners reads every carrier record.
func (m *carrierMap) readOwners(ctx context.Context, endpoint string) error {
	cli, err := newClient(endpoint)
	if err != nil {
		return err
	}
	defer cli.Close()
	resp, err := cli.Get(ctx, reservedCarriers, clientv3.WithPrefix())
	if err != nil {
		return fmt.Errorf("bench: read carrier records: %w", err)
	}
	m.owner = map[int64]string{}
	for _, kv := range resp.Kvs {
		rec, err := lease.DecodeCarrierRecord(kv.Value)
		if err != nil {
			return fmt.Errorf("bench: carrier record %q: %w", kv.Key, err)
		}
		m.owner[kv.Lease] = rec.Owner
	}
	return nil
}

// describe names lease id's carrier and its owner ("" without a map).
func (m *carrierMap) describe(id int64) string {
	if m == nil {
		return ""
	}
	c, ok := m.carrier[id]
	if !ok {
		return "carrier unknown"
	}
	return fmt.Sprintf("carrier %016x owned at the end by %s", c, m.owner[c])
}

// keepLogs copies the processes' logs out of the benchmark's temporary
// directory (removed when it ends) into a new directory under os.TempDir, and
// says where.
func keepLogs(procs []*harness.Proc) {
	dir, err := os.MkdirTemp("", "herald-bench-logs-")
	if err != nil {
		fmt.Printf("logs not kept: %v\n", err)
		return
	}
	for _, p := range procs {
		if err := copyFile(p.LogPath(), filepath.Join(dir, filepath.Base(p.LogPath()))); err != nil {
			fmt.Printf("log of %s not kept: %v\n", p.Name(), err)
		}
	}
	fmt.Printf("logs kept in %s\n", dir)
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

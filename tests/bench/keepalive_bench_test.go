package bench

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/heraldproj/herald/tests/harness"
)

// The keepalive workload: leases at a 3 s TTL kept alive every TTL/3.
const (
	kaTTL           = 3 * time.Second
	kaGrantParallel = 64
	defaultLeases   = "10000,50000"
	defaultConns    = 1000
	defaultMuxConns = 8
)

type kaShape struct {
	name  string
	conns int
}

// BenchmarkKeepaliveOffload measures the load that N kept-alive leases put on
// etcd, direct, through etcd's grpc-proxy and through herald, with the leases
// multiplexed on a few connections and spread over ≥1000 connections.
func BenchmarkKeepaliveOffload(b *testing.B) {
	skipUnlessEnabled(b)
	paths := benchPaths(b)
	leases := envInts(b, leasesEnv, defaultLeases)
	var shapes []kaShape
	for _, name := range envList(shapesEnv, "multiplexed,separate") {
		switch name {
		case "multiplexed":
			shapes = append(shapes, kaShape{name, envInt(b, muxConnsEnv, defaultMuxConns)})
		case "separate":
			shapes = append(shapes, kaShape{name, envInt(b, connsEnv, defaultConns)})
		default:
			b.Fatalf("%s: unknown shape %q (want multiplexed or separate)", shapesEnv, name)
		}
	}
	window := envDuration(b, windowEnv, defaultWindow)
	root := harness.RepoRoot(b)
	harness.Binaries(b)
	treeAtBuild(root)
	printRunInfo(os.Stdout, "BenchmarkKeepaliveOffload", root)
	if authOn() {
		role := "readwrite on its reserved prefix"
		if heraldRoot() {
			role = "the root role"
		}
		fmt.Printf("etcd has auth on (%s=%s): the clients authenticate as %q (every grant and keepalive carries its token), herald runs with --user %s, a user with %s.\n\n", authEnv, os.Getenv(authEnv), benchUser, heraldUser, role)
	}

	t := newTable("leases", "shape", "conns", "path", "granted", "grant time", "client KA/s", "upstream KA msgs/s",
		"direct ÷ upstream", "etcd renewed/s", "etcd cores", "proxy cores", "loadgen cores", "lost leases", "stream restarts")
	for _, n := range leases {
		for _, sh := range shapes {
			var direct kaResult
			for _, p := range paths {
				r := runKeepAliveCell(b, p, n, sh.conns, window)
				if p == pathDirect {
					direct = r
				}
				proxyCores := "—"
				if p != pathDirect {
					proxyCores = cores(r.proxyCores)
				}
				t.add(n, sh.name, sh.conns, p, r.granted, secs(r.grant), rate(r.clientKAPerSec), rate(r.upstreamKAPerSec),
					fewer(direct.upstreamKAPerSec, r.upstreamKAPerSec), rate(r.renewedPerSec),
					cores(r.etcdCores), proxyCores, cores(r.loadgenCores), r.lost, r.streamErrs)
			}
		}
	}
	fmt.Printf("TTL %v, one keepalive per lease every TTL/3 from the moment it is granted; each connection is its own "+
		"gRPC connection with one LeaseKeepAlive stream; fresh etcd (and proxy) per row; rates and cores averaged over "+
		"a %v window that starts %v after the last grant. \"upstream KA msgs/s\" is etcd's "+
		"grpc_server_msg_received_total{grpc_method=\"LeaseKeepAlive\"} rate, \"renewed/s\" its "+
		"etcd_debugging_lease_renewed_total rate; \"direct ÷ upstream\" is how many times fewer keepalive messages etcd "+
		"received than direct with the same leases and shape; cores are (utime+stime)/CLK_TCK over the window from /proc/<pid>/stat; "+
		"\"loadgen\" is this benchmark process (the clients); \"lost leases\" were answered TTL ≤ 0 while kept alive; "+
		"a failed stream is reopened after 500 ms as clientv3 does (\"stream restarts\").\n\n",
		kaTTL, window, kaSettle)
	t.write(os.Stdout)
	fmt.Println()
}

// kaLogLines is how much of the proxy's log is printed when leases were lost.
const kaLogLines = 8

// logExcerpt indents log lines and cuts long ones, for a diagnostic.
func logExcerpt(tail string) string {
	lines := strings.Split(tail, "\n")
	for i, l := range lines {
		if len(l) > 300 {
			l = l[:300] + "…"
		}
		lines[i] = "    " + l
	}
	return strings.Join(lines, "\n")
}

// kaGrantPhase bounds the grants of one cell; an overloaded etcd may not
// grant them all, which the table shows.
const kaGrantPhase = 3 * time.Minute

// kaSettle is the wait between the last grant and the window: a whole TTL,
// so that every lease has been through its keepalive cycle.
const kaSettle = kaTTL + time.Second

type kaResult struct {
	grant            time.Duration
	granted          int
	clientKAPerSec   float64
	upstreamKAPerSec float64
	renewedPerSec    float64
	etcdCores        float64
	proxyCores       float64
	loadgenCores     float64
	lost             int64
	streamErrs       int64
}

func runKeepAliveCell(b *testing.B, p pathKind, n, conns int, window time.Duration) kaResult {
	b.Helper()
	st := startStack(b, p)
	defer st.stop()
	token, err := benchToken(st.etcd.Endpoints()[0])
	if err != nil {
		b.Fatalf("%s: %v", p, err)
	}
	fleet, err := dialFleetAs([][]string{{st.front.endpoint}}, conns, kaTTL, token)
	if err != nil {
		b.Fatalf("%s: %v", p, err)
	}
	defer fleet.close()

	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), kaGrantPhase)
	defer cancel()
	g := fleet.grant(ctx, n, kaGrantParallel)
	r := kaResult{grant: time.Since(start), granted: g.granted}
	if g.granted == 0 {
		b.Fatalf("%s: no lease granted: %v", p, g.firstErr)
	}
	if g.failed > 0 {
		fmt.Printf("%s, %d leases, %d conns: %d grants failed, first: %v\n", p, n, conns, g.failed, g.firstErr)
	}
	time.Sleep(kaSettle)

	metrics := st.member().MetricsURL() + "/metrics"
	pids := []int{st.member().PID(), 0}
	if p != pathDirect {
		pids = append(pids, st.front.pid())
	}
	before, err := readKeepAliveCounters(metrics, fleet)
	if err != nil {
		b.Fatal(err)
	}
	cpu, err := startCPU(pids...)
	if err != nil {
		b.Fatal(err)
	}
	time.Sleep(window)
	used, err := cpu.cores()
	if err != nil {
		b.Fatal(err)
	}
	after, err := readKeepAliveCounters(metrics, fleet)
	if err != nil {
		b.Fatal(err)
	}
	elapsed := after.at.Sub(before.at).Seconds()
	r.clientKAPerSec = float64(after.sent-before.sent) / elapsed
	r.upstreamKAPerSec = (after.upstream - before.upstream) / elapsed
	r.renewedPerSec = (after.renewed - before.renewed) / elapsed
	r.etcdCores, r.loadgenCores = used[0], used[1]
	if p != pathDirect {
		r.proxyCores = used[2]
	}
	r.lost = fleet.counters.lost.Load()
	r.streamErrs = fleet.counters.streamErrs.Load()
	if r.lost > 0 {
		fmt.Printf("%s, %d leases, %d conns: %d leases answered TTL ≤ 0 while kept alive, the first %.1f s after the first grant\n",
			p, n, conns, r.lost, fleet.counters.firstLossTime().Sub(start).Seconds())
		if st.front.proc != nil {
			fmt.Printf("%s log (%s), last lines:\n%s\n", p, st.front.proc.LogPath(), logExcerpt(st.front.proc.LogTail(kaLogLines)))
		}
	}
	if err := fleet.counters.firstStreamError(); err != nil {
		fmt.Printf("%s, %d leases, %d conns: %d keepalive streams failed and were reopened, first: %v\n", p, n, conns, r.streamErrs, err)
	}
	return r
}

type kaSnapshot struct {
	at                time.Time
	sent              int64
	upstream, renewed float64
}

func readKeepAliveCounters(metricsURL string, f *keepAliveFleet) (kaSnapshot, error) {
	s := kaSnapshot{at: time.Now(), sent: f.counters.sent.Load()}
	var err error
	if s.upstream, err = scrape(metricsURL, metricMsgReceived, keepAliveLabels); err != nil {
		return s, err
	}
	if s.renewed, err = scrape(metricsURL, metricLeaseRenewed, nil); err != nil {
		return s, err
	}
	return s, nil
}

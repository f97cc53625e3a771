package bench

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"golang.org/x/sync/errgroup"

	"github.com/heraldproj/herald/tests/harness"
)

// The idle fleet's knobs (BenchmarkIdleFleet).
const (
	idleKeysEnv    = "HERALD_BENCH_IDLE_KEYS"    // keys under /services/ (default 50000)
	idleHeraldsEnv = "HERALD_BENCH_IDLE_HERALDS" // heralds in the fleet (default 10)
	idleWindowEnv  = "HERALD_BENCH_IDLE_WINDOW"  // each measuring window (default 60s)
	idleLeases     = 3                           // virtual leases kept alive through each herald
)

func init() { knobs = append(knobs, idleKeysEnv, idleHeraldsEnv, idleWindowEnv) }

// BenchmarkIdleFleet measures what an idle herald fleet costs etcd: one etcd
// member holding K keys under /services/, first alone, then with a fleet of
// H heralds in front of it (--fanout-prefix /services/, two feeders, the
// `local` gossip profile), each herald holding three virtual leases that
// this process keeps alive through it with clientv3, and no other traffic.
// It prints etcd's CPU (/proc/<pid>/stat) in each window, and etcd's gRPC
// messages received per second by method with the fleet: the founding
// scenario's steady state (BenchmarkScenario) without its load generator.
func BenchmarkIdleFleet(b *testing.B) {
	skipUnlessEnabled(b)
	keys := envInt(b, idleKeysEnv, 50000)
	heralds := envInt(b, idleHeraldsEnv, 10)
	window := envDuration(b, idleWindowEnv, 60*time.Second)
	for range b.N {
		res, err := runIdleFleet(b, keys, heralds, window)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(res.alone, "etcd-cores-alone")
		b.ReportMetric(res.fleet, "etcd-cores-fleet")
		fmt.Printf("\nidle fleet: etcd %d keys under %s, %d heralds, %d virtual leases each, %v windows\n",
			keys, fanoutPrefix, heralds, idleLeases, window)
		fmt.Printf("etcd CPU alone %.4f cores; with the fleet %.4f cores (the fleet's share %.4f)\n",
			res.alone, res.fleet, res.fleet-res.alone)
		fmt.Printf("etcd gRPC messages received per second with the fleet, by method: %s\n", res.recvBy)
		fmt.Printf("feeds' progress requests per second (fleet-wide): fan-out %.2f, lease index %.2f; "+
			"heartbeats cut from keepalive answers: fan-out %.2f, lease index %.2f\n",
			res.progress[0], res.progress[1], res.witnessed[0], res.witnessed[1])
		fmt.Printf("command: %s\n\n", reproduceCommand("BenchmarkIdleFleet"))
	}
}

type idleResult struct {
	alone, fleet        float64 // etcd cores
	recvBy              string
	progress, witnessed [2]float64 // per second: fan-out feed, lease index feed
}

func runIdleFleet(b *testing.B, keys, heralds int, window time.Duration) (idleResult, error) {
	var res idleResult
	c := harness.StartEtcd(b, harness.EtcdOptions{})
	r := &racks{kind: pathHerald, etcd: c}
	defer r.stop()
	if err := putIdleKeys(c.Endpoints()[0], keys); err != nil {
		return res, err
	}
	pid := c.Member(0).PID()
	time.Sleep(5 * time.Second) // etcd settles after the load
	cpu, err := startCPU(pid)
	if err != nil {
		return res, err
	}
	time.Sleep(window)
	alone, err := cpu.cores()
	if err != nil {
		return res, err
	}
	res.alone = alone[0]

	startFleet(b, r, heralds)
	stopKeepalives, err := keepIdleLeases(r.endpoints)
	if err != nil {
		return res, err
	}
	defer stopKeepalives()
	time.Sleep(10 * time.Second) // the fleet settles: sessions, carriers, feeders' first cuts

	etcdMetrics := c.Member(0).MetricsURL() + "/metrics"
	recv := func() (map[string]float64, error) {
		e, err := readEtcd(etcdMetrics)
		return e.recvBy, err
	}
	feeds := func() (progress, witnessed [2]float64, err error) {
		for i, area := range []string{"fanout", "lease_index"} {
			if progress[i], err = r.sumFrontMetric("herald_" + area + "_progress_requests_total"); err != nil {
				return
			}
			if witnessed[i], err = r.sumFrontMetric("herald_" + area + "_witnessed_heartbeats_total"); err != nil {
				return
			}
		}
		return
	}
	recv0, err := recv()
	if err != nil {
		return res, err
	}
	p0, w0, err := feeds()
	if err != nil {
		return res, err
	}
	if cpu, err = startCPU(pid); err != nil {
		return res, err
	}
	time.Sleep(window)
	fleet, err := cpu.cores()
	if err != nil {
		return res, err
	}
	res.fleet = fleet[0]
	recv1, err := recv()
	if err != nil {
		return res, err
	}
	p1, w1, err := feeds()
	if err != nil {
		return res, err
	}
	res.recvBy = ratesBetween(recv0, recv1, window)
	for i := range 2 {
		res.progress[i] = (p1[i] - p0[i]) / window.Seconds()
		res.witnessed[i] = (w1[i] - w0[i]) / window.Seconds()
	}
	return res, nil
}

// putIdleKeys writes n keys under fanoutPrefix, 64 at a time.
func putIdleKeys(endpoint string, n int) error {
	cli, err := newClient(endpoint)
	if err != nil {
		return err
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(64)
	for i := range n {
		g.Go(func() error {
			_, err := cli.Put(ctx, fanoutPrefix+"svc"+strconv.Itoa(i%100)+"/n"+strconv.Itoa(i), "10.0.0.1:8080")
			return err
		})
	}
	return g.Wait()
}

// keepIdleLeases grants idleLeases leases through each endpoint and keeps
// them alive with clientv3 until the returned stop.
func keepIdleLeases(endpoints []string) (stop func(), err error) {
	ctx, cancel := context.WithCancel(context.Background())
	var clients []*clientv3.Client
	stop = func() {
		cancel()
		for _, cli := range clients {
			cli.Close()
		}
	}
	for _, ep := range endpoints {
		cli, err := newClient(ep)
		if err != nil {
			stop()
			return nil, err
		}
		clients = append(clients, cli)
		for range idleLeases {
			l, err := cli.Grant(ctx, 5)
			if err != nil {
				stop()
				return nil, fmt.Errorf("grant through %s: %w", ep, err)
			}
			ka, err := cli.KeepAlive(ctx, l.ID)
			if err != nil {
				stop()
				return nil, err
			}
			go func() {
				for range ka {
				}
			}()
		}
	}
	return stop, nil
}

package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heraldproj/herald/tests/harness"
	clientv3 "go.etcd.io/etcd/client/v3"
	"golang.org/x/sync/errgroup"
)

// The pass-through workload: small values over a spread key space.
const (
	ptKeys          = 10_000
	ptValueBytes    = 256
	ptWorkersPerCli = 8 // concurrent workers sharing one clientv3 client
	ptWarmup        = 300 * time.Millisecond
	ptKeyPrefix     = "/bench/pass-through/"
)

var ptConcurrency = []int{1, 16, 64}

type ptOp struct {
	name string
	do   func(ctx context.Context, cli *clientv3.Client, key, value string) error
}

var ptOps = []ptOp{
	{"Put", func(ctx context.Context, cli *clientv3.Client, key, value string) error {
		_, err := cli.Put(ctx, key, value)
		return err
	}},
	{"Range", func(ctx context.Context, cli *clientv3.Client, key, _ string) error {
		_, err := cli.Get(ctx, key) // linearizable, as clientv3 defaults
		return err
	}},
}

// BenchmarkPassThrough measures Put and Range latency and throughput at 1,
// 16 and 64 concurrent clients direct to one etcd member, through etcd's
// grpc-proxy and through herald, all in front of the same member, in one run.
func BenchmarkPassThrough(b *testing.B) {
	skipUnlessEnabled(b)
	paths := benchPaths(b)
	cell := envDuration(b, cellEnv, defaultCell)
	root := harness.RepoRoot(b)
	harness.Binaries(b)
	treeAtBuild(root)
	printRunInfo(os.Stdout, "BenchmarkPassThrough", root)

	c := harness.StartEtcd(b, harness.EtcdOptions{})
	fronts := make([]front, len(paths))
	for i, p := range paths {
		fronts[i] = startFront(b, p, c)
	}
	value := strings.Repeat("v", ptValueBytes)
	if err := prefill(c.Endpoints()[0], value); err != nil {
		b.Fatal(err)
	}

	t := newTable("op", "clients", "path", "ops/s", "p50", "p99", "p50 vs direct", "p99 vs direct", "errors")
	slice := cell / ptRounds
	for _, op := range ptOps {
		for _, conc := range ptConcurrency {
			// The paths take turns, ptRounds times, so that a burst of load
			// from elsewhere on the machine hits them alike.
			runs := make([]ptRun, len(fronts))
			for range ptRounds {
				for i, f := range fronts {
					if err := runs[i].measure(f.endpoint, op, conc, slice, value); err != nil {
						b.Fatalf("%s %s x%d: %v", f.kind, op.name, conc, err)
					}
				}
			}
			var direct ptResult
			for i, f := range fronts {
				r := runs[i].result()
				if f.kind == pathDirect {
					direct = r
				}
				t.add(op.name, conc, f.kind, rate(r.opsPerSec), ms(r.lat.p50), ms(r.lat.p99),
					ratio(float64(r.lat.p50), float64(direct.lat.p50)),
					ratio(float64(r.lat.p99), float64(direct.lat.p99)), r.errors)
			}
		}
	}
	fmt.Printf("One etcd member; %d keys of %d B values, uniformly random key per op; %v per cell, as %d turns of %v "+
		"taken by the paths in rotation, each after a %v warm-up; one clientv3 client per %d concurrent workers; "+
		"Range is linearizable.\n\n",
		ptKeys, ptValueBytes, cell, ptRounds, slice, ptWarmup, ptWorkersPerCli)
	t.write(os.Stdout)
	fmt.Println()
}

// ptRounds is how many turns each path takes per cell.
const ptRounds = 3

// ptRun accumulates one path's turns of a cell.
type ptRun struct {
	samples []time.Duration
	errors  int
	elapsed time.Duration
}

func (r *ptRun) result() ptResult {
	return ptResult{
		opsPerSec: float64(len(r.samples)) / r.elapsed.Seconds(),
		lat:       summarise(r.samples),
		errors:    r.errors,
	}
}

type ptResult struct {
	opsPerSec float64
	lat       distribution
	errors    int
}

// prefill writes every key once, so that Range always finds a value.
func prefill(endpoint, value string) error {
	cli, err := newClient(endpoint)
	if err != nil {
		return err
	}
	defer cli.Close()
	g, ctx := errgroup.WithContext(context.Background())
	g.SetLimit(64)
	for i := range ptKeys {
		g.Go(func() error {
			_, err := cli.Put(ctx, ptKey(i), value)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return fmt.Errorf("bench: prefill: %w", err)
	}
	return nil
}

func ptKey(i int) string { return fmt.Sprintf("%s%06d", ptKeyPrefix, i) }

// measure runs conc workers doing op against endpoint for a warm-up and then
// for d, and adds what the measured part did to r.
func (r *ptRun) measure(endpoint string, op ptOp, conc int, d time.Duration, value string) error {
	nClients := (conc + ptWorkersPerCli - 1) / ptWorkersPerCli
	clients := make([]*clientv3.Client, nClients)
	for i := range clients {
		cli, err := newClient(endpoint)
		if err != nil {
			return err
		}
		defer cli.Close()
		clients[i] = cli
	}
	start := time.Now().Add(ptWarmup)
	end := start.Add(d)
	samples := make([][]time.Duration, conc)
	errs := make([]int, conc)
	var wg sync.WaitGroup
	for w := range conc {
		wg.Go(func() {
			cli := clients[w%nClients]
			rng := rand.New(rand.NewPCG(uint64(w), uint64(time.Now().UnixNano())))
			for {
				key := ptKey(rng.IntN(ptKeys))
				t0 := time.Now()
				if t0.After(end) {
					return
				}
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				err := op.do(ctx, cli, key, value)
				cancel()
				if t0.Before(start) {
					continue
				}
				if err != nil {
					errs[w]++
					continue
				}
				samples[w] = append(samples[w], time.Since(t0))
			}
		})
	}
	wg.Wait()
	for w := range conc {
		r.samples = append(r.samples, samples[w]...)
		r.errors += errs[w]
	}
	r.elapsed += d
	return nil
}

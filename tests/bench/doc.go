// Package bench holds herald's benchmarks against real servers: each one
// starts etcd (built from the module pinned in go.mod), `etcd grpc-proxy start`
// from the same binary and herald as separate processes on 127.0.0.1 through
// tests/harness, drives the same workload through the three paths — direct to
// etcd, through etcd's grpc-proxy, through herald — in one run, and prints a
// Markdown table plus the exact command that reproduces it.
//
// What is measured, and how:
//
//   - BenchmarkPassThrough (issue 2): Put and Range latency (p50/p99, measured
//     around each clientv3 call) and throughput at 1, 16 and 64 concurrent
//     clients, one etcd member shared by the three paths. Each cell runs for a
//     fixed duration; cells are interleaved path by path so that noise from
//     the (shared) machine spreads over the three paths alike.
//   - BenchmarkKeepaliveOffload (issue 3): N leases at TTL 3 s kept alive at
//     TTL/3 (as clientv3 does) over a few multiplexed connections and over
//     ≥1000 separate connections, each with its own gRPC connection and
//     LeaseKeepAlive stream. Over a steady window it reads etcd's /metrics
//     (grpc_server_msg_received_total for LeaseKeepAlive,
//     etcd_debugging_lease_renewed_total) and the CPU time of etcd, of the
//     proxy and of the load generator itself from /proc/<pid>/stat. Every
//     cell gets a fresh etcd (and proxy) so counters and leftover leases never
//     mix.
//   - BenchmarkMassFailure (issue 3): leases, each with one key under a
//     prefix, kept alive, a watcher on the prefix through the same path; all
//     keepalives stop at one instant and the time from that instant to each
//     DELETE is reported (first, p50, p99, last, count).
//   - BenchmarkFleetLeaseUpstreamCost: R leased registrations (lease of TTL
//     3 s, one key under /services/web/, kept alive) spread over a fleet of
//     N heralds, then left to expire; per registration and per expired lease,
//     the watch messages etcd sent (grpc_server_msg_sent_total for
//     etcdserverpb.Watch, minus those of the benchmark's own watcher of the
//     whole keyspace, which also counts etcd's events), event copies
//     (etcd_debugging_mvcc_events_total), etcd's CPU and the fleet's feeder
//     responses, for each N and direct to etcd (the floor).
//   - BenchmarkHeraldDeath: leased nodes granted through front 0 of three,
//     over connections that list all three; front 0 is killed with SIGKILL
//     while half the nodes go on keeping alive and half stop. Survivors' keys
//     deleted and leases lost, time to the takeover and to the survivors'
//     next answer, and the stopped nodes' DELETEs, through herald, direct
//     and through grpc-proxy.
//
// Everything is skipped unless HERALD_BENCH=1 (make bench sets it). For a
// quicker or narrower run (see env.go; the command printed with every table
// includes the ones in effect): HERALD_BENCH_PATHS (direct,grpc-proxy,herald),
// HERALD_BENCH_CELL (pass-through cell, 3s), HERALD_BENCH_LEASES
// (10000,50000), HERALD_BENCH_SHAPES (multiplexed,separate),
// HERALD_BENCH_MUX_CONNS (8), HERALD_BENCH_CONNS (1000), HERALD_BENCH_WINDOW
// (20s), HERALD_BENCH_MF_LEASES (5000), HERALD_BENCH_MF_CONNS (100),
// HERALD_BENCH_HERALDS (fleet sizes, 3,6,12), HERALD_BENCH_REGISTRATIONS
// (500), HERALD_BENCH_NODES (herald death: 5000; failure to notification:
// 50), HERALD_BENCH_TTL (herald death: 10s), HERALD_BENCH_DEATH_CONNS (10),
// and HERALD_BENCH_HERALD_ARGS (extra herald flags, e.g.
// --lease-offload=false).
//
// The load generator runs in the benchmark process, on the same cores as the
// servers; its own CPU is reported next to theirs so that readers can judge.
// Ratios between paths, not absolute figures, are what compare across
// machines.
package bench

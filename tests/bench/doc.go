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
//   - BenchmarkScenario (issue 15; make bench-scenario): the founding
//     scenario end to end. R racks (10) of N nodes (5000 per rack) over S
//     services (100; every rack holds N/S nodes of each, service `web` the
//     hot one); each node a lease of TTL 5 s with one key
//     /services/<service>/r<rack>-n<j>, kept alive every TTL/3 over a few
//     raw gRPC connections per rack to that rack's front (one LeaseKeepAlive
//     stream each, the rack's leases multiplexed on them as clientv3
//     multiplexes a process's leases). W watchers (50000) of /services/web/
//     spread round-robin over the racks: raw gRPC Watch streams, 100 watch
//     IDs per stream, streams over a few connections per rack. Each watch ID
//     is its own watcher at the server (herald's fan-out, etcd's watchable
//     store and grpc-proxy's broadcast hold and serve one watcher per ID and
//     send one response per ID and event, as they would for 50k clientv3
//     clients); what 50k clients would add is 50k TCP connections and
//     streams (per-connection buffers), which this load generator does not
//     open. Ten web nodes stop 2 s apart, then every node of the last rack at
//     once (its front stays up). A lock-free ledger (ledger.go) keeps, per
//     (watcher, stopped node), the first DELETE's arrival and counts
//     duplicates and any other event per watcher; latencies are arrival −
//     the node's last keepalive sent − TTL. Also etcd's CPU, RSS and gRPC
//     messages received and sent (all methods) over a steady window
//     (_STEADY, 2m: it holds one of the collections Go forces every two
//     minutes in an idle etcd, whose count in the window is printed) and
//     over the failures, each front's and the generator's CPU and RSS, and
//     bytes per lease and per watcher from RSS deltas (after the leases and
//     their keys, after the watchers). Herald fleet, direct (the racks are
//     views of etcd) and one grpc-proxy per rack, in that order, each with
//     a fresh one-member etcd. Knobs: HERALD_BENCH_SCENARIO_RACKS, _NODES
//     (per rack), _SERVICES, _WATCHERS, _CONNS and _WATCH_CONNS (per rack,
//     4 each), _PATHS, _GEN_NICE (the load generator's threads run at nice
//     -10 once etcd and the fronts are started, so that they get what the
//     nodes and watchers leave, as on machines of their own; 0 turns it
//     off). Each herald's live Go heap is also read (HeapAlloc right after
//     a GC forced through /debug/pprof/heap?gc=1&debug=1; with _HEAP_DIR,
//     each reading's heap profile is saved there), and the load generator's
//     longest gap between two keepalives of one lease is printed (above
//     the TTL, the generator itself let leases lapse). Above ~5k nodes on
//     the shared 2-core machine, run it under `flock /tmp/herald-heavy.lock`.
//     A herald's live heap is read after the grants too, so that the heap
//     per lease splits into its grant's and its key's.
//   - BenchmarkIdleFleet: the scenario's steady state without its load
//     generator. One etcd holding HERALD_BENCH_IDLE_KEYS (50000) keys
//     under /services/, its CPU (/proc/<pid>/stat) over a window of
//     HERALD_BENCH_IDLE_WINDOW (60s) alone, then with a fleet of
//     HERALD_BENCH_IDLE_HERALDS (10) heralds (--fanout-prefix /services/,
//     two feeders, gossip profile local), three virtual leases kept alive
//     through each by clientv3, and nothing else: etcd's CPU, its gRPC
//     messages received per second by method, and the feeds' progress
//     requests and witnessed heartbeats per second.
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
// HERALD_BENCH_HERALD_ARGS (extra herald flags, e.g.
// --lease-offload=false), and HERALD_BENCH_AUTH=1 (fan-out upstream cost
// and keepalive offload with etcd auth on: the workload authenticates as a
// user with read and write on /services/, the heralds with --user as one
// with read on it and readwrite on herald's reserved prefix;
// HERALD_BENCH_AUTH=root gives herald's user the root role too).
//
// The load generator runs in the benchmark process, on the same cores as the
// servers; its own CPU is reported next to theirs so that readers can judge.
// Ratios between paths, not absolute figures, are what compare across
// machines.
package bench

package bench

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// enableEnv must be 1 for any benchmark here to run (make bench sets it).
const enableEnv = "HERALD_BENCH"

// The knobs, each with its default. Only the variables actually set are
// echoed in the reproduce command.
const (
	pathsEnv      = "HERALD_BENCH_PATHS"         // comma list of direct,grpc-proxy,herald
	cellEnv       = "HERALD_BENCH_CELL"          // pass-through: duration of one cell
	leasesEnv     = "HERALD_BENCH_LEASES"        // keepalive offload: comma list of N
	connsEnv      = "HERALD_BENCH_CONNS"         // keepalive offload: separate connections
	muxConnsEnv   = "HERALD_BENCH_MUX_CONNS"     // keepalive offload: multiplexed connections
	windowEnv     = "HERALD_BENCH_WINDOW"        // keepalive offload: steady window
	mfLeasesEnv   = "HERALD_BENCH_MF_LEASES"     // mass failure: leases
	mfConnsEnv    = "HERALD_BENCH_MF_CONNS"      // mass failure: keepalive connections
	heraldArgsEnv = "HERALD_BENCH_HERALD_ARGS"   // extra herald flags, space-separated
	shapesEnv     = "HERALD_BENCH_SHAPES"        // keepalive offload: multiplexed,separate
	heraldsEnv    = "HERALD_BENCH_HERALDS"       // fleet-lease upstream cost: comma list of fleet sizes N
	regsEnv       = "HERALD_BENCH_REGISTRATIONS" // fleet-lease upstream cost: leased registrations R
	ttlEnv        = "HERALD_BENCH_TTL"           // herald death: the nodes' lease TTL
	deathConnsEnv = "HERALD_BENCH_DEATH_CONNS"   // herald death: client connections the nodes share
	defaultPaths  = "direct,grpc-proxy,herald"   //
	defaultCell   = 3 * time.Second
	defaultWindow = 20 * time.Second
)

// HERALD_BENCH_NODES (nodesEnv, fleet.go) is shared by failure to
// notification and herald death, each with its own default.
var knobs = []string{pathsEnv, cellEnv, leasesEnv, connsEnv, muxConnsEnv, windowEnv, mfLeasesEnv, mfConnsEnv, heraldArgsEnv, shapesEnv,
	heraldsEnv, regsEnv, ttlEnv, deathConnsEnv, authEnv}

// skipUnlessEnabled skips b unless HERALD_BENCH=1: these benchmarks start
// real servers and run for minutes.
func skipUnlessEnabled(b *testing.B) {
	b.Helper()
	if os.Getenv(enableEnv) != "1" {
		b.Skipf("starts real etcd, grpc-proxy and herald processes; set %s=1 (make bench)", enableEnv)
	}
}

// benchPaths is the list of paths to measure, in table order.
func benchPaths(b *testing.B) []pathKind {
	b.Helper()
	var out []pathKind
	for _, name := range envList(pathsEnv, defaultPaths) {
		p, err := parsePathKind(name)
		if err != nil {
			b.Fatalf("%s: %v", pathsEnv, err)
		}
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out
}

func envList(name, def string) []string {
	v := os.Getenv(name)
	if v == "" {
		v = def
	}
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

func envInts(b *testing.B, name, def string) []int {
	b.Helper()
	var out []int
	for _, s := range envList(name, def) {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			b.Fatalf("%s: %q is not a positive integer", name, s)
		}
		out = append(out, n)
	}
	return out
}

func envInt(b *testing.B, name string, def int) int {
	b.Helper()
	return envInts(b, name, strconv.Itoa(def))[0]
}

func envDuration(b *testing.B, name string, def time.Duration) time.Duration {
	b.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		b.Fatalf("%s: %q is not a positive duration", name, v)
	}
	return d
}

// reproduceCommand is the command line that runs benchmark name again with
// the HERALD_BENCH_* settings in effect now.
func reproduceCommand(name string) string {
	var env []string
	env = append(env, enableEnv+"=1")
	for _, k := range slices.Concat(knobs, fanoutKnobs, scenarioKnobs, zkKnobs) {
		if v := os.Getenv(k); v != "" {
			env = append(env, fmt.Sprintf("%s=%s", k, shellQuote(v)))
		}
	}
	return fmt.Sprintf("make build etcd-bins && %s go test -count=1 -timeout 60m -run '^$' -bench '^%s$' -benchtime 1x ./tests/bench/",
		strings.Join(env, " "), name)
}

// shellQuote quotes v for a POSIX shell when it holds anything but safe
// characters.
func shellQuote(v string) string {
	if strings.Trim(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789,._-=/:") == "" {
		return v
	}
	return "'" + strings.ReplaceAll(v, "'", `'\''`) + "'"
}

package bench

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/heraldproj/herald/tests/harness"
)

// pathKind is how a client reaches etcd.
type pathKind int

const (
	pathDirect    pathKind = iota // straight to the etcd member
	pathGRPCProxy                 // through `etcd grpc-proxy start`
	pathHerald                    // through `herald start --endpoints ...`
)

func (p pathKind) String() string {
	switch p {
	case pathDirect:
		return "direct"
	case pathGRPCProxy:
		return "grpc-proxy"
	case pathHerald:
		return "herald"
	}
	return fmt.Sprintf("pathKind(%d)", int(p))
}

func parsePathKind(s string) (pathKind, error) {
	for _, p := range []pathKind{pathDirect, pathGRPCProxy, pathHerald} {
		if p.String() == s {
			return p, nil
		}
	}
	return 0, fmt.Errorf("unknown path %q (want direct, grpc-proxy or herald)", s)
}

// heraldArgs override the harness's debug log level (a benchmark must not
// charge herald for debug logging that grpc-proxy and etcd do not do) and add
// HERALD_BENCH_HERALD_ARGS, e.g. "--lease-offload=false".
func heraldArgs() []string {
	return append([]string{"--log-level", "info"}, strings.Fields(os.Getenv(heraldArgsEnv))...)
}

// front is one path in front of an etcd member: the endpoint clients dial and
// the process serving it (nil for direct).
type front struct {
	kind     pathKind
	endpoint string        // http://127.0.0.1:PORT
	proc     *harness.Proc // the proxy or herald; nil for direct
}

// startFront starts the proxy of kind in front of c (nothing for direct).
// The process is stopped by PID when b ends, or earlier by stop.
func startFront(b *testing.B, kind pathKind, c *harness.EtcdCluster) front {
	b.Helper()
	switch kind {
	case pathGRPCProxy:
		p := harness.StartGRPCProxy(b, c.Endpoints())
		return front{kind: kind, endpoint: p.Endpoint(), proc: p.Proc}
	case pathHerald:
		h := harness.StartHerald(b, harness.HeraldOptions{Endpoints: c.Endpoints(), ExtraArgs: append(heraldArgs(), authArgs()...)})
		return front{kind: kind, endpoint: h.Endpoint(), proc: h.Proc}
	default:
		return front{kind: pathDirect, endpoint: c.Endpoints()[0]}
	}
}

// pid is the proxy's process id, 0 for direct.
func (f front) pid() int {
	if f.proc == nil {
		return 0
	}
	return f.proc.PID()
}

// stop ends the proxy now rather than when the benchmark ends.
func (f front) stop() {
	if f.proc != nil {
		f.proc.Stop()
	}
}

// stack is a fresh one-member etcd with one path in front of it: what the
// lease benchmarks start for every cell so that counters never mix. With
// HERALD_BENCH_AUTH=1 the etcd has auth on (enableAuth) and herald its
// user.
type stack struct {
	etcd  *harness.EtcdCluster
	front front
}

func startStack(b *testing.B, kind pathKind) stack {
	b.Helper()
	c := harness.StartEtcd(b, harness.EtcdOptions{})
	if authOn() {
		if err := enableAuth(c.Endpoints()[0]); err != nil {
			b.Fatal(err)
		}
	}
	return stack{etcd: c, front: startFront(b, kind, c)}
}

// member is the etcd process (its PID and /metrics).
func (s stack) member() *harness.EtcdMember { return s.etcd.Member(0) }

// stop ends the proxy and then etcd, so that leases left behind by one cell
// burn no CPU during the next.
func (s stack) stop() {
	s.front.stop()
	s.member().Stop()
}

// hostPort strips the scheme from an endpoint URL, for grpc.NewClient.
func hostPort(endpoint string) string {
	if _, rest, ok := strings.Cut(endpoint, "://"); ok {
		return rest
	}
	return endpoint
}

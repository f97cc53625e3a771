package tests

import (
	"os"
	"testing"

	"github.com/heraldproj/herald/tests/harness"
)

// viaEnv chooses what the "through herald" targets are:
//
//	herald (default)  herald, the thing under test
//	etcd              a second etcd reached directly: the suite must pass,
//	                  which tests the tests and the normaliser
//	grpc-proxy        etcd's own gRPC proxy: shows that the comparisons can
//	                  fail, and where etcd's proxy differs from etcd
const viaEnv = "HERALD_TEST_VIA"

// target is one way for a client to reach an etcd cluster.
type target struct {
	name      string
	endpoints []string             // what clients dial
	upstream  *harness.EtcdCluster // the etcd that serves the data
	herald    *harness.Herald      // set when the target is a herald
}

func skipIfShort(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("starts real etcd and herald processes; skipped with -short")
	}
}

// directTarget starts a fresh etcd and returns it as a target reached directly.
func directTarget(t *testing.T, opts harness.EtcdOptions) target {
	t.Helper()
	c := harness.StartEtcd(t, opts)
	return target{name: "direct", endpoints: c.Endpoints(), upstream: c}
}

// heraldTarget starts a fresh etcd and a herald in front of it, with
// heraldArgs on its command line, and returns the herald as the target (see
// viaEnv for the alternatives).
func heraldTarget(t *testing.T, opts harness.EtcdOptions, heraldArgs ...string) target {
	t.Helper()
	return heraldOver(t, harness.StartEtcd(t, opts), heraldArgs...)
}

// heraldOver returns a target that reaches the cluster c through a new herald
// started with heraldArgs (see viaEnv for the alternatives).
func heraldOver(t *testing.T, c *harness.EtcdCluster, heraldArgs ...string) target {
	t.Helper()
	switch via := os.Getenv(viaEnv); via {
	case "", "herald":
		h := harness.StartHerald(t, harness.HeraldOptions{Endpoints: c.Endpoints(), ExtraArgs: heraldArgs})
		return target{name: "herald", endpoints: []string{h.Endpoint()}, upstream: c, herald: h}
	case "etcd":
		return target{name: "second-direct", endpoints: c.Endpoints(), upstream: c}
	case "grpc-proxy":
		p := harness.StartGRPCProxy(t, c.Endpoints())
		return target{name: "grpc-proxy", endpoints: []string{p.Endpoint()}, upstream: c}
	default:
		t.Fatalf("%s=%q: want herald, etcd or grpc-proxy", viaEnv, via)
		return target{}
	}
}

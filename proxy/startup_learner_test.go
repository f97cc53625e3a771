package proxy_test

import (
	"net/url"
	"path/filepath"
	"testing"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/heraldproj/herald/tests/harness"
)

// TestServesInFrontOfALearner: in front of a learner member (which answers
// only serializable reads and Status), herald starts and passes through what
// the learner answers, with the learner's own errors; its lease offload and
// fan-out come up by themselves once the learner is promoted.
func TestServesInFrontOfALearner(t *testing.T) {
	e := startEtcd(t)
	ctx := harness.Context(t, harness.DefaultPatience)
	learner := startLearner(t, e)
	if _, err := e.direct.Put(ctx, "/services/a", "1"); err != nil {
		t.Fatal(err)
	}

	l := &env{etcdURL: learner}
	l.startHeraldWith(t, func(o *heraldOptions) {
		o.Name, o.Offload = "herald-learner", defaultOffload()
		o.Fanout.Prefixes = []string{"/services/"}
	})
	if off, fan := l.srv.Ready(); off || fan {
		t.Fatalf("ready (offload %v, fan-out %v) in front of a learner", off, fan)
	}
	harness.WaitUntil(t, "the learner to apply the put", harness.DefaultPatience, func() bool {
		got, err := l.viaHerald.Get(ctx, "/services/a", clientv3.WithSerializable())
		if err != nil {
			t.Fatalf("serializable read through herald in front of a learner: %v", err)
		}
		return len(got.Kvs) == 1
	})
	atLearner := newClient(t, learner)
	_, want := atLearner.Get(ctx, "/services/a")
	_, got := l.viaHerald.Get(ctx, "/services/a")
	if want == nil || errString(got) != errString(want) {
		t.Fatalf("linearizable read: herald said %s, the learner %s", errString(got), errString(want))
	}
	if _, err := l.viaHerald.Grant(ctx, 10); status.Code(err) != codes.Unavailable {
		t.Fatalf("lease grant in front of a learner: %v, want Unavailable", err)
	}

	members, err := e.direct.MemberList(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range members.Members {
		if !m.IsLearner {
			continue
		}
		// etcd refuses the promotion until the learner is in sync.
		harness.WaitUntil(t, "the learner promoted", harness.DefaultPatience, func() bool {
			_, err := e.direct.MemberPromote(ctx, m.ID)
			return err == nil
		})
	}
	harness.WaitUntil(t, "the offloader and the hub ready after the promotion", harness.DefaultPatience, func() bool {
		off, fan := l.srv.Ready()
		return off && fan
	})
	if _, err := l.viaHerald.Grant(ctx, 10); err != nil {
		t.Fatalf("lease grant after the promotion: %v", err)
	}
}

// startLearner adds a learner member to e's one-member cluster, starts it
// (embedded, until the test ends) and returns its client URL.
func startLearner(t *testing.T, e *env) string {
	t.Helper()
	ctx := harness.Context(t, harness.DefaultPatience)
	peer, client := url.URL{Scheme: "http", Host: harness.FreeAddr(t)}, url.URL{Scheme: "http", Host: harness.FreeAddr(t)}
	added, err := e.direct.MemberAddAsLearner(ctx, []string{peer.String()})
	if err != nil {
		t.Fatal(err)
	}
	cfg := embed.NewConfig()
	cfg.Name = "learner"
	cfg.Dir = filepath.Join(t.TempDir(), "learner")
	cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{client}, []url.URL{client}
	cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{peer}, []url.URL{peer}
	cfg.ClusterState = embed.ClusterStateFlagExisting
	cfg.InitialCluster = ""
	for _, m := range added.Members {
		name := m.Name
		if m.ID == added.Member.ID {
			name = cfg.Name
		}
		for _, u := range m.PeerURLs {
			if cfg.InitialCluster != "" {
				cfg.InitialCluster += ","
			}
			cfg.InitialCluster += name + "=" + u
		}
	}
	cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zap.NewNop()) // its errors at every stop are noise here
	m, err := embed.StartEtcd(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	select {
	case <-m.Server.ReadyNotify():
	case err := <-m.Err():
		t.Fatalf("learner: %v", err)
	case <-ctx.Done():
		t.Fatal("learner not ready")
	}
	return client.String()
}

package gossip

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/heraldproj/herald/gossip/transport"
)

// TestCollectorFollowsStats: after a broadcast in a 3-member cluster, the
// origin's collector reports the payload it sent, the receivers' report
// the delivery, and every metric the Stats doc names is there.
func TestCollectorFollowsStats(t *testing.T) {
	c := newMemCluster(t, 3, transport.FaultConfig{})
	waitFor(t, "views", 10*time.Second, func() bool { return c.nodes[0].NumPeers() == 2 && c.nodes[2].NumPeers() == 2 })
	col := NewCollector(c.nodes[0])
	if problems, err := testutil.CollectAndLint(col); err != nil || len(problems) > 0 {
		t.Fatal(problems, err)
	}
	if n := testutil.CollectAndCount(col); n != len(nodeDescs)+1 {
		t.Fatalf("%d metrics, want %d", n, len(nodeDescs)+1)
	}
	if _, err := c.nodes[0].Broadcast(context.Background(), []byte("x")); err != nil {
		t.Fatal(err)
	}
	<-c.nodes[0].Deliveries()
	<-c.nodes[2].Deliveries()
	waitFor(t, "stats to count the broadcast", 10*time.Second, func() bool {
		return c.nodes[0].Stats().PayloadSent >= 2 && c.nodes[2].Stats().Delivered == 1
	})
	value := func(c *Collector, name string) float64 {
		reg := prometheus.NewPedanticRegistry()
		reg.MustRegister(c)
		fams, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range fams {
			if f.GetName() == name {
				m := f.GetMetric()[0]
				if m.GetCounter() != nil {
					return m.GetCounter().GetValue()
				}
				return m.GetGauge().GetValue()
			}
		}
		t.Fatalf("no metric %s", name)
		return 0
	}
	if v := value(col, "herald_gossip_payload_sent_total"); v < 2 {
		t.Errorf("origin's herald_gossip_payload_sent_total = %v, want ≥ 2 (two peers)", v)
	}
	if v := value(NewCollector(c.nodes[2]), "herald_gossip_delivered_total"); v != 1 {
		t.Errorf("receiver's herald_gossip_delivered_total = %v, want 1", v)
	}
	if v := value(NewCollector(c.nodes[2]), "herald_gossip_peers"); v != 2 {
		t.Errorf("herald_gossip_peers = %v, want 2", v)
	}
}

package tests

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/heraldproj/herald/tests/harness"
)

// opsPatience bounds how long Prometheus may take to have every query's
// data (a few 1 s scrapes); it turns a hang into a failure, nothing more.
const opsPatience = 30 * time.Second

// opsQuery is one PromQL expression of the dashboard or the alerts, and
// where it comes from.
type opsQuery struct {
	from, expr string
}

// TestDashboardAndAlertsAgainstPrometheus: a real Prometheus scrapes a
// fleet of three heralds every second while clients watch, put and keep a
// lease alive, with herald's alerting rules loaded. Every query of the
// Grafana dashboard returns data, and so does every alerting rule once its
// comparison is removed; Prometheus evaluates every rule without error.
// A query naming a metric herald does not export, or with labels it does
// not have, returns nothing and fails the test.
func TestDashboardAndAlertsAgainstPrometheus(t *testing.T) {
	root := harness.RepoRoot(t)
	harness.Tool(t, "prometheus", "prometheus") // skip before starting anything
	etcd := harness.StartEtcd(t, harness.EtcdOptions{})
	fleet := startFleet(t, 3, etcd.Endpoints())
	var targets []string
	for _, h := range fleet {
		targets = append(targets, fmt.Sprintf("'%s'", strings.TrimPrefix(h.MetricsURL(), "http://")))
	}
	prom := harness.StartPrometheus(t, fmt.Sprintf(`global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files:
  - %s
scrape_configs:
  - job_name: herald
    static_configs:
      - targets: [%s]
`, filepath.Join(root, "configs", "prometheus", "herald-alerts.yaml"), strings.Join(targets, ", ")))
	t.Logf("prometheus at %s scrapes %s", prom.URL(), strings.Join(targets, ", "))
	opsTraffic(t, fleet)

	queries := dashboardQueries(t, filepath.Join(root, "configs", "grafana", "herald-dashboard.json"))
	panels := len(queries)
	alerts := awaitAlertRules(t, prom)
	for _, r := range alerts {
		operands, err := alertOperands(r.Query)
		if err != nil {
			t.Fatalf("alert %s: %v", r.Name, err)
		}
		for _, o := range operands {
			queries = append(queries, opsQuery{from: "alert " + r.Name, expr: o})
		}
	}
	t.Logf("%d queries: %d of the dashboard's panels, %d operands of %d alerting rules", len(queries), panels, len(queries)-panels, len(alerts))

	pending := queries
	failed := map[string]string{} // expr → why it has no data (yet)
	deadline := time.Now().Add(opsPatience)
	for {
		var still []opsQuery
		for _, q := range pending {
			series, err := prom.Query(q.expr)
			switch {
			case err != nil:
				failed[q.expr] = err.Error()
			case len(series) == 0:
				failed[q.expr] = "no series"
			default:
				delete(failed, q.expr)
				continue
			}
			still = append(still, q)
		}
		pending = still
		unhealthy := ruleProblems(t, prom)
		t.Logf("%d of %d queries return data; %d rules not evaluated cleanly yet", len(queries)-len(pending), len(queries), len(unhealthy))
		if len(pending) == 0 && len(unhealthy) == 0 {
			return
		}
		if time.Now().After(deadline) {
			for _, q := range pending {
				t.Errorf("%s: %s: %s", q.from, q.expr, failed[q.expr])
			}
			for _, p := range unhealthy {
				t.Errorf("rule %s", p)
			}
			t.FailNow()
		}
		time.Sleep(time.Second)
	}
}

// opsTraffic makes every figure of the dashboard move: a watch of the
// fan-out prefix through one herald, a lease kept alive through another,
// puts on the lease, and serializable reads served from the cache. The
// watch, the keepalives and the reads run until the test ends.
func opsTraffic(t *testing.T, fleet []*fleetHerald) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() {
		cancel()
		wg.Wait()
	})
	watcher := harness.Client(t, fleet[1].Endpoint())
	wch := watcher.Watch(ctx, fanoutPrefix, clientv3.WithPrefix())
	wg.Go(func() {
		for range wch {
		}
	})
	node := harness.Client(t, fleet[0].Endpoint())
	grant, err := node.Grant(ctx, 5)
	if err != nil {
		t.Fatal(err)
	}
	kch, err := node.KeepAlive(ctx, grant.ID)
	if err != nil {
		t.Fatal(err)
	}
	wg.Go(func() {
		for range kch {
		}
	})
	for i := range 5 {
		if _, err := node.Put(ctx, fmt.Sprintf("%snode-%d", fanoutPrefix, i), "up", clientv3.WithLease(grant.ID)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := watcher.Get(ctx, fanoutPrefix, clientv3.WithPrefix(), clientv3.WithSerializable()); err != nil {
		t.Fatal(err)
	}
	// The first read loads the prefix into the herald's cache (it keeps
	// what its clients read); the reads after it are served from there.
	wg.Go(func() {
		for ctx.Err() == nil {
			watcher.Get(ctx, fanoutPrefix, clientv3.WithPrefix(), clientv3.WithSerializable())
			time.Sleep(250 * time.Millisecond)
		}
	})
}

// dashboardQueries reads the expression of every target of every panel of
// the Grafana dashboard at path, with its variables set as Grafana would
// for a job "herald" scraped every second.
func dashboardQueries(t *testing.T, path string) []opsQuery {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				RefID string `json:"refId"`
				Expr  string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	vars := strings.NewReplacer(`$job`, `herald`, `$__rate_interval`, `10s`)
	var out []opsQuery
	for _, p := range d.Panels {
		if len(p.Targets) == 0 {
			t.Errorf("dashboard panel %q has no query", p.Title)
		}
		for _, q := range p.Targets {
			expr := vars.Replace(q.Expr)
			if strings.Contains(expr, "$") {
				t.Fatalf("dashboard panel %q, query %s: a variable this test does not set: %s", p.Title, q.RefID, q.Expr)
			}
			out = append(out, opsQuery{from: fmt.Sprintf("panel %q (%s)", p.Title, q.RefID), expr: expr})
		}
	}
	return out
}

// awaitAlertRules returns the alerting rules Prometheus loaded, once it
// lists them.
func awaitAlertRules(t *testing.T, prom *harness.Prometheus) []harness.Rule {
	t.Helper()
	var alerts []harness.Rule
	err := harness.Await(opsPatience, func() error {
		rules, err := prom.Rules()
		if err != nil {
			return err
		}
		alerts = slices.DeleteFunc(rules, func(r harness.Rule) bool { return r.Type != "alerting" })
		if len(alerts) == 0 {
			return fmt.Errorf("no alerting rule loaded")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return alerts
}

// ruleProblems describes the rules Prometheus has not evaluated cleanly:
// not yet, or with an error.
func ruleProblems(t *testing.T, prom *harness.Prometheus) []string {
	t.Helper()
	rules, err := prom.Rules()
	if err != nil {
		return []string{err.Error()}
	}
	var out []string
	for _, r := range rules {
		if r.Health != "ok" {
			out = append(out, fmt.Sprintf("%s: health %q %s", r.Name, r.Health, r.LastError))
		}
	}
	return out
}

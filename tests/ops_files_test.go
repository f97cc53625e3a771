package tests

import (
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/heraldproj/herald/tests/harness"
)

// TestAlertRules: the alerting rules load, and promtool's unit tests of
// them (configs/prometheus/herald-alerts.test.yaml) pass.
func TestAlertRules(t *testing.T) {
	promtool := harness.Tool(t, "promtool", "prometheus")
	dir := filepath.Join(harness.RepoRoot(t), "configs", "prometheus")
	for _, args := range [][]string{
		{"check", "rules", "herald-alerts.yaml"},
		{"test", "rules", "herald-alerts.test.yaml"},
	} {
		cmd := exec.Command(promtool, args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

// TestOpsFilesNameRealFlagsAndMetrics: every flag the systemd unit, the
// Kubernetes manifest and the Dockerfile pass is a flag of herald start, and
// every herald_* metric the alerts and the dashboard use is one a running
// herald exports.
func TestOpsFilesNameRealFlagsAndMetrics(t *testing.T) {
	root := harness.RepoRoot(t)
	read := func(rel string) string {
		b, err := os.ReadFile(filepath.Join(root, rel))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}

	help, err := exec.Command(harness.Binaries(t).Herald, "start", "--help").CombinedOutput()
	if err != nil {
		t.Fatalf("herald start --help: %v\n%s", err, help)
	}
	flagRE := regexp.MustCompile(`(?m)(?:^|[\s"'\[,])--([a-z][a-z0-9-]+)`)
	for _, f := range []string{"configs/systemd/herald.service", "configs/k8s/herald.yaml", "configs/Dockerfile"} {
		var lines []string // comments show other commands' flags
		for _, l := range strings.Split(read(f), "\n") {
			if !strings.HasPrefix(strings.TrimSpace(l), "#") {
				lines = append(lines, l)
			}
		}
		for _, m := range flagRE.FindAllStringSubmatch(strings.Join(lines, "\n"), -1) {
			if f == "configs/Dockerfile" && m[1] == "from" {
				continue // COPY --from=build
			}
			if !strings.Contains(string(help), "--"+m[1]+" ") {
				t.Errorf("%s passes --%s, which herald start does not have", f, m[1])
			}
		}
	}

	// A herald in a fleet of one, with a virtual lease kept alive and a
	// read, exports every family it has.
	etcd := harness.StartEtcd(t, harness.EtcdOptions{})
	fleet := startFleet(t, 1, etcd.Endpoints())
	cli := harness.Client(t, fleet[0].Endpoint())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	grant, err := cli.Grant(ctx, 5)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Put(ctx, "/ops/x", "1", clientv3.WithLease(grant.ID)); err != nil {
		t.Fatal(err)
	}
	if _, err := cli.KeepAliveOnce(ctx, grant.ID); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(fleet[0].MetricsURL() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	var exported []string
	for _, line := range strings.Split(string(body), "\n") {
		if strings.HasPrefix(line, "# TYPE ") {
			exported = append(exported, strings.Fields(line)[2])
		}
	}
	metricRE := regexp.MustCompile(`herald_[a-z_]+`)
	for _, f := range []string{"configs/prometheus/herald-alerts.yaml", "configs/grafana/herald-dashboard.json"} {
		for _, name := range metricRE.FindAllString(read(f), -1) {
			family := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(name, "_bucket"), "_count"), "_sum")
			if !slices.Contains(exported, family) {
				t.Errorf("%s uses %s, which herald does not export (exported: %v)", f, name, exported)
			}
		}
	}
}

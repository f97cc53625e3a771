package main

import (
	"context"
	"net/http"
	"regexp"
	"strconv"
	"testing"

	"github.com/heraldproj/herald/tests/harness"
)

// sample reads the value of the first sample of /metrics whose name and
// labels match re (a regular expression of the sample's text up to its
// value); ok is false when there is none.
func sample(body, re string) (v float64, ok bool) {
	m := regexp.MustCompile(`(?m)^` + re + ` (\S+)$`).FindStringSubmatch(body)
	if m == nil {
		return 0, false
	}
	v, err := strconv.ParseFloat(m[1], 64)
	return v, err == nil
}

// TestHeraldsOfOneProcessHaveTheirOwnMetrics: two heralds run in one
// process, both with lease offloading (whose metrics once went to a
// process-wide registry, and made the second herald panic). Each /metrics
// shows that herald's figures only: its requests and its leases.
func TestHeraldsOfOneProcessHaveTheirOwnMetrics(t *testing.T) {
	up := harness.StartEtcd(t, harness.EtcdOptions{})
	a := startHerald(t, "--endpoints", up.Endpoints()[0], "--name", "herald-a", "--lease-offload=true")
	b := startHerald(t, "--endpoints", up.Endpoints()[0], "--name", "herald-b", "--lease-offload=true")

	cli := harness.Client(t, "http://"+a)
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	// Offloading comes up in the background: wait for a virtual lease.
	if err := harness.Await(patience, func() error {
		_, err := cli.Grant(ctx, 30)
		return err
	}); err != nil {
		t.Fatal(err)
	}

	grants := `herald_proxy_requests_total\{code="OK",method="/etcdserverpb.Lease/LeaseGrant"\}`
	_, bodyA := get(t, http.DefaultClient, "http://"+a+"/metrics")
	_, bodyB := get(t, http.DefaultClient, "http://"+b+"/metrics")
	if v, _ := sample(bodyA, grants); v != 1 {
		t.Errorf("herald-a counts %v lease grants, want 1", v)
	}
	if v, ok := sample(bodyB, grants); ok {
		t.Errorf("herald-b counts %v lease grants of herald-a's", v)
	}
	if v, _ := sample(bodyA, "herald_lease_virtual_leases"); v != 1 {
		t.Errorf("herald-a holds %v virtual leases, want 1", v)
	}
	if v, ok := sample(bodyB, "herald_lease_virtual_leases"); !ok || v != 0 {
		t.Errorf("herald-b holds %v virtual leases (exported: %v), want 0", v, ok)
	}
	for name, body := range map[string]string{"herald-a": bodyA, "herald-b": bodyB} {
		for _, family := range []string{"herald_build_info", "go_goroutines", "process_resident_memory_bytes", "herald_upstream_errors_total"} {
			if !regexp.MustCompile(`(?m)^# TYPE ` + family + ` `).MatchString(body) {
				t.Errorf("%s does not export %s", name, family)
			}
		}
	}
}

package tests

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/heraldproj/herald/tests/harness"
)

// TestClusterAnswersForHerald: member list, endpoint status and endpoint
// health through herald answer for herald itself (as etcd's grpc-proxy does),
// so that clients that sync endpoints keep talking to herald.
func TestClusterAnswersForHerald(t *testing.T) {
	skipIfShort(t)
	t.Parallel()
	tgt := heraldTarget(t, harness.EtcdOptions{})
	ep := tgt.endpoints[0]

	out, stderr, err := harness.Etcdctl(t, tgt.endpoints, "member", "list", "-w", "json")
	if err != nil {
		t.Fatalf("member list through %s: %v: %s", tgt.name, err, stderr)
	}
	var members struct {
		Members []struct {
			ClientURLs []string `json:"clientURLs"`
		} `json:"members"`
	}
	if err := json.Unmarshal([]byte(out), &members); err != nil {
		t.Fatalf("member list -w json: %v: %s", err, out)
	}
	var urls []string
	for _, m := range members.Members {
		urls = append(urls, m.ClientURLs...)
	}
	if !slices.Contains(urls, ep) {
		t.Errorf("member list through %s shows client URLs %v, want %s among them\n%s", tgt.name, urls, ep, out)
	}
	for _, u := range urls {
		if slices.Contains(tgt.upstream.Endpoints(), u) && u != ep {
			t.Errorf("member list through %s leaks the upstream's client URL %s (clients with auto-sync would bypass herald)", tgt.name, u)
		}
	}

	out, stderr, err = harness.Etcdctl(t, tgt.endpoints, "member", "list")
	if err != nil || !strings.Contains(out, ep) {
		t.Errorf("member list (table) through %s = %q, %v (%s); want a line with %s", tgt.name, out, err, stderr, ep)
	}

	out, stderr, err = harness.Etcdctl(t, tgt.endpoints, "endpoint", "status")
	if err != nil || !strings.Contains(out, hostPort(ep)) {
		t.Errorf("endpoint status through %s = %q, %v (%s); want a line for %s", tgt.name, out, err, stderr, ep)
	}
	out, stderr, err = harness.Etcdctl(t, tgt.endpoints, "endpoint", "status", "-w", "json")
	if err != nil {
		t.Errorf("endpoint status -w json through %s: %v (%s)", tgt.name, err, stderr)
	} else {
		var status []struct {
			Endpoint string `json:"Endpoint"`
			Status   struct {
				Version string `json:"version"`
				Leader  uint64 `json:"leader"`
			} `json:"Status"`
		}
		if err := json.Unmarshal([]byte(out), &status); err != nil || len(status) != 1 {
			t.Errorf("endpoint status -w json: %v: %s", err, out)
		} else if status[0].Status.Version == "" || status[0].Status.Leader == 0 {
			t.Errorf("endpoint status through %s has no version or leader: %s", tgt.name, out)
		}
	}

	out, stderr, err = harness.Etcdctl(t, tgt.endpoints, "endpoint", "health")
	if err != nil || !strings.Contains(out, "is healthy") {
		t.Errorf("endpoint health through %s = %q, %v (%s); want \"is healthy\"", tgt.name, out, err, stderr)
	}
}

// hostPort strips the scheme of a URL.
func hostPort(url string) string {
	if _, rest, ok := strings.Cut(url, "://"); ok {
		return rest
	}
	return url
}

package bench

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"

	"github.com/heraldproj/herald/tests/harness"
)

// The etcd counters the benchmarks read.
const (
	metricMsgReceived  = "grpc_server_msg_received_total"
	metricMsgSent      = "grpc_server_msg_sent_total"
	metricLeaseRenewed = "etcd_debugging_lease_renewed_total"
	// metricEventsSent counts events etcd handed to watchers: one per event
	// and watcher that receives it (mvcc.ReportEventReceived).
	metricEventsSent = "etcd_debugging_mvcc_events_total"
	// metricGCCycles counts a Go process's completed garbage collections.
	metricGCCycles = "go_gc_duration_seconds_count"
)

// keepAliveLabels selects the LeaseKeepAlive stream messages among
// grpc_server_msg_received_total's series.
var keepAliveLabels = map[string]string{"grpc_method": "LeaseKeepAlive"}

// watchLabels selects etcd's Watch streams among grpc_server_msg_*_total's
// series (grpc.health.v1.Health has a Watch method too).
var watchLabels = map[string]string{"grpc_method": "Watch", "grpc_service": "etcdserverpb.Watch"}

// scrape fetches a Prometheus text page (GET url) and returns the sum of the
// samples of metric whose labels include every pair in match.
func scrape(url, metric string, match map[string]string) (float64, error) {
	page, err := harness.Metrics(url)
	if err != nil {
		return 0, fmt.Errorf("bench: scrape %s: %w", url, err)
	}
	v, err := sumMetric(page, metric, match)
	if err != nil {
		return 0, fmt.Errorf("bench: %s: %w", url, err)
	}
	return v, nil
}

// sumMetric adds up the samples of metric in a Prometheus text exposition
// whose labels include every pair in match. A metric absent from the page is
// an error (a renamed counter must not read as zero).
func sumMetric(page, metric string, match map[string]string) (float64, error) {
	var sum float64
	err := eachSample(page, metric, func(labels map[string]string, v float64) {
		if labelsMatch(labels, match) {
			sum += v
		}
	})
	return sum, err
}

// sumMetricBy adds up the samples of metric per value of one label (e.g.
// grpc_method), with the same errors as sumMetric.
func sumMetricBy(page, metric, label string) (map[string]float64, error) {
	sums := map[string]float64{}
	err := eachSample(page, metric, func(labels map[string]string, v float64) {
		sums[labels[label]] += v
	})
	return sums, err
}

// eachSample calls fn with the labels and value of every sample of metric
// in a Prometheus text exposition; a metric absent from the page is an
// error.
func eachSample(page, metric string, fn func(labels map[string]string, v float64)) error {
	found := false
	sc := bufio.NewScanner(strings.NewReader(page))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' || !strings.HasPrefix(line, metric) {
			continue
		}
		rest := line[len(metric):]
		var labels string
		switch {
		case strings.HasPrefix(rest, "{"):
			end := strings.LastIndexByte(rest, '}')
			if end < 0 {
				return fmt.Errorf("unterminated labels in %q", line)
			}
			labels, rest = rest[1:end], rest[end+1:]
		case strings.HasPrefix(rest, " "):
		default:
			continue // a longer metric name with metric as its prefix
		}
		fields := strings.Fields(rest)
		if len(fields) == 0 {
			return fmt.Errorf("no value in %q", line)
		}
		found = true
		v, err := strconv.ParseFloat(fields[0], 64)
		if err != nil {
			return fmt.Errorf("value in %q: %w", line, err)
		}
		fn(parseLabels(labels), v)
	}
	if err := sc.Err(); err != nil {
		return err
	}
	if !found {
		return fmt.Errorf("metric %s not found", metric)
	}
	return nil
}

// parseLabels parses `a="x",b="y"` (values without escaped quotes or commas,
// which is all the counters read here carry).
func parseLabels(s string) map[string]string {
	out := map[string]string{}
	for _, kv := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			continue
		}
		out[strings.TrimSpace(k)] = strings.Trim(strings.TrimSpace(v), `"`)
	}
	return out
}

func labelsMatch(have, want map[string]string) bool {
	for k, v := range want {
		if have[k] != v {
			return false
		}
	}
	return true
}

// liveHeap is the live Go heap of the process serving /debug/pprof/ at
// base: the heap's allocated bytes read right after a forced GC (the text
// heap profile, gc=1&debug=1, reads runtime.MemStats before it allocates
// anything). Reading them from /metrics afterwards counted what the
// profile's and the scrape's own gzip writers had allocated since the GC
// (up to 1.8 MB). With profile set, the heap profile (as go tool pprof
// reads it) is saved there too.
func liveHeap(base, profile string) (int64, error) {
	text, err := httpGet(base + "/debug/pprof/heap?gc=1&debug=1")
	if err != nil {
		return 0, fmt.Errorf("bench: forced GC at %s: %w (is --enable-pprof on?)", base, err)
	}
	_, rest, ok := strings.Cut(string(text), "\n# HeapAlloc = ")
	line, _, _ := strings.Cut(rest, "\n")
	v, perr := strconv.ParseInt(line, 10, 64)
	if !ok || perr != nil {
		return 0, fmt.Errorf("bench: no HeapAlloc in the heap profile of %s", base)
	}
	if profile != "" {
		body, err := httpGet(base + "/debug/pprof/heap")
		if err == nil {
			err = os.WriteFile(profile, body, 0o644)
		}
		if err != nil {
			return 0, fmt.Errorf("bench: heap profile of %s: %w", base, err)
		}
	}
	return v, nil
}

// httpGet returns the body of a 200 answer to a GET of url.
func httpGet(url string) ([]byte, error) {
	resp, err := http.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("%s: %s", url, resp.Status)
	}
	return body, err
}

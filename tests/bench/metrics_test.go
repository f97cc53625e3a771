package bench

import (
	"testing"
	"time"
)

const samplePage = `# HELP grpc_server_msg_received_total Total number of RPC stream messages received on the server.
# TYPE grpc_server_msg_received_total counter
grpc_server_msg_received_total{grpc_method="LeaseKeepAlive",grpc_service="etcdserverpb.Lease",grpc_type="bidi_stream"} 1.2345e+06
grpc_server_msg_received_total{grpc_method="Range",grpc_service="etcdserverpb.KV",grpc_type="unary"} 17
grpc_server_msg_received_total_extra{grpc_method="LeaseKeepAlive"} 99
# TYPE etcd_debugging_lease_renewed_total counter
etcd_debugging_lease_renewed_total 4242
`

func TestSumMetric(t *testing.T) {
	for _, tc := range []struct {
		name    string
		metric  string
		match   map[string]string
		want    float64
		wantErr bool
	}{
		{name: "labelled series", metric: metricMsgReceived, match: keepAliveLabels, want: 1234500},
		{name: "all series", metric: metricMsgReceived, want: 1234517},
		{name: "no labels", metric: metricLeaseRenewed, want: 4242},
		{name: "no series matches", metric: metricMsgReceived, match: map[string]string{"grpc_method": "Watch"}, want: 0},
		{name: "absent metric", metric: "etcd_nope_total", wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := sumMetric(samplePage, tc.metric, tc.match)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
			if got != tc.want {
				t.Fatalf("sum = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestSumMetricBy(t *testing.T) {
	got, err := sumMetricBy(samplePage, metricMsgReceived, "grpc_method")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got["LeaseKeepAlive"] != 1234500 || got["Range"] != 17 {
		t.Fatalf("sums = %v, want LeaseKeepAlive 1234500 and Range 17 (the _extra series is another metric)", got)
	}
	if _, err := sumMetricBy(samplePage, "etcd_nope_total", "grpc_method"); err == nil {
		t.Fatal("an absent metric summed without error")
	}
}

func TestRatesBetween(t *testing.T) {
	before := map[string]float64{"Watch": 10, "Status": 4, "Range": 7}
	after := map[string]float64{"Watch": 90, "Status": 39, "Range": 7, "LeaseKeepAlive": 80}
	if got, want := ratesBetween(before, after, 10*time.Second), "LeaseKeepAlive 8.0, Watch 8.0, Status 3.5"; got != want {
		t.Fatalf("ratesBetween = %q, want %q", got, want)
	}
	if got := ratesBetween(after, after, time.Second); got != "none" {
		t.Fatalf("no change gave %q, want none", got)
	}
}

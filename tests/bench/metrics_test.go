package bench

import "testing"

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

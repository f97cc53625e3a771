package tests

import (
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// DialKeepAlive is the gRPC keepalive of a workload's clients (clientv3's
// DialKeepAliveTime and DialKeepAliveTimeout). The zero value is clientv3's
// default: no pings, so a client whose connection goes silent (a paused
// server, a cut network) waits for it forever and only deadlines fail; its
// lease keepalive stream hangs until the lease's TTL runs out. With pings,
// the connection is dropped after Time+Timeout of silence and clientv3 moves
// its calls and streams to its other endpoints. etcd and herald refuse pings
// more often than every 5 s when no data flows (GOAWAY too_many_pings), so
// Time below 5 s risks that.
type DialKeepAlive struct {
	Time, Timeout time.Duration
}

// newWorkloadClient is the clientv3 client of the workloads: a silent
// logger, a 5 s dial timeout and ka. The caller closes it.
func newWorkloadClient(endpoints []string, ka DialKeepAlive) (*clientv3.Client, error) {
	return clientv3.New(clientv3.Config{
		Endpoints:            endpoints,
		DialTimeout:          5 * time.Second,
		DialKeepAliveTime:    ka.Time,
		DialKeepAliveTimeout: ka.Timeout,
		Logger:               zap.NewNop(),
	})
}

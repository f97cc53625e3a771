package bench

import (
	"fmt"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// newClient is a clientv3 client for one endpoint with a silent logger; the
// caller closes it (the benchmarks open and close clients cell by cell).
func newClient(endpoint string) (*clientv3.Client, error) {
	cli, err := clientv3.New(clientv3.Config{
		Endpoints:   []string{endpoint},
		DialTimeout: 10 * time.Second,
		Logger:      zap.NewNop(),
	})
	if err != nil {
		return nil, fmt.Errorf("bench: clientv3.New(%s): %w", endpoint, err)
	}
	return cli, nil
}

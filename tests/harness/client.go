package harness

import (
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// Client returns a clientv3 client for endpoints (closed when t ends), with a
// silent logger and a 5 s dial timeout.
func Client(t testing.TB, endpoints ...string) *clientv3.Client {
	t.Helper()
	return ClientAs(t, "", "", endpoints...)
}

// ClientAs is Client logged in as an etcd user ("": none), as clientv3
// logs in: at dial time, and again when its token goes stale.
func ClientAs(t testing.TB, user, password string, endpoints ...string) *clientv3.Client {
	t.Helper()
	cli, err := clientv3.New(clientv3.Config{
		Endpoints:   endpoints,
		Username:    user,
		Password:    password,
		DialTimeout: 5 * time.Second,
		Logger:      zap.NewNop(),
	})
	if err != nil {
		t.Fatalf("harness: clientv3.New(%v): %v", endpoints, err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}

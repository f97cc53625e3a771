package bench

import (
	"context"
	"fmt"
	"os"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// authEnv=1 turns etcd auth on in the racks of the fan-out upstream-cost
// benchmark and in the keepalive-offload benchmark's stacks (issue 13): the
// workload's clients authenticate as benchUser, the heralds as heraldUser
// (--user).
const authEnv = "HERALD_BENCH_AUTH"

const (
	benchUser, benchPassword   = "bench", "benchpw"
	heraldUser, heraldPassword = "herald", "heraldpw"
)

// authEnv=root gives herald's user the root role as well: etcd checks a
// non-admin's write attached to a lease against every key on the lease
// (checkLeasePuts), herald's carriers hold thousands, and an admin skips
// the check.
func authOn() bool { return os.Getenv(authEnv) == "1" || heraldRoot() }

func heraldRoot() bool { return os.Getenv(authEnv) == "root" }

// reservedPrefix is herald's default --reserved-prefix.
const reservedPrefix = "\x00herald/"

// authArgs are herald's flags for its etcd user, with auth on.
func authArgs() []string {
	if !authOn() {
		return nil
	}
	return []string{"--user", heraldUser + ":" + heraldPassword}
}

// benchToken is a token of the workload's user from etcd at endpoint ("":
// auth off), for the benchmark's raw gRPC clients.
func benchToken(endpoint string) (string, error) {
	if !authOn() {
		return "", nil
	}
	cli, err := newClient(endpoint)
	if err != nil {
		return "", err
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := pb.NewAuthClient(cli.ActiveConnection()).Authenticate(ctx, &pb.AuthenticateRequest{Name: benchUser, Password: benchPassword})
	if err != nil {
		return "", fmt.Errorf("bench: authenticate %s: %w", benchUser, err)
	}
	return resp.Token, nil
}

// tokenCreds puts an etcd token on every call of a connection.
type tokenCreds string

func (t tokenCreds) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{rpctypes.TokenFieldNameGRPC: string(t)}, nil
}

func (tokenCreds) RequireTransportSecurity() bool { return false }

// enableAuth creates root, the workload's user (read and write on the
// fan-out prefix) and herald's (read on it: the least its fan-out needs;
// readwrite on its reserved prefix, for virtual leases), then turns auth
// on.
func enableAuth(endpoint string) error {
	cli, err := newClient(endpoint)
	if err != nil {
		return err
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	end := clientv3.GetPrefixRangeEnd(fanoutPrefix)
	for _, step := range []func() error{
		func() error { _, err := cli.UserAdd(ctx, "root", "rootpw"); return err },
		func() error { _, err := cli.UserGrantRole(ctx, "root", "root"); return err },
		func() error { _, err := cli.RoleAdd(ctx, "fanout-rw"); return err },
		func() error {
			_, err := cli.RoleGrantPermission(ctx, "fanout-rw", fanoutPrefix, end, clientv3.PermissionType(clientv3.PermReadWrite))
			return err
		},
		func() error { _, err := cli.UserAdd(ctx, benchUser, benchPassword); return err },
		func() error { _, err := cli.UserGrantRole(ctx, benchUser, "fanout-rw"); return err },
		func() error { _, err := cli.RoleAdd(ctx, "fanout-read"); return err },
		func() error {
			_, err := cli.RoleGrantPermission(ctx, "fanout-read", fanoutPrefix, end, clientv3.PermissionType(clientv3.PermRead))
			return err
		},
		func() error { _, err := cli.UserAdd(ctx, heraldUser, heraldPassword); return err },
		func() error { _, err := cli.UserGrantRole(ctx, heraldUser, "fanout-read"); return err },
		func() error { _, err := cli.RoleAdd(ctx, "herald-leases"); return err },
		func() error {
			_, err := cli.RoleGrantPermission(ctx, "herald-leases", reservedPrefix, clientv3.GetPrefixRangeEnd(reservedPrefix), clientv3.PermissionType(clientv3.PermReadWrite))
			return err
		},
		func() error { _, err := cli.UserGrantRole(ctx, heraldUser, "herald-leases"); return err },
		func() error {
			if !heraldRoot() {
				return nil
			}
			_, err := cli.UserGrantRole(ctx, heraldUser, "root")
			return err
		},
		func() error { _, err := cli.AuthEnable(ctx); return err },
	} {
		if err := step(); err != nil {
			return fmt.Errorf("bench: enabling auth: %w", err)
		}
	}
	return nil
}

// client is newClient, authenticated as the workload's user when the
// racks' etcd has auth on.
func (r *racks) client(endpoint string) (*clientv3.Client, error) {
	if !r.auth {
		return newClient(endpoint)
	}
	cli, err := clientv3.New(clientv3.Config{
		Endpoints: []string{endpoint}, DialTimeout: 10 * time.Second, Logger: zap.NewNop(),
		Username: benchUser, Password: benchPassword,
	})
	if err != nil {
		return nil, fmt.Errorf("bench: clientv3.New(%s) as %s: %w", endpoint, benchUser, err)
	}
	return cli, nil
}

// token is a token of the workload's user, for raw watch streams ("" with
// auth off). etcd's simple tokens live in the member that issued them:
// the racks have one.
func (r *racks) token() (string, error) {
	if !r.auth {
		return "", nil
	}
	return benchToken(r.etcd.Endpoints()[0])
}

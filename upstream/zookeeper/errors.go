package zookeeper

import (
	"context"
	"errors"
	"fmt"

	"github.com/go-zookeeper/zk"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// errConflict is an attempt that found its reads changed before it could
// answer.
var errConflict = errors.New("zookeeper: conflict")

// errMultiShape is a multi's answer without the revision znode's stat.
var errMultiShape = errors.New("zookeeper: the multi's answer lacks the revision write")

// conflict reports whether a multi failed because the state it was planned
// on changed (a version check, a create of something that now exists, a
// delete of something gone): the attempt is planned again. Any other
// failure ends the call: after a lost connection the multi may or may not
// have been applied, and planning again could answer a second outcome.
func conflict(err error) bool {
	return errors.Is(err, errConflict) || errors.Is(err, zk.ErrBadVersion) || errors.Is(err, zk.ErrNoNode) ||
		errors.Is(err, zk.ErrNodeExists) || errors.Is(err, zk.ErrNotEmpty)
}

// grpcError turns a ZooKeeper or context error into the gRPC status an
// etcd client expects: the ensemble out of reach is Unavailable (clientv3
// retries it), the caller's context its own code, anything else Internal
// with ZooKeeper's message. Errors that already are statuses pass.
func grpcError(ctx context.Context, op string, err error) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	if ctx.Err() != nil {
		return status.FromContextError(ctx.Err()).Err()
	}
	switch {
	case errors.Is(err, zk.ErrConnectionClosed), errors.Is(err, zk.ErrNoServer),
		errors.Is(err, zk.ErrSessionExpired), errors.Is(err, zk.ErrClosing),
		errors.Is(err, zk.ErrSessionMoved):
		return status.Error(codes.Unavailable, fmt.Sprintf("zookeeper: %s: %v", op, err))
	}
	return status.Error(codes.Internal, fmt.Sprintf("zookeeper: %s: %v", op, err))
}

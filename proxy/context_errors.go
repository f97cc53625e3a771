package proxy

import (
	"context"
	"errors"

	"google.golang.org/grpc"
	"google.golang.org/grpc/status"
)

// contextErrors answers a handler's bare context error (a client deadline
// or cancellation met while herald waited) with gRPC's code for it,
// DeadlineExceeded or Canceled, as etcd's server does, instead of Unknown.
func contextErrors(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	resp, err := handler(ctx, req)
	if _, isStatus := status.FromError(err); !isStatus && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
		err = status.FromContextError(err).Err()
	}
	return resp, err
}

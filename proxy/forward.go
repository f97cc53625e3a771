package proxy

import (
	"context"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/heraldproj/herald/upstream"
)

// forwardConn is the connection for the services herald passes through
// unchanged (upstream.Forwarder): the upstream's own when it speaks etcd's
// gRPC API, otherwise one that refuses every call, so a client of an
// upstream without them learns why instead of waiting.
func forwardConn(up upstream.Upstream) grpc.ClientConnInterface {
	if f, ok := up.(upstream.Forwarder); ok {
		return f.Forward()
	}
	return unforwardable{}
}

// unforwardable answers every call with codes.Unimplemented.
type unforwardable struct{}

func (unforwardable) Invoke(_ context.Context, method string, _, _ any, _ ...grpc.CallOption) error {
	return errUnforwardable(method)
}

func (unforwardable) NewStream(_ context.Context, _ *grpc.StreamDesc, method string, _ ...grpc.CallOption) (grpc.ClientStream, error) {
	return nil, errUnforwardable(method)
}

func errUnforwardable(method string) error {
	return status.Errorf(codes.Unimplemented, "herald: %s is not supported by this upstream (only an etcd upstream serves it)", method)
}

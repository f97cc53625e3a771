package etcd

import (
	"context"
	"errors"
	"io"

	"google.golang.org/grpc"
)

// observer is the upstream connection's interceptor pair: it keeps the
// count of open unary calls for Close (inflight) and counts failed calls
// (callErrors).
type observer struct {
	open *inflight
	errs *callErrors
}

func (o observer) unary(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	c := o.open.begin(method)
	err := invoker(ctx, method, req, reply, cc, opts...)
	o.open.end(c)
	o.errs.observe(ctx, err)
	return err
}

func (o observer) stream(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	s, err := streamer(ctx, desc, cc, method, opts...)
	if err != nil {
		o.errs.observe(ctx, err)
		return nil, err
	}
	return &observedStream{ClientStream: s, ctx: ctx, errs: o.errs}, nil
}

// observedStream counts the error that ends a stream, once. gRPC reports a
// stream's end through RecvMsg (SendMsg returns io.EOF and leaves the
// status to it), and RecvMsg is never called concurrently.
type observedStream struct {
	grpc.ClientStream
	ctx   context.Context
	errs  *callErrors
	ended bool
}

func (s *observedStream) RecvMsg(m any) error {
	err := s.ClientStream.RecvMsg(m)
	if err != nil && !s.ended {
		s.ended = true
		if !errors.Is(err, io.EOF) {
			s.errs.observe(s.ctx, err)
		}
	}
	return err
}

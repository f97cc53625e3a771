package relay

import (
	"context"
	"errors"
	"io"
	"sync/atomic"

	"google.golang.org/grpc"
	encproto "google.golang.org/grpc/encoding/proto"
	"google.golang.org/grpc/metadata"
)

// anyStream opens every relayed method as a bidirectional stream: on the
// wire a unary or server-streaming call is the same exchange with one
// request, so etcd sees the call its client made.
var anyStream = &grpc.StreamDesc{ServerStreams: true, ClientStreams: true}

// callerError marks a failure on the caller's side of a relay (its
// connection or context), as opposed to the upstream's status.
type callerError struct{ err error }

func (e callerError) Error() string { return e.err.Error() }
func (e callerError) Unwrap() error { return e.err }

// pump relays one call: it opens method on upstream and moves frames both
// ways until the upstream call ends or the caller goes away.
//
// Two goroutines share the work: the handler's own returns the upstream's
// answers (header, messages, trailer, status) and a second one, the
// forwarder, passes on the caller's requests. pump waits for the forwarder
// when the caller has half-closed (unary and server-streaming calls, and
// any stream the caller finished), as it then has only the half-close left
// to pass on. It cannot wait when etcd ends a call while the caller is
// still sending: the forwarder is then blocked reading the caller's stream,
// which only gRPC can end, and does so as soon as pump returns; the
// forwarder then returns at once (the upstream call is already cancelled).
func pump(down grpc.ServerStream, upstream grpc.ClientConnInterface, method string, md metadata.MD) error {
	ctx, cancel := context.WithCancel(down.Context())
	defer cancel()
	up, err := upstream.NewStream(metadata.NewOutgoingContext(ctx, md), anyStream, method,
		grpc.ForceCodecV2(rawCodec), grpc.CallContentSubtype(encproto.Name))
	if err != nil {
		return err
	}

	// Buffered: the forwarder never waits for the handler to read.
	fromCaller := make(chan error, 1)
	var halfClosed atomic.Bool
	go func() {
		err := forwardRequests(down, up, &halfClosed)
		fromCaller <- err
		if err != nil {
			// Sent before cancelling, so that the handler, woken by the
			// cancellation, finds the reason.
			cancel()
		}
	}()

	err = forwardResponses(up, down)
	if ce := (callerError{}); errors.As(err, &ce) {
		return ce.err
	}
	down.SetTrailer(up.Trailer())
	var cerr error
	if halfClosed.Load() {
		cerr = <-fromCaller
	} else {
		select {
		case cerr = <-fromCaller:
		default:
		}
	}
	if cerr != nil {
		return cerr
	}
	if err == io.EOF {
		return nil
	}
	return err
}

// forwardRequests copies the caller's frames to the upstream and passes on
// the caller's half-close. It returns nil when the upstream call ended
// first (its status reaches the caller through forwardResponses) and an
// error when the caller's side failed or a frame could not be sent. It
// sets halfClosed when the caller has half-closed, before passing that on.
func forwardRequests(down grpc.ServerStream, up grpc.ClientStream, halfClosed *atomic.Bool) error {
	for {
		f := new(Frame)
		if err := down.RecvMsg(f); err != nil {
			if err == io.EOF {
				halfClosed.Store(true)
				return up.CloseSend()
			}
			return err
		}
		if err := up.SendMsg(f); err != nil {
			if err == io.EOF {
				return nil
			}
			return err
		}
	}
}

// forwardResponses copies the upstream's header and frames to the caller.
// It returns the upstream's end (io.EOF for success, else its status
// error) or a callerError when the caller could not be written to.
func forwardResponses(up grpc.ClientStream, down grpc.ServerStream) error {
	// Header waits for the upstream's header frame; nil means the call
	// ended without one (a trailers-only answer), and RecvMsg then returns
	// its status.
	md, err := up.Header()
	if err != nil {
		return err
	}
	if md != nil {
		if err := down.SendHeader(md); err != nil {
			return callerError{err}
		}
	}
	for {
		f := new(Frame)
		if err := up.RecvMsg(f); err != nil {
			return err
		}
		if err := down.SendMsg(f); err != nil {
			return callerError{err}
		}
	}
}

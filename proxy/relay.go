package proxy

import (
	"context"
	"errors"
	"io"

	"google.golang.org/grpc"
)

// relayBidi pipes a client's bidirectional stream to an upstream one until
// either ends. open is called with a context that is cancelled when the
// client goes away, so the upstream stream never outlives it.
//
// A client's half-close is passed on as CloseSend, and answers keep flowing
// until the upstream ends the stream (etcd keeps a watch stream open after
// the client half-closes). An upstream error is returned as it is, so the
// client sees etcd's code and message.
//
// keep, when not nil, may change each answer before it is sent, and drop it
// by returning false.
func relayBidi[Req, Resp any](
	client grpc.BidiStreamingServer[Req, Resp],
	open func(context.Context) (upstreamBidi[Req, Resp], error),
	keep func(*Resp) bool,
) error {
	ctx, cancel := context.WithCancel(outgoing(client.Context()))
	defer cancel()
	up, err := open(ctx)
	if err != nil {
		return err
	}

	sendErr := make(chan error, 1)
	go func() {
		sendErr <- pumpRequests(client, up)
	}()

	for {
		resp, err := up.Recv()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		if keep != nil && !keep(resp) {
			continue
		}
		if err := client.Send(resp); err != nil {
			return err
		}
		select {
		case err := <-sendErr:
			if err != nil {
				return err
			}
			// The client half-closed; keep relaying answers.
			sendErr = nil
		default:
		}
	}
}

// pumpRequests copies requests from the client to the upstream stream. It
// returns nil when the client half-closes, and the error otherwise.
func pumpRequests[Req, Resp any](client grpc.BidiStreamingServer[Req, Resp], up upstreamBidi[Req, Resp]) error {
	for {
		req, err := client.Recv()
		if errors.Is(err, io.EOF) {
			return up.CloseSend()
		}
		if err != nil {
			return err
		}
		if err := up.Send(req); err != nil {
			// The upstream stream failed; its Recv reports why.
			return nil
		}
	}
}

// relayServerStream pipes an upstream server-streaming call to the client;
// each, when not nil, may change every answer before it is sent.
func relayServerStream[Resp any](
	client grpc.ServerStreamingServer[Resp],
	open func(context.Context) (grpc.ServerStreamingClient[Resp], error),
	each func(*Resp),
) error {
	ctx, cancel := context.WithCancel(outgoing(client.Context()))
	defer cancel()
	up, err := open(ctx)
	if err != nil {
		return err
	}
	send := client.Send
	if each != nil {
		send = func(r *Resp) error { each(r); return client.Send(r) }
	}
	return pump(up.Recv, send)
}

// pump passes what recv yields to send until recv reports the end (nil) or
// either fails.
func pump[Resp any](recv func() (*Resp, error), send func(*Resp) error) error {
	for {
		resp, err := recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := send(resp); err != nil {
			return err
		}
	}
}

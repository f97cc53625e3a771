package proxy

import (
	"bytes"
	"context"
	"errors"
	"io"
	"sync"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/heraldproj/herald/internal/streams"
	"github.com/heraldproj/herald/lease/offload"
	"github.com/heraldproj/herald/upstream"
)

// keepAliveStream is a keepalive stream to a peer herald (the lease's owner).
type keepAliveStream = grpc.BidiStreamingClient[pb.LeaseKeepAliveRequest, pb.LeaseKeepAliveResponse]

func (s *leaseServer) LeaseKeepAlive(stream grpc.BidiStreamingServer[pb.LeaseKeepAliveRequest, pb.LeaseKeepAliveResponse]) error {
	if err := s.o.unready(stream.Context()); err != nil {
		return err
	}
	if !s.virtual(stream.Context()) {
		return relayBidi(stream, openKeepAliveRelay(s.lease), nil)
	}
	return s.o.serveKeepAlives(stream, s.lease.KeepAlive)
}

// kaSession is one client keepalive stream served with virtual leases:
// each request is answered here when this herald owns the lease, sent on a
// stream to the owner's herald when another one does, relayed on an
// upstream stream when the lease is etcd's, and held while its owner is
// being replaced (clients send again until answered; a held request is
// tried again at every change, then dropped after the hold timeout).
// Answers from every side share the client stream.
type kaSession struct {
	o    *offloader
	ctx  context.Context
	open func(context.Context) (upstream.Keeper, error)

	client  grpc.BidiStreamingServer[pb.LeaseKeepAliveRequest, pb.LeaseKeepAliveResponse]
	answers *kaAnswers // to the client, sent by their own goroutine

	up    upstream.Keeper // to etcd, opened on first use
	upErr chan error
	owner map[string]keepAliveStream // to owners' heralds, by URL
	gone  chan string                // URLs of owner streams that ended
	held  map[int64]time.Time        // lease → when to give up
	wg    sync.WaitGroup

	// permit asks etcd about the client's keepalives as etcd's own
	// keepalive server does (nil: etcd cannot have auth on); verdicts
	// holds its answers, and expiry the token's (a JWT's).
	permit   *offload.Permit
	verdicts renewVerdicts
	expiry   time.Time
	shown    time.Time // when the token was last shown to etcd
}

// send queues an answer for the client (kaAnswers): it never waits for
// the client to read.
func (k *kaSession) send(resp *pb.LeaseKeepAliveResponse) error {
	return k.answers.put(k.ctx, resp)
}

// serveKeepAlives runs one client keepalive stream until it ends.
func (o *offloader) serveKeepAlives(
	stream grpc.BidiStreamingServer[pb.LeaseKeepAliveRequest, pb.LeaseKeepAliveResponse],
	open func(context.Context) (upstream.Keeper, error),
) error {
	ctx, cancel := context.WithCancel(outgoing(stream.Context()))
	defer cancel()
	k := &kaSession{o: o, ctx: ctx, open: open, client: stream, answers: newKAAnswers(), upErr: make(chan error, 1),
		owner: map[string]keepAliveStream{}, gone: make(chan string, 8), held: map[int64]time.Time{},
		permit: o.PermitFor(stream.Context()), verdicts: renewVerdicts{}, expiry: tokenExpiry(ctx)}
	defer k.wg.Wait()
	defer cancel()

	// The answers go to the client on a goroutine of their own; a stream
	// that ends normally sends what is queued first (finish).
	sent := make(chan error, 1)
	k.wg.Add(1)
	go func() { defer k.wg.Done(); sent <- k.answers.run(ctx, stream.Send) }()
	finish := func(err error) error {
		if err != nil {
			return err
		}
		k.answers.close()
		return <-sent
	}

	// Client requests arrive on their own goroutine, so that an upstream
	// failure ends the stream without waiting for the client's next request.
	// The intake tracks how far herald has read them (see offload's intake).
	tracked := o.TrackIntake()
	defer tracked.Done()
	reqs, recvErr := streams.Receive(ctx, offload.RecvTracked(tracked, stream.Recv))

	// The retry timer runs only while keepalives are held: an idle stream
	// (all of a rack's nodes, most of the time) sleeps until its client
	// sends. Holds are timed on the offloader's clock.
	var (
		tick     <-chan time.Time
		stopTick func() bool
	)
	defer func() {
		if stopTick != nil {
			stopTick()
		}
		o.waiting.Add(-int64(len(k.held)))
	}()
	for {
		var changed <-chan struct{}
		switch {
		case len(k.held) > 0:
			changed = o.Changed()
			if tick == nil {
				tick, stopTick = o.Clock().NewTimer(holdPoll)
			}
		case tick != nil:
			stopTick()
			tick, stopTick = nil, nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-k.upErr:
			return err
		case err := <-sent:
			return err
		case err := <-recvErr:
			if !errors.Is(err, io.EOF) {
				return err
			}
			if k.up == nil {
				return finish(nil)
			}
			// Half-close: pass it on and let the upstream finish.
			_ = k.up.CloseSend()
			return finish(<-k.upErr)
		case url := <-k.gone:
			delete(k.owner, url)
		case req := <-reqs:
			if err := k.handle(req.ID); err != nil {
				return err
			}
		case <-changed:
			if err := k.retryHeld(); err != nil {
				return err
			}
		case <-tick:
			tick, stopTick = nil, nil
			if err := k.retryHeld(); err != nil {
				return err
			}
		}
	}
}

// retryHeld tries every held request again.
func (k *kaSession) retryHeld() error {
	now := k.o.Clock().Now()
	for id, until := range k.held {
		delete(k.held, id)
		k.o.waiting.Add(-1)
		if !now.Before(until) {
			continue // the client has sent it again by now, or given up
		}
		if err := k.handle(id); err != nil {
			return err
		}
		if _, again := k.held[id]; again {
			k.held[id] = until // the first hold's deadline stands
		}
	}
	return nil
}

// handle answers, forwards, relays or holds one keepalive.
func (k *kaSession) handle(id int64) error {
	o := k.o
	resp, v := o.KeepAlive(id)
	switch v {
	case offload.Answered:
		return k.answer(resp)
	case offload.Hold:
		k.hold(id)
		return nil
	}
	route, err := o.Route(asHerald(k.ctx), id)
	if err != nil {
		k.hold(id) // etcd unreachable for the lookup: try again later
		return nil
	}
	switch route.Kind {
	case offload.RouteLocal:
		if resp, v := o.KeepAlive(id); v == offload.Answered {
			return k.answer(resp)
		}
		k.hold(id)
	case offload.RouteHold:
		k.hold(id)
	case offload.RouteGone:
		// etcd's keepalive stream answers a lease it does not know with TTL 0.
		return k.answer(&pb.LeaseKeepAliveResponse{Header: o.LocalHeader(), ID: id})
	case offload.RouteUpstream:
		return k.upstream(id)
	case offload.RouteForward:
		if forwarded(k.client.Context()) {
			return nil // the forwarder routes it again on the client's next try
		}
		k.toOwner(route.URL, id)
	}
	return nil
}

// answer sends herald's answer to a keepalive once etcd would let the
// client renew the lease (permitRenew); a refusal ends the stream with
// etcd's error, as etcd's keepalive server ends it. While etcd's auth
// state cannot be read the keepalive is held.
func (k *kaSession) answer(resp *pb.LeaseKeepAliveResponse) error {
	ok, err := k.permitRenew(resp.ID)
	switch {
	case err != nil:
		return err
	case !ok:
		k.hold(resp.ID)
		return nil
	}
	return k.send(resp)
}

// permitRenew asks etcd whether the client may keep lease id alive, as
// etcd's checkLeaseRenew asks (a valid token; write permission on every key
// on the lease, unless the user is an admin). A verdict is reused while
// etcd's auth store keeps its revision (read at most authPoll ago), the
// lease its keys, and a JWT its validity: steady keepalives cost etcd one
// AuthStatus per herald every authPoll and, for a simple token, one
// valid-token probe per stream every half token TTL (showToken). ok is
// false when etcd's auth state could not be read.
func (k *kaSession) permitRenew(id int64) (ok bool, err error) {
	if k.permit == nil {
		return true, nil
	}
	enabled, rev, err := k.o.auth.current(k.ctx)
	if err != nil {
		return false, nil
	}
	if !enabled {
		return true, nil
	}
	now := k.o.Clock().Now()
	keys := k.o.KeysOf(id)
	joined := string(bytes.Join(keys, []byte{0}))
	if k.verdicts.holds(joined, rev, now) {
		return true, k.showToken(now)
	}
	// Without keys, Write asks for a valid token only.
	if err := k.permit.Write(keys); err != nil {
		delete(k.verdicts, joined)
		return false, err
	}
	k.shown = now
	k.verdicts.record(joined, rev, k.expiry)
	return true, nil
}

// showToken shows a simple token to etcd (a valid-token probe) when half
// of etcd's token TTL has passed since it last saw it from this stream.
// etcd refreshes a simple token at every use, so a client whose
// keepalives reached etcd would keep its token alive: herald keeps it
// alive for it, and learns when it expired (the stream then ends with
// etcd's error, as etcd would end it). A JWT carries its own expiry
// (renewVerdict.until).
func (k *kaSession) showToken(now time.Time) error {
	if !k.permit.Token() || !k.expiry.IsZero() || k.o.tokenTTL <= 0 || now.Sub(k.shown) < k.o.tokenTTL/2 {
		return nil
	}
	if err := k.permit.Authenticated(); err != nil {
		return err
	}
	k.shown = now
	return nil
}

// refusedByOwner reports whether an owner's keepalive stream ended with a
// refusal of the client (its token or permission, as etcd judged them),
// rather than because the owner moved, went away or the stream was
// cancelled (the keepalive is then routed again).
func refusedByOwner(err error) bool {
	switch status.Code(err) {
	case codes.PermissionDenied, codes.Unauthenticated, codes.InvalidArgument, codes.FailedPrecondition:
		return true
	}
	return false
}

func (k *kaSession) hold(id int64) {
	if _, ok := k.held[id]; !ok {
		k.held[id] = k.o.Clock().Now().Add(k.o.HoldTimeout())
		k.o.waiting.Add(1)
	}
}

// upstream relays a keepalive of one of etcd's leases.
func (k *kaSession) upstream(id int64) error {
	if k.up == nil {
		up, err := k.open(k.ctx)
		if err != nil {
			return err
		}
		k.up = up
		k.wg.Add(1)
		go func() { defer k.wg.Done(); k.upErr <- pump(up.Recv, k.send) }()
	}
	if err := k.up.KeepAlive(id); err != nil {
		return <-k.upErr
	}
	return nil
}

// toOwner sends a keepalive on the stream to the owner's herald, opening it
// on first use. A failing owner stream is dropped (and the request held):
// the next request routes again.
func (k *kaSession) toOwner(url string, id int64) {
	s, ok := k.owner[url]
	if !ok {
		c, err := k.o.peers.conn(url)
		if err == nil {
			s, err = pb.NewLeaseClient(c).LeaseKeepAlive(k.o.peers.forwardCtx(k.ctx))
		}
		if err != nil {
			k.hold(id)
			return
		}
		k.owner[url] = s
		k.wg.Add(1)
		go func() {
			defer k.wg.Done()
			if err := pump(s.Recv, k.send); refusedByOwner(err) {
				// The owner judged the client's keepalive with its token
				// and etcd refused it: end the client's stream with
				// etcd's error, as etcd's keepalive server ends it.
				select {
				case k.upErr <- err:
				default: // the stream is ending already
				}
			}
			select {
			case k.gone <- url:
			case <-k.ctx.Done():
			}
		}()
	}
	if err := s.Send(&pb.LeaseKeepAliveRequest{ID: id}); err != nil {
		delete(k.owner, url)
		k.hold(id)
	}
}

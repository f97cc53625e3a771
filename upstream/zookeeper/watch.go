package zookeeper

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"sync"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/heraldproj/herald/fanout"
	"github.com/heraldproj/herald/upstream"
)

const (
	// defaultWatchProgressInterval is etcd's progress_notify interval.
	defaultWatchProgressInterval = 10 * time.Minute
	// defaultWatchFragmentBytes is etcd's default --max-request-bytes
	// plus its gRPC overhead: where etcd splits the response of a watch
	// created with fragment (fanout states both, for all of herald).
	defaultWatchFragmentBytes = fanout.DefaultMaxRequestBytes + fanout.GRPCOverheadBytes
)

var (
	errClientClosed = status.Error(codes.Canceled, "zookeeper: client closed")
	errSendClosed   = errors.New("zookeeper: watch: request after CloseSend")
)

var _ upstream.Watches = (*Client)(nil)

// Watch opens a stream of watches served from the Client's history
// (history.go). It has no goroutine of its own: Recv does the work on the
// caller's goroutine (watch_stream.go).
func (c *Client) Watch(ctx context.Context) (upstream.WatchStream, error) {
	if c.hist == nil || c.hist.view().ended {
		return nil, errClientClosed
	}
	iv := c.cfg.WatchProgressInterval
	// etcd adds up to 10% so that streams opened together do not tick
	// together (v3rpc GetProgressReportInterval).
	iv += rand.N(iv/10 + 1)
	return &watchStream{
		h: c.hist, ctx: ctx, fragmentBytes: c.cfg.WatchFragmentBytes,
		wake: make(chan struct{}, 1), ticker: time.NewTicker(iv),
		watchers: map[int64]*watcher{},
	}, nil
}

// watchStream is one stream of watches. Create, Cancel, RequestProgress
// and CloseSend queue a request; Recv takes the queue, reads the window and
// answers, in etcd's order (watch_stream.go).
type watchStream struct {
	h             *history
	ctx           context.Context
	fragmentBytes int

	mu         sync.Mutex // guards reqs and sendClosed
	reqs       []watchRequest
	sendClosed bool
	wake       chan struct{} // cap 1: reqs has something

	// The rest belongs to Recv.
	ticker   *time.Ticker // progress_notify
	tickDue  bool
	watchers map[int64]*watcher
	order    []*watcher // creation order: output is deterministic
	nextID   int64      // the next automatic watch ID (mvcc watchStream.nextID)
	out      []*pb.WatchResponse
	err      error
}

// watchRequest is one request, with the revision the window had reached
// when it was made: a watch from now starts after it.
type watchRequest struct {
	create   *pb.WatchCreateRequest
	cancel   int64
	progress bool
	rev      int64
}

func (s *watchStream) Create(r *pb.WatchCreateRequest) error {
	return s.push(watchRequest{create: proto.Clone(r).(*pb.WatchCreateRequest), rev: s.h.revision()})
}

func (s *watchStream) Cancel(id int64) error {
	return s.push(watchRequest{cancel: id})
}

func (s *watchStream) RequestProgress() error {
	return s.push(watchRequest{progress: true})
}

// CloseSend ends the requests; the watches keep running, as in etcd, until
// ctx ends or the Client closes (Recv then returns io.EOF).
func (s *watchStream) CloseSend() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sendClosed = true
	return nil
}

func (s *watchStream) push(r watchRequest) error {
	if s.ctx.Err() != nil {
		return io.EOF // as gRPC's Send on a finished stream: Recv tells why
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sendClosed {
		return errSendClosed
	}
	s.reqs = append(s.reqs, r)
	select {
	case s.wake <- struct{}{}:
	default:
	}
	return nil
}

func (s *watchStream) take() (reqs []watchRequest, sendClosed bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	reqs, s.reqs = s.reqs, nil
	return reqs, s.sendClosed
}

// Recv answers the requests in order and sends each watch the window's
// events as they arrive, waiting until there is something to answer.
func (s *watchStream) Recv() (*pb.WatchResponse, error) {
	for {
		if len(s.out) > 0 {
			r := s.out[0]
			s.out[0] = nil
			s.out = s.out[1:]
			return r, nil
		}
		if s.err != nil {
			return nil, s.err
		}
		// Requests first, then the window: every request's revision is
		// then at most the view's bound.
		reqs, sendClosed := s.take()
		v := s.h.view()
		for _, r := range reqs {
			s.deliver(v) // what happened before a request goes out before its answer
			s.handle(r, v)
		}
		s.deliver(v)
		if s.tickDue {
			s.tickDue = false
			s.tick(v)
		}
		if len(s.out) > 0 {
			continue
		}
		if v.ended {
			s.end(errClientClosed, sendClosed)
			continue
		}
		select {
		case <-s.ctx.Done():
			s.end(status.FromContextError(s.ctx.Err()).Err(), false)
		case <-s.wake:
		case <-v.changed:
		case <-s.ticker.C:
			s.tickDue = true
		}
	}
}

// end ends the stream: io.EOF after CloseSend when the Client closed it.
func (s *watchStream) end(err error, sendClosed bool) {
	s.ticker.Stop()
	if sendClosed && err == errClientClosed {
		err = io.EOF
	}
	s.err = err
}

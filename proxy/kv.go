package proxy

import (
	"context"
	"errors"
	"strings"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/heraldproj/herald/fanout/hub"
	"github.com/heraldproj/herald/lease"
	"github.com/heraldproj/herald/upstream"
)

// kvServer forwards the KV service. With lease offloading on (o != nil),
// writes that involve virtual leases or the reserved keyspace are rewritten
// (lease.Keyspace.PlanTxn) and carriers in answers are shown as virtual
// leases.
type kvServer struct {
	pb.UnimplementedKVServer
	kv     upstream.KV
	stream pb.KVClient // RangeStream, forwarded (upstream.Forwarder)
	o      *offloader
	hub    *hub.Hub // serves serializable reads inside the fan-out prefixes
}

// note records an upstream header: the offloader's newest header, and the
// newest revision shown to a client (for the fan-out's read-your-writes).
func (s *kvServer) note(h *pb.ResponseHeader) {
	if s.o != nil {
		s.o.NoteHeader(h)
	}
	if s.hub != nil {
		s.hub.NoteRev(h.GetRevision())
	}
}

func (s *kvServer) Range(ctx context.Context, r *pb.RangeRequest) (*pb.RangeResponse, error) {
	read := func(ctx context.Context, r *pb.RangeRequest) (*pb.RangeResponse, error) {
		return retryRead(ctx, func(ctx context.Context) (*pb.RangeResponse, error) { return s.kv.Range(ctx, r) })
	}
	// The cache answers serializable reads without asking etcd, so only
	// where etcd could not refuse them: tokenless clients of a herald that
	// faces no etcd auth (no etcd user of its own).
	if s.hub != nil && s.hub.Ready() && r.Serializable && tokenless(ctx) && !s.hub.ChecksPermissions() {
		if resp, ok := s.hub.RangeLocal(r); ok {
			if s.o != nil {
				s.o.Translate(ctx, resp.Kvs...)
			}
			return resp, nil
		}
	}
	if s.o == nil {
		resp, err := read(outgoing(ctx), r)
		if err == nil {
			s.note(resp.Header)
		}
		return resp, err
	}
	var resp *pb.RangeResponse
	var err error
	if s.o.ks.Overlaps(lease.Span{Key: r.Key, End: r.RangeEnd}) {
		resp, err = s.o.rangeAround(outgoing(ctx), r, read)
	} else {
		resp, err = read(outgoing(ctx), r)
	}
	if err != nil {
		return nil, err
	}
	s.note(resp.Header)
	s.o.Translate(ctx, resp.Kvs...)
	return resp, nil
}

func (s *kvServer) RangeStream(r *pb.RangeRequest, stream grpc.ServerStreamingServer[pb.RangeStreamResponse]) error {
	if s.o == nil {
		return relayServerStream(stream, func(ctx context.Context) (grpc.ServerStreamingClient[pb.RangeStreamResponse], error) {
			return s.stream.RangeStream(ctx, r)
		}, nil)
	}
	if s.o.ks.Overlaps(lease.Span{Key: r.Key, End: r.RangeEnd}) {
		open := func(ctx context.Context, r *pb.RangeRequest) (grpc.ServerStreamingClient[pb.RangeStreamResponse], error) {
			return s.stream.RangeStream(ctx, r)
		}
		return s.o.rangeStreamAround(stream, r, open, func(ctx context.Context, r *pb.RangeRequest) (*pb.RangeResponse, error) {
			return retryRead(ctx, func(ctx context.Context) (*pb.RangeResponse, error) { return s.kv.Range(ctx, r) })
		})
	}
	ctx := stream.Context()
	return relayServerStream(stream, func(ctx context.Context) (grpc.ServerStreamingClient[pb.RangeStreamResponse], error) {
		return s.stream.RangeStream(ctx, r)
	}, func(chunk *pb.RangeStreamResponse) {
		s.o.Translate(ctx, chunk.GetRangeResponse().GetKvs()...)
	})
}

func (s *kvServer) Put(ctx context.Context, r *pb.PutRequest) (*pb.PutResponse, error) {
	forward := func() (*pb.PutResponse, error) {
		resp, err := s.kv.Put(outgoing(ctx), r)
		if err != nil {
			return nil, err
		}
		s.note(resp.Header)
		if s.o != nil {
			s.o.Translate(ctx, resp.PrevKv)
		}
		return resp, nil
	}
	if s.o == nil {
		return forward()
	}
	txn := &pb.TxnRequest{Success: []*pb.RequestOp{{Request: &pb.RequestOp_RequestPut{RequestPut: r}}}}
	resp, err := s.rewritten(ctx, txn)
	switch {
	case err != nil:
		return nil, err
	case resp == nil:
		return forward()
	}
	out := resp.Responses[0].GetResponsePut()
	out.Header = resp.Header
	return out, nil
}

func (s *kvServer) DeleteRange(ctx context.Context, r *pb.DeleteRangeRequest) (*pb.DeleteRangeResponse, error) {
	forward := func() (*pb.DeleteRangeResponse, error) {
		resp, err := s.kv.DeleteRange(outgoing(ctx), r)
		if err != nil {
			return nil, err
		}
		s.note(resp.Header)
		if s.o != nil {
			s.o.Translate(ctx, resp.PrevKvs...)
		}
		return resp, nil
	}
	if s.o == nil {
		return forward()
	}
	txn := &pb.TxnRequest{Success: []*pb.RequestOp{{Request: &pb.RequestOp_RequestDeleteRange{RequestDeleteRange: r}}}}
	resp, err := s.rewritten(ctx, txn)
	switch {
	case err != nil:
		return nil, err
	case resp == nil:
		return forward()
	}
	out := resp.Responses[0].GetResponseDeleteRange()
	out.Header = resp.Header
	return out, nil
}

func (s *kvServer) Txn(ctx context.Context, r *pb.TxnRequest) (*pb.TxnResponse, error) {
	if s.o != nil {
		if resp, err := s.rewritten(ctx, r); err != nil || resp != nil {
			return resp, err
		}
	}
	resp, err := s.kv.Txn(outgoing(ctx), r)
	if err != nil {
		return nil, err
	}
	s.note(resp.Header)
	if s.o != nil {
		s.o.TranslateTxn(ctx, resp)
	}
	return resp, nil
}

// rewritten sends r upstream rewritten, when herald has something to add,
// and returns the client's answer. A nil answer and nil error mean there
// was nothing to rewrite: the caller forwards the client's own request.
func (s *kvServer) rewritten(ctx context.Context, r *pb.TxnRequest) (*pb.TxnResponse, error) {
	if err := s.o.unready(ctx); err != nil && len(lease.LeasesIn(r)) > 0 {
		return nil, err
	}
	serves := s.o.serves(ctx)
	plan, err := s.o.PlanTxn(asHerald(ctx), r, serves)
	switch {
	case errors.Is(err, lease.ErrReserved):
		return nil, errReserved(s.o.ks)
	case errors.Is(err, lease.ErrLeaseCompare):
		return nil, status.Error(codes.Unimplemented, "herald: "+strings.TrimPrefix(err.Error(), "lease: "))
	}
	if err != nil {
		return nil, err
	}
	if plan.Txn == nil {
		return nil, nil
	}
	up := outgoing(ctx)
	if p := s.o.PermitFor(ctx); p != nil && serves {
		// The rewrite writes herald's records beside the client's
		// operations, which the client may not write: etcd judges the
		// client's own request first, then herald sends the rewrite as its
		// etcd user.
		if err := p.Txn(asHerald(ctx), r); err != nil {
			return nil, err
		}
		up = upstream.AsHeraldFor(ctx)
	}
	resp, err := s.kv.Txn(up, plan.Txn)
	if err != nil {
		return nil, err
	}
	s.note(resp.Header)
	return s.o.FinishTxn(ctx, plan, resp)
}

func (s *kvServer) Compact(ctx context.Context, r *pb.CompactionRequest) (*pb.CompactionResponse, error) {
	resp, err := s.kv.Compact(outgoing(ctx), r)
	if err == nil && s.hub != nil {
		s.hub.SetCompactRev(r.Revision)
	}
	return resp, err
}

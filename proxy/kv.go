package proxy

import (
	"context"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"google.golang.org/grpc"
)

// kvServer forwards the KV service. With lease offloading on (o != nil),
// writes that involve virtual leases or the reserved prefix are rewritten
// (see offload_txn.go) and carriers in answers are shown as virtual leases.
type kvServer struct {
	pb.UnimplementedKVServer
	kv  pb.KVClient
	o   *offloader
	hub *hub // serves serializable reads inside the fan-out prefixes
}

// note records an upstream header: the offloader's newest header, and the
// newest revision shown to a client (for the fan-out's read-your-writes).
func (s *kvServer) note(h *pb.ResponseHeader) {
	if s.o != nil {
		s.o.noteHeader(h)
	}
	if s.hub != nil {
		s.hub.noteRev(h.GetRevision())
	}
}

func (s *kvServer) Range(ctx context.Context, r *pb.RangeRequest) (*pb.RangeResponse, error) {
	read := func(ctx context.Context, r *pb.RangeRequest) (*pb.RangeResponse, error) {
		return retryRead(ctx, func(ctx context.Context) (*pb.RangeResponse, error) { return s.kv.Range(ctx, r) })
	}
	if s.hub != nil && r.Serializable && tokenless(ctx) {
		if resp, ok := s.hub.rangeLocal(r); ok {
			fanoutLocalReadsTotal.Inc()
			if s.o != nil {
				s.o.translateAll(resp.Kvs)
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
	if s.o.res.overlaps(span{r.Key, r.RangeEnd}) {
		resp, err = s.o.rangeAround(outgoing(ctx), r, read)
	} else {
		resp, err = read(outgoing(ctx), r)
	}
	if err != nil {
		return nil, err
	}
	s.note(resp.Header)
	s.o.translateAll(resp.Kvs)
	return resp, nil
}

func (s *kvServer) RangeStream(r *pb.RangeRequest, stream grpc.ServerStreamingServer[pb.RangeStreamResponse]) error {
	if s.o != nil && s.o.res.overlaps(span{r.Key, r.RangeEnd}) {
		// Streamed chunks cannot be merged around the reserved prefix; the
		// client's unary Range does it.
		return s.o.res.errReserved()
	}
	return relayServerStream(stream, func(ctx context.Context) (grpc.ServerStreamingClient[pb.RangeStreamResponse], error) {
		return s.kv.RangeStream(ctx, r)
	})
}

func (s *kvServer) Put(ctx context.Context, r *pb.PutRequest) (*pb.PutResponse, error) {
	if s.o == nil {
		resp, err := s.kv.Put(outgoing(ctx), r)
		if err == nil {
			s.note(resp.Header)
		}
		return resp, err
	}
	if !s.o.touchesPut(ctx, r) {
		return s.forwardPut(ctx, r)
	}
	txn := &pb.TxnRequest{Success: []*pb.RequestOp{{Request: &pb.RequestOp_RequestPut{RequestPut: r}}}}
	resp, plan, err := s.rewritten(ctx, txn)
	switch {
	case err != nil:
		return nil, err
	case plan == nil:
		return s.forwardPut(ctx, r)
	}
	out := resp.Responses[0].GetResponsePut()
	out.Header = resp.Header
	return out, nil
}

func (s *kvServer) forwardPut(ctx context.Context, r *pb.PutRequest) (*pb.PutResponse, error) {
	resp, err := s.kv.Put(outgoing(ctx), r)
	if err != nil {
		return nil, err
	}
	s.note(resp.Header)
	s.o.translate(resp.PrevKv)
	return resp, nil
}

func (s *kvServer) DeleteRange(ctx context.Context, r *pb.DeleteRangeRequest) (*pb.DeleteRangeResponse, error) {
	if s.o == nil {
		resp, err := s.kv.DeleteRange(outgoing(ctx), r)
		if err == nil {
			s.note(resp.Header)
		}
		return resp, err
	}
	txn := &pb.TxnRequest{Success: []*pb.RequestOp{{Request: &pb.RequestOp_RequestDeleteRange{RequestDeleteRange: r}}}}
	resp, plan, err := s.rewritten(ctx, txn)
	if err != nil {
		return nil, err
	}
	if plan == nil {
		resp, err := s.kv.DeleteRange(outgoing(ctx), r)
		if err != nil {
			return nil, err
		}
		s.note(resp.Header)
		s.o.translateAll(resp.PrevKvs)
		return resp, nil
	}
	out := resp.Responses[0].GetResponseDeleteRange()
	out.Header = resp.Header
	return out, nil
}

func (s *kvServer) Txn(ctx context.Context, r *pb.TxnRequest) (*pb.TxnResponse, error) {
	if s.o == nil {
		resp, err := s.kv.Txn(outgoing(ctx), r)
		if err == nil {
			s.note(resp.Header)
		}
		return resp, err
	}
	resp, plan, err := s.rewritten(ctx, r)
	if err != nil {
		return nil, err
	}
	if plan == nil {
		if resp, err = s.kv.Txn(outgoing(ctx), r); err != nil {
			return nil, err
		}
		s.note(resp.Header)
		s.o.translateTxn(resp)
	}
	return resp, nil
}

// rewritten sends r upstream rewritten, when herald has something to add,
// and returns the client's answer. A nil plan and nil error mean there was
// nothing to rewrite: the caller forwards its original request.
func (s *kvServer) rewritten(ctx context.Context, r *pb.TxnRequest) (*pb.TxnResponse, *txnPlan, error) {
	up, plan, err := s.o.rewriteTxn(r, s.o.serves(ctx))
	if err != nil {
		return nil, nil, err
	}
	if !plan.changed {
		return nil, nil, nil
	}
	resp, err := s.kv.Txn(outgoing(ctx), up)
	if err != nil {
		return nil, nil, err
	}
	s.note(resp.Header)
	s.o.finishTxn(resp, plan)
	s.o.translateTxn(resp)
	return resp, plan, nil
}

func (s *kvServer) Compact(ctx context.Context, r *pb.CompactionRequest) (*pb.CompactionResponse, error) {
	resp, err := s.kv.Compact(outgoing(ctx), r)
	if err == nil && s.hub != nil {
		s.hub.setCompactRev(r.Revision)
	}
	return resp, err
}

package tests

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/heraldproj/herald/tests/harness"
)

// badCase is one bad request; it returns what the server answered, as text
// that must be the same from etcd directly and through herald.
type badCase struct {
	name string
	// wantCode pins the code etcd itself gives, so that the case tests
	// what it says it tests.
	wantCode codes.Code
	run      func(ctx context.Context, conn *grpc.ClientConn) (string, error)
}

// TestBadInput sends bad requests to etcd directly and through herald (in
// front of the same etcd) and expects the same gRPC code and message; after
// each, herald must still serve a new client.
func TestBadInput(t *testing.T) {
	skipIfShort(t)
	t.Parallel()
	c := harness.StartEtcd(t, harness.EtcdOptions{})
	via := heraldOver(t, c)
	direct := dialRaw(t, c.Endpoints()[0])
	through := dialRaw(t, via.endpoints[0])

	for _, tc := range badCases() {
		t.Run(tc.name, func(t *testing.T) {
			want := outcome(t, tc, direct)
			got := outcome(t, tc, through)
			if got != want {
				t.Errorf("%s:\n direct: %s\n %s: %s", tc.name, want, via.name, got)
			}
			wantPrefix := "code " + tc.wantCode.String() + ":"
			if tc.wantCode != codes.OK && !strings.HasPrefix(want, wantPrefix) {
				t.Errorf("etcd itself answered %s; the case expects code %s", want, tc.wantCode)
			}
			stillServes(t, via.endpoints[0])
		})
	}
}

func outcome(t *testing.T, tc badCase, conn *grpc.ClientConn) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	answer, err := tc.run(ctx, conn)
	if err != nil {
		st, _ := status.FromError(err)
		// google.golang.org/protobuf writes "proto:" and a space or a
		// no-break space, chosen per binary (internal/detrand) so that
		// nobody depends on its error text; which one says nothing about
		// the server.
		msg := strings.ReplaceAll(st.Message(), "proto:\u00a0", "proto: ")
		return fmt.Sprintf("code %s: %q", st.Code(), msg)
	}
	return "ok: " + answer
}

func dialRaw(t *testing.T, endpoint string) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.NewClient(hostPort(endpoint), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatalf("dial %s: %v", endpoint, err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// stillServes checks that a new client can write and read through endpoint.
func stillServes(t *testing.T, endpoint string) {
	t.Helper()
	conn := dialRaw(t, endpoint)
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	kv := pb.NewKVClient(conn)
	if _, err := kv.Put(ctx, &pb.PutRequest{Key: []byte("alive"), Value: []byte("yes")}); err != nil {
		t.Fatalf("a new client cannot Put through %s after the bad request: %v", endpoint, err)
	}
	resp, err := kv.Range(ctx, &pb.RangeRequest{Key: []byte("alive")})
	if err != nil || len(resp.Kvs) != 1 {
		t.Fatalf("a new client cannot Range through %s after the bad request: %v %v", endpoint, resp, err)
	}
	conn.Close()
}

// rawCodec sends bytes as they are, whatever the method expects.
type rawCodec struct{}

func (rawCodec) Marshal(v any) ([]byte, error) { return *(v.(*[]byte)), nil }
func (rawCodec) Unmarshal(data []byte, v any) error {
	*(v.(*[]byte)) = append([]byte(nil), data...)
	return nil
}
func (rawCodec) Name() string { return "proto" }

func rawCall(ctx context.Context, conn *grpc.ClientConn, method string, req []byte) (string, error) {
	var resp []byte
	err := conn.Invoke(ctx, method, &req, &resp, grpc.ForceCodec(rawCodec{}))
	return fmt.Sprintf("%d bytes", len(resp)), err
}

func put(ctx context.Context, conn *grpc.ClientConn, req *pb.PutRequest) (string, error) {
	resp, err := pb.NewKVClient(conn).Put(ctx, req)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("put, prev %v", resp.PrevKv), nil
}

func badCases() []badCase {
	const maxRequestBytes = 1536 * 1024 // etcd's default --max-request-bytes
	return []badCase{
		{"put with an unknown lease", codes.NotFound, func(ctx context.Context, conn *grpc.ClientConn) (string, error) {
			return put(ctx, conn, &pb.PutRequest{Key: []byte("k"), Value: []byte("v"), Lease: 0x1234abcd})
		}},
		{"put with an empty key", codes.InvalidArgument, func(ctx context.Context, conn *grpc.ClientConn) (string, error) {
			return put(ctx, conn, &pb.PutRequest{Value: []byte("v")})
		}},
		{"range with an empty key", codes.InvalidArgument, func(ctx context.Context, conn *grpc.ClientConn) (string, error) {
			_, err := pb.NewKVClient(conn).Range(ctx, &pb.RangeRequest{})
			return "range", err
		}},
		{"delete with an empty key", codes.InvalidArgument, func(ctx context.Context, conn *grpc.ClientConn) (string, error) {
			_, err := pb.NewKVClient(conn).DeleteRange(ctx, &pb.DeleteRangeRequest{})
			return "delete", err
		}},
		{"put above max-request-bytes", codes.InvalidArgument, func(ctx context.Context, conn *grpc.ClientConn) (string, error) {
			return put(ctx, conn, &pb.PutRequest{Key: []byte("big"), Value: make([]byte, maxRequestBytes+1024)})
		}},
		{"put above the gRPC message limit", codes.ResourceExhausted, func(ctx context.Context, conn *grpc.ClientConn) (string, error) {
			return put(ctx, conn, &pb.PutRequest{Key: []byte("huge"), Value: make([]byte, 3<<20)})
		}},
		{"delete an inverted range", codes.OK, func(ctx context.Context, conn *grpc.ClientConn) (string, error) {
			if _, err := put(ctx, conn, &pb.PutRequest{Key: []byte("inv/b"), Value: []byte("v")}); err != nil {
				return "", err
			}
			resp, err := pb.NewKVClient(conn).DeleteRange(ctx, &pb.DeleteRangeRequest{Key: []byte("inv/c"), RangeEnd: []byte("inv/a"), PrevKv: true})
			if err != nil {
				return "", err
			}
			return fmt.Sprintf("deleted %d, prev %d", resp.Deleted, len(resp.PrevKvs)), nil
		}},
		{"range an inverted range", codes.OK, func(ctx context.Context, conn *grpc.ClientConn) (string, error) {
			resp, err := pb.NewKVClient(conn).Range(ctx, &pb.RangeRequest{Key: []byte("inv/c"), RangeEnd: []byte("inv/a")})
			if err != nil {
				return "", err
			}
			return fmt.Sprintf("count %d, kvs %d", resp.Count, len(resp.Kvs)), nil
		}},
		{"range at a future revision", codes.OutOfRange, func(ctx context.Context, conn *grpc.ClientConn) (string, error) {
			_, err := pb.NewKVClient(conn).Range(ctx, &pb.RangeRequest{Key: []byte("k"), Revision: 1 << 40})
			return "range", err
		}},
		{"txn with too many operations", codes.InvalidArgument, func(ctx context.Context, conn *grpc.ClientConn) (string, error) {
			var ops []*pb.RequestOp
			for i := range 129 {
				ops = append(ops, &pb.RequestOp{Request: &pb.RequestOp_RequestPut{RequestPut: &pb.PutRequest{Key: fmt.Appendf(nil, "many/%d", i)}}})
			}
			_, err := pb.NewKVClient(conn).Txn(ctx, &pb.TxnRequest{Success: ops})
			return "txn", err
		}},
		{"txn with a duplicate key", codes.InvalidArgument, func(ctx context.Context, conn *grpc.ClientConn) (string, error) {
			op := &pb.RequestOp{Request: &pb.RequestOp_RequestPut{RequestPut: &pb.PutRequest{Key: []byte("dup")}}}
			_, err := pb.NewKVClient(conn).Txn(ctx, &pb.TxnRequest{Success: []*pb.RequestOp{op, op}})
			return "txn", err
		}},
		{"lease grant with a too large TTL", codes.OutOfRange, func(ctx context.Context, conn *grpc.ClientConn) (string, error) {
			_, err := pb.NewLeaseClient(conn).LeaseGrant(ctx, &pb.LeaseGrantRequest{TTL: 1 << 40})
			return "grant", err
		}},
		{"revoke an unknown lease", codes.NotFound, func(ctx context.Context, conn *grpc.ClientConn) (string, error) {
			_, err := pb.NewLeaseClient(conn).LeaseRevoke(ctx, &pb.LeaseRevokeRequest{ID: 0x1234abcd})
			return "revoke", err
		}},
		{"keepalive of an unknown lease", codes.OK, keepAliveUnknown},
		{"cancel an unknown watch id", codes.OK, cancelUnknownWatch},
		{"malformed request bytes", codes.Internal, func(ctx context.Context, conn *grpc.ClientConn) (string, error) {
			return rawCall(ctx, conn, "/etcdserverpb.KV/Put", []byte{0xff, 0xff, 0xff, 0xff})
		}},
		{"truncated request bytes", codes.Internal, func(ctx context.Context, conn *grpc.ClientConn) (string, error) {
			// Field 1 (key), length 10, then only 2 bytes.
			return rawCall(ctx, conn, "/etcdserverpb.KV/Range", []byte{0x0a, 0x0a, 'a', 'b'})
		}},
		{"unknown method", codes.Unimplemented, func(ctx context.Context, conn *grpc.ClientConn) (string, error) {
			return rawCall(ctx, conn, "/etcdserverpb.KV/NoSuchMethod", nil)
		}},
		{"unknown service", codes.Unimplemented, func(ctx context.Context, conn *grpc.ClientConn) (string, error) {
			return rawCall(ctx, conn, "/etcdserverpb.NoSuchService/Range", nil)
		}},
	}
}

// keepAliveUnknown sends a keepalive for a lease that does not exist on a
// LeaseKeepAlive stream and reports the answer.
func keepAliveUnknown(ctx context.Context, conn *grpc.ClientConn) (string, error) {
	stream, err := pb.NewLeaseClient(conn).LeaseKeepAlive(ctx)
	if err != nil {
		return "", err
	}
	defer stream.CloseSend()
	if err := stream.Send(&pb.LeaseKeepAliveRequest{ID: 0x1234abcd}); err != nil {
		return "", err
	}
	resp, err := stream.Recv()
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("id %x ttl %d", resp.ID, resp.TTL), nil
}

// cancelUnknownWatch cancels a watch id that was never created, then creates
// a watch on the same stream: etcd ignores the cancel, so the next response
// is the creation; anything else (a cancel response, an error, a closed
// stream) shows.
func cancelUnknownWatch(ctx context.Context, conn *grpc.ClientConn) (string, error) {
	stream, err := pb.NewWatchClient(conn).Watch(ctx)
	if err != nil {
		return "", err
	}
	defer stream.CloseSend()
	cancelReq := &pb.WatchRequest{RequestUnion: &pb.WatchRequest_CancelRequest{CancelRequest: &pb.WatchCancelRequest{WatchId: 999}}}
	if err := stream.Send(cancelReq); err != nil {
		return "", err
	}
	createReq := &pb.WatchRequest{RequestUnion: &pb.WatchRequest_CreateRequest{CreateRequest: &pb.WatchCreateRequest{Key: []byte("w")}}}
	if err := stream.Send(createReq); err != nil {
		return "", err
	}
	var answers []string
	for {
		resp, err := recvWithin(stream, 5*time.Second)
		if err != nil {
			return fmt.Sprintf("%v then error", answers), err
		}
		answers = append(answers, fmt.Sprintf("created=%v canceled=%v id=%d reason=%q", resp.Created, resp.Canceled, resp.WatchId, resp.CancelReason))
		if resp.Created {
			return fmt.Sprint(answers), nil
		}
	}
}

var errNoAnswer = errors.New("no answer")

func recvWithin(stream pb.Watch_WatchClient, d time.Duration) (*pb.WatchResponse, error) {
	type result struct {
		resp *pb.WatchResponse
		err  error
	}
	ch := make(chan result, 1)
	go func() {
		resp, err := stream.Recv()
		ch <- result{resp, err}
	}()
	select {
	case r := <-ch:
		if errors.Is(r.err, io.EOF) {
			return nil, r.err
		}
		return r.resp, r.err
	case <-time.After(d):
		return nil, errNoAnswer
	}
}

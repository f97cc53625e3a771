package proxy

import (
	"context"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/heraldproj/herald/upstream"
)

// upstreamHealth is the member's health as etcd's /health?serializable=false
// judges it, asked without holding a call that only a quorum can answer:
// the member's own Status says whether it follows a leader (a member cut
// off from its quorum drops its leader within an election timeout: raft's
// pre-vote and check-quorum). A linearizable read would say the same a
// little sooner, but it hangs while the quorum is gone, and a hung call cut
// short by herald's shutdown or its timeout makes etcd log a plain-text
// gRPC warning ("failed to write status: transport is closing") on a
// TLS client port. Alarms are not counted: reads still work under NOSPACE,
// and a client needs herald then to disarm it.
//
// Status needs an auth token when auth is on; herald's probe has none, so it
// then falls back to the linearizable read.
//
// An upstream without etcd's Maintenance service (no upstream.Forwarder)
// is probed with the linearizable read alone.
func upstreamHealth(up upstream.Upstream) func(context.Context) error {
	var m pb.MaintenanceClient
	if fw, ok := up.(upstream.Forwarder); ok {
		m = pb.NewMaintenanceClient(fw.Forward())
	}
	return func(ctx context.Context) error {
		if m == nil {
			return linearizableProbe(ctx, up)
		}
		st, err := m.Status(ctx, &pb.StatusRequest{})
		switch {
		case err == nil && st.Leader == 0:
			return rpctypes.ErrGRPCNoLeader
		case err == nil:
			return nil
		case !refusedForWantOfAuth(err):
			return err
		}
		return linearizableProbe(ctx, up)
	}
}

// linearizableProbe reads the key "health" linearizably. etcd waits for
// the read index before it checks permissions, so a refusal proves a
// quorum answered.
func linearizableProbe(ctx context.Context, kv upstream.KV) error {
	if _, err := kv.Range(ctx, &pb.RangeRequest{Key: []byte("health")}); err != nil && !refusedForWantOfAuth(err) {
		return err
	}
	return nil
}

// refusedForWantOfAuth: etcd with auth on refused a call that carried no
// valid token (user name is empty, invalid token, permission denied).
func refusedForWantOfAuth(err error) bool {
	switch status.Code(err) {
	case codes.InvalidArgument, codes.Unauthenticated, codes.PermissionDenied:
		return true
	}
	return false
}

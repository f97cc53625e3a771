package hub

import (
	"context"
	"errors"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"

	"github.com/heraldproj/herald/upstream"
)

// mustPermit reports whether the creates of a client stream are checked
// against etcd's permissions: a stream with an auth token always is; a
// stream without one is when the hub was told that etcd may have auth on
// (Config.CheckPermissions), since etcd then refuses it ("user name is
// empty").
func (h *Hub) mustPermit(ctx context.Context) bool {
	return h.checkAll || upstream.HasToken(ctx)
}

// ChecksPermissions reports Config.CheckPermissions: etcd may have auth
// on, so what the cache answers without asking etcd (RangeLocal) must not
// be answered to clients.
func (h *Hub) ChecksPermissions() bool { return h.checkAll }

// permit checks, as etcd's watch server does at each create
// (isWatchPermitted: read permission on the watch's range), whether the
// client may watch creq's range: a count-only serializable Range of that
// range with the client's own metadata, which etcd checks against the
// same permission (IsRangePermitted). It returns nil when the client may,
// etcd's answer to the create when it may not, or the error that kept it
// from asking (the stream then ends with it, as a broken etcd connection
// ends it, and the client re-creates its watches).
func (h *Hub) permit(ctx context.Context, creq *pb.WatchCreateRequest) (*pb.WatchResponse, error) {
	key := creq.Key
	if len(key) == 0 {
		key = []byte{0} // etcd's watch server: the smallest key
	}
	_, err := h.kv.Range(upstream.Outgoing(ctx), &pb.RangeRequest{Key: key, RangeEnd: creq.RangeEnd, CountOnly: true, Serializable: true})
	if err == nil {
		return nil, nil
	}
	reason, refused := watchRefusal(err)
	if !refused {
		return nil, err
	}
	h.mu.Lock()
	header := h.cache.Header()
	h.mu.Unlock()
	// etcd's answer, field for field: created and cancelled at once, with
	// no watch ID.
	return &pb.WatchResponse{Header: header, WatchId: invalidWatchID, Created: true, Canceled: true, CancelReason: reason}, nil
}

// watchRefusal maps the error etcd answered a permission check with to
// the cancel reason etcd's watch server gives a refused create, and
// reports whether it is a refusal at all.
func watchRefusal(err error) (string, bool) {
	err = rpctypes.Error(err)
	for _, e := range []struct {
		err    error
		reason error
	}{
		{rpctypes.ErrInvalidAuthToken, rpctypes.ErrGRPCInvalidAuthToken},
		{rpctypes.ErrAuthOldRevision, rpctypes.ErrGRPCAuthOldRevision},
		{rpctypes.ErrUserEmpty, rpctypes.ErrGRPCUserEmpty},
		{rpctypes.ErrPermissionDenied, rpctypes.ErrGRPCPermissionDenied},
	} {
		if errors.Is(err, e.err) {
			return e.reason.Error(), true
		}
	}
	return "", false
}

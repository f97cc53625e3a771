package proxy

import (
	"context"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"google.golang.org/grpc/metadata"
)

// forwardedMetadata are the request metadata keys that etcd reads. They are
// copied to the upstream call so that etcd's auth (token), leader checks
// (hasleader) and version gates (client-api-version) hold through herald.
var forwardedMetadata = []string{
	rpctypes.TokenFieldNameGRPC,
	rpctypes.MetadataRequireLeaderKey,
	rpctypes.MetadataClientAPIVersionKey,
}

// outgoing returns ctx carrying, as outgoing metadata, the forwarded keys of
// the client's incoming metadata.
func outgoing(ctx context.Context) context.Context {
	in, ok := metadata.FromIncomingContext(ctx)
	if !ok {
		return ctx
	}
	var out metadata.MD
	for _, k := range forwardedMetadata {
		if v := in.Get(k); len(v) > 0 {
			if out == nil {
				out = metadata.MD{}
			}
			out[k] = v
		}
	}
	if out == nil {
		return ctx
	}
	return metadata.NewOutgoingContext(ctx, out)
}

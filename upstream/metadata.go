package upstream

import (
	"context"
	"errors"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"google.golang.org/grpc/metadata"
)

// ForwardedMetadata are the request metadata keys that etcd reads. They are
// copied to the upstream call so that etcd's auth (token), leader checks
// (hasleader) and version gates (client-api-version) hold through herald.
var ForwardedMetadata = []string{
	rpctypes.TokenFieldNameGRPC,
	rpctypes.MetadataRequireLeaderKey,
	rpctypes.MetadataClientAPIVersionKey,
}

// Outgoing returns ctx carrying, as outgoing metadata, the forwarded keys
// of the client's incoming metadata: a client's call passed on to etcd.
func Outgoing(ctx context.Context) context.Context {
	var out metadata.MD
	for _, k := range ForwardedMetadata {
		// Read key by key: FromIncomingContext would copy the whole map on
		// every request.
		if v := metadata.ValueFromIncomingContext(ctx, k); len(v) > 0 {
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

// Internal marks herald's own upstream calls: no client token.
func Internal(ctx context.Context) context.Context {
	return metadata.NewOutgoingContext(ctx, metadata.MD{})
}

// heraldKey marks a context made by AsHerald.
type heraldKey struct{}

// AsHerald marks herald's own calls that act as herald's etcd user: the
// fan-out's feed, its catch-ups and its compaction lookups. Like Internal
// they carry no client metadata; an adapter with credentials
// (upstream/etcd's Config.User) authenticates them as herald. A call made
// for a client must never be marked: it would run with herald's
// permissions instead of the client's.
func AsHerald(ctx context.Context) context.Context {
	return context.WithValue(Internal(ctx), heraldKey{}, true)
}

// AsHeraldFor is AsHerald for a call herald makes for a client once etcd
// has judged the client's own rights (lease/offload's Permit): it keeps
// the client's leader and version metadata, not its token.
func AsHeraldFor(client context.Context) context.Context {
	ctx := Outgoing(client)
	if md, ok := metadata.FromOutgoingContext(ctx); ok && len(md.Get(rpctypes.TokenFieldNameGRPC)) > 0 {
		md = md.Copy()
		md.Delete(rpctypes.TokenFieldNameGRPC)
		ctx = metadata.NewOutgoingContext(ctx, md)
	}
	return context.WithValue(ctx, heraldKey{}, true)
}

// IsHerald reports whether ctx, or a context it derives from, was made by
// AsHerald.
func IsHerald(ctx context.Context) bool {
	marked, _ := ctx.Value(heraldKey{}).(bool)
	return marked
}

// TokenRefused reports whether etcd refused a call for its token alone:
// invalid (expired or unknown) or older than the auth store. Another token
// may pass: herald authenticates again for its own calls, and passes the
// refusal on for a client's. (Without any token, etcd refuses with
// ErrUserEmpty instead.)
func TokenRefused(err error) bool {
	err = rpctypes.Error(err)
	return errors.Is(err, rpctypes.ErrInvalidAuthToken) || errors.Is(err, rpctypes.ErrAuthOldRevision)
}

// HasToken reports whether a client's call (its incoming metadata)
// carries an auth token.
func HasToken(ctx context.Context) bool {
	return len(metadata.ValueFromIncomingContext(ctx, rpctypes.TokenFieldNameGRPC)) > 0
}

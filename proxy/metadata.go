package proxy

import (
	"context"

	"github.com/heraldproj/herald/upstream"
)

// outgoing returns ctx carrying the client metadata that etcd reads, for
// a call passed on to etcd (upstream.Outgoing).
func outgoing(ctx context.Context) context.Context { return upstream.Outgoing(ctx) }

// internalCtx marks herald's own upstream calls: no client token
// (upstream.Internal).
func internalCtx(ctx context.Context) context.Context { return upstream.Internal(ctx) }

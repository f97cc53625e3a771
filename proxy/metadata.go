package proxy

import (
	"context"

	"github.com/heraldproj/herald/upstream"
)

// outgoing returns ctx carrying the client metadata that etcd reads, for
// a call passed on to etcd (upstream.Outgoing).
func outgoing(ctx context.Context) context.Context { return upstream.Outgoing(ctx) }

// asHerald marks herald's own upstream calls, which the offloader makes as
// herald's etcd user: never with the client's token (upstream.AsHerald).
func asHerald(ctx context.Context) context.Context { return upstream.AsHerald(ctx) }

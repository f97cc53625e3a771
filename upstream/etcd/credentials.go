package etcd

import (
	"context"
	"errors"
	"sync"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/heraldproj/herald/upstream"
)

// credentials are herald's own etcd user. A token is fetched with
// Authenticate on first use and kept until etcd says it no longer holds
// (expired, or issued before a change to the auth store), as clientv3
// keeps its own.
type credentials struct {
	name, password string

	mu      sync.Mutex // serialises Authenticate calls and guards the fields below
	token   string
	fetched bool // token holds what etcd last answered ("" with auth off)
}

// get returns the token for herald's calls on conn: "" when etcd has auth
// off, or the error etcd answered Authenticate with.
func (c *credentials) get(ctx context.Context, conn grpc.ClientConnInterface) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fetched {
		return c.token, nil
	}
	resp, err := pb.NewAuthClient(conn).Authenticate(upstream.Internal(ctx), &pb.AuthenticateRequest{Name: c.name, Password: c.password})
	switch {
	case errors.Is(rpctypes.Error(err), rpctypes.ErrAuthNotEnabled):
		c.token = ""
	case err != nil:
		return "", err
	default:
		c.token = resp.Token
	}
	c.fetched = true
	return c.token, nil
}

// drop forgets token, if it is still the one held, so that the next call
// authenticates again.
func (c *credentials) drop(token string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fetched && c.token == token {
		c.fetched, c.token = false, ""
	}
}

// staleTokenErrors are etcd's refusals of a call for its token alone:
// expired or unknown, older than the auth store, or missing since auth
// was turned on. Another token may pass.
var staleTokenErrors = []error{rpctypes.ErrGRPCInvalidAuthToken, rpctypes.ErrGRPCAuthOldRevision, rpctypes.ErrGRPCUserEmpty}

// staleToken reports whether etcd refused a call for its token.
func staleToken(err error) bool {
	err = rpctypes.Error(err)
	for _, e := range staleTokenErrors {
		if errors.Is(err, rpctypes.Error(e)) {
			return true
		}
	}
	return false
}

// staleTokenReason is staleToken for a watch's cancel reason.
func staleTokenReason(reason string) bool {
	for _, e := range staleTokenErrors {
		if reason == e.Error() {
			return true
		}
	}
	return false
}

// withToken returns ctx with token as its outgoing auth metadata (none
// for "").
func withToken(ctx context.Context, token string) context.Context {
	md, _ := metadata.FromOutgoingContext(ctx)
	md = md.Copy()
	md.Delete(rpctypes.TokenFieldNameGRPC)
	if token != "" {
		md.Set(rpctypes.TokenFieldNameGRPC, token)
	}
	return metadata.NewOutgoingContext(ctx, md)
}

// authPath is a path to etcd on which the calls marked upstream.AsHerald
// act as herald's etcd user: with its token (creds), or else by the CN of
// the client certificate the connection presents. Every other call (a
// client's, with its own metadata, or herald's Internal ones) goes as it
// is, marked with hideCert as a proxy's, whose certificate etcd must not
// take for its user.
type authPath struct {
	grpc.ClientConnInterface
	creds    *credentials
	hideCert bool
}

// viaProxy is the metadata by which etcd knows a request that a proxy
// (its gRPC gateway) passes on with its own client certificate: etcd then
// never takes the certificate's CN as the request's user
// (AuthInfoFromTLS). herald marks its clients' calls with it.
var viaProxy = metadata.Pairs("grpcgateway-accept", "herald")

// client marks a client's call when herald presents a certificate.
func (p authPath) client(ctx context.Context) context.Context {
	if !p.hideCert {
		return ctx
	}
	md, _ := metadata.FromOutgoingContext(ctx)
	return metadata.NewOutgoingContext(ctx, metadata.Join(md, viaProxy))
}

// Invoke runs a unary call; one refused for a stale token is retried once
// with a fresh one.
func (p authPath) Invoke(ctx context.Context, method string, args, reply any, opts ...grpc.CallOption) error {
	if !upstream.IsHerald(ctx) {
		return p.ClientConnInterface.Invoke(p.client(ctx), method, args, reply, opts...)
	}
	if p.creds == nil {
		return p.ClientConnInterface.Invoke(ctx, method, args, reply, opts...)
	}
	for attempt := 0; ; attempt++ {
		token, err := p.creds.get(ctx, p.ClientConnInterface)
		if err != nil {
			return err
		}
		err = p.ClientConnInterface.Invoke(withToken(ctx, token), method, args, reply, opts...)
		if attempt > 0 || !staleToken(err) {
			return err
		}
		p.creds.drop(token)
	}
}

// NewStream opens a stream with herald's token, checked first: etcd looks
// at a stream's token only at its first message (a watch create, a
// keepalive), too late to try another, and a simple token expires when
// unused for etcd's --auth-token-ttl, as herald's may while it only
// watches. A stream that etcd ends, or whose watch it cancels, for a stale
// token drops it: the next stream authenticates again.
func (p authPath) NewStream(ctx context.Context, desc *grpc.StreamDesc, method string, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	if !upstream.IsHerald(ctx) {
		return p.ClientConnInterface.NewStream(p.client(ctx), desc, method, opts...)
	}
	if p.creds == nil {
		return p.ClientConnInterface.NewStream(ctx, desc, method, opts...)
	}
	token, err := p.freshToken(ctx)
	if err != nil {
		return nil, err
	}
	s, err := p.ClientConnInterface.NewStream(withToken(ctx, token), desc, method, opts...)
	if err != nil {
		if staleToken(err) {
			p.creds.drop(token)
		}
		return nil, err
	}
	return &authStream{ClientStream: s, creds: p.creds, token: token}, nil
}

// tokenCheck is a read that etcd refuses for a stale token before
// anything else; any other answer (herald may not read the key) means the
// token holds. Serializable: the member answers it alone.
var tokenCheck = &pb.RangeRequest{Key: []byte{0}, CountOnly: true, Serializable: true}

// freshToken is herald's token, checked with etcd (tokenCheck) and fetched
// again if etcd refuses it.
func (p authPath) freshToken(ctx context.Context) (string, error) {
	for attempt := 0; ; attempt++ {
		token, err := p.creds.get(ctx, p.ClientConnInterface)
		if err != nil || token == "" {
			return token, err
		}
		err = p.ClientConnInterface.Invoke(withToken(ctx, token), "/etcdserverpb.KV/Range", tokenCheck, &pb.RangeResponse{})
		if attempt > 0 || !staleToken(err) {
			return token, nil
		}
		p.creds.drop(token)
	}
}

// authStream watches a herald stream's answers for a stale token.
type authStream struct {
	grpc.ClientStream
	creds *credentials
	token string
}

func (s *authStream) RecvMsg(m any) error {
	err := s.ClientStream.RecvMsg(m)
	if err != nil {
		if staleToken(err) {
			s.creds.drop(s.token)
		}
		return err
	}
	if wr, ok := m.(*pb.WatchResponse); ok && wr.Canceled && staleTokenReason(wr.CancelReason) {
		s.creds.drop(s.token)
	}
	return nil
}

package relay

import (
	"fmt"
	"log/slog"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// MethodPrefix is put before a call's full method name to relay it:
// "/etcdserverpb.KV/Range" is relayed as "/herald.relay/etcdserverpb.KV/Range".
// No service of that name exists, so gRPC hands such calls to the server's
// unknown-service handler.
const MethodPrefix = "/herald.relay"

// HandlerOption adjusts a Handler.
type HandlerOption func(*handler)

// WithServices gives the Handler the services registered on its server
// (pass the server's GetServiceInfo), so that a call to an unknown method
// of a known service is refused with gRPC's own message for that case
// ("unknown method M for service S") instead of "unknown service S".
// gRPC hands both cases to the unknown-service handler without saying
// which one it is.
func WithServices(services func() map[string]grpc.ServiceInfo) HandlerOption {
	return func(h *handler) { h.services = services }
}

type handler struct {
	upstream grpc.ClientConnInterface
	token    string
	log      *slog.Logger
	services func() map[string]grpc.ServiceInfo
}

// Handler serves relayed calls on a peer. Register it with
// grpc.UnknownServiceHandler on herald's client-facing server. upstream is
// the peer's own direct connection to etcd, never a Switch: a relayed call
// makes one hop at most. token is Token(fleet key).
//
// A call to MethodPrefix + method with the right token in MetadataKey is
// opened as method on upstream, with the caller's metadata (less the token
// and gRPC's own headers), and its frames are pumped both ways until either
// side ends: a half-close is passed on, the upstream's header, trailer and
// status come back unchanged, and the upstream call is cancelled when the
// caller goes away. A relayed call with a missing or wrong token is refused
// with codes.Unauthenticated; any other method with codes.Unimplemented and
// the message gRPC gives without an unknown-service handler.
func Handler(upstream grpc.ClientConnInterface, token string, log *slog.Logger, opts ...HandlerOption) grpc.StreamHandler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	h := &handler{upstream: upstream, token: token, log: log}
	for _, o := range opts {
		o(h)
	}
	return h.serve
}

func (h *handler) serve(_ any, down grpc.ServerStream) error {
	full, ok := grpc.MethodFromServerStream(down)
	if !ok {
		return status.Error(codes.Internal, "relay: stream has no method")
	}
	method, ok := relayedMethod(full)
	if !ok {
		return h.unknown(full)
	}
	md, _ := metadata.FromIncomingContext(down.Context())
	if !tokenMatches(md.Get(MetadataKey), h.token) {
		// Debug: anyone who reaches the client port can make this happen.
		// A fleet whose members disagree on the key shows it on the
		// relaying side, where every relayed call fails with this code.
		h.log.Debug("relay: refused a relayed call without the fleet's relay token", "method", method)
		return status.Error(codes.Unauthenticated, "relay: missing or wrong relay token")
	}
	if !relayContentType(md.Get("content-type")) {
		return status.Errorf(codes.InvalidArgument, "relay: a relayed call must use content-subtype %q", CodecName)
	}
	return pump(down, h.upstream, method, upstreamMetadata(md))
}

// relayedMethod strips MethodPrefix from a full method name; ok is false
// unless what remains is itself a full method name ("/service/method").
func relayedMethod(full string) (method string, ok bool) {
	rest, ok := strings.CutPrefix(full, MethodPrefix+"/")
	if !ok {
		return "", false
	}
	pos := strings.LastIndex(rest, "/")
	if pos <= 0 || pos == len(rest)-1 {
		return "", false
	}
	return "/" + rest, true
}

// unknown refuses a method that is not relayed exactly as grpc-go's server
// refuses it when it has no unknown-service handler, so that herald's
// answer to unknown methods does not change with the relay.
func (h *handler) unknown(full string) error {
	sm := strings.TrimPrefix(full, "/")
	pos := strings.LastIndex(sm, "/")
	if pos < 0 {
		return status.Errorf(codes.Unimplemented, "malformed method name: %q", full)
	}
	service, method := sm[:pos], sm[pos+1:]
	if h.services != nil {
		if _, known := h.services()[service]; known {
			return status.Error(codes.Unimplemented, fmt.Sprintf("unknown method %v for service %v", method, service))
		}
	}
	return status.Error(codes.Unimplemented, fmt.Sprintf("unknown service %v", service))
}

// relayContentType reports whether the caller sent its frames under
// CodecName; under any other codec the server could not hand them over as
// Frames.
func relayContentType(values []string) bool {
	if len(values) != 1 {
		return false
	}
	rest, ok := strings.CutPrefix(strings.ToLower(values[0]), "application/grpc")
	if !ok || rest == "" {
		return false
	}
	return (rest[0] == '+' || rest[0] == ';') && rest[1:] == CodecName
}

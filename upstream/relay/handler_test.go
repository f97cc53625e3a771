package relay

import (
	"context"
	"errors"
	"io"
	"math"
	"net"
	"strings"
	"sync/atomic"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/heraldproj/herald/tests/harness"
)

// echoServer is a real gRPC server behind the peer, with behaviours etcd
// does not show: custom header and trailer metadata, status details,
// trailers-only answers and messages larger than gRPC's default limit.
type echoServer struct {
	calls atomic.Int64
	seen  chan metadata.MD // each call's incoming metadata
}

func (e *echoServer) handle(_ any, s grpc.ServerStream) error {
	e.calls.Add(1)
	md, _ := metadata.FromIncomingContext(s.Context())
	select {
	case e.seen <- md:
	default:
	}
	method, _ := grpc.MethodFromServerStream(s)
	switch method {
	case "/test.Echo/Fail":
		s.SetTrailer(metadata.Pairs("x-trailer", "t-fail"))
		return status.Error(codes.PermissionDenied, "test: not for you")
	case "/test.Echo/Chat":
		if err := s.SendHeader(metadata.Pairs("x-header", "h1", "x-header", "h2")); err != nil {
			return err
		}
		for {
			in := new(wrapperspb.StringValue)
			err := s.RecvMsg(in)
			if err == io.EOF {
				break
			}
			if err != nil {
				return err
			}
			if err := s.SendMsg(wrapperspb.String("echo:" + in.Value)); err != nil {
				return err
			}
		}
		s.SetTrailer(metadata.Pairs("x-trailer", "t-chat"))
		st, err := status.New(codes.Aborted, "test: chat over").WithDetails(wrapperspb.String("a detail"))
		if err != nil {
			return err
		}
		return st.Err()
	case "/test.Echo/One":
		in := new(wrapperspb.StringValue)
		if err := s.RecvMsg(in); err != nil {
			return err
		}
		return s.SendMsg(wrapperspb.String("only:" + in.Value))
	case "/test.Echo/Big":
		in := new(wrapperspb.BytesValue)
		if err := s.RecvMsg(in); err != nil {
			return err
		}
		return s.SendMsg(wrapperspb.Bytes(append(in.Value, in.Value...)))
	}
	return status.Error(codes.Unimplemented, "test: no such method")
}

// echoFixture is a relaying Switch (its direct path a closed port, its
// probe always failing) and a peer whose upstream is an echoServer.
type echoFixture struct {
	echo     *echoServer
	echoAddr string
	peer     *grpc.Server
	peerAddr string
	sw       *Switch
}

func newEchoFixture(t *testing.T, token string) *echoFixture {
	t.Helper()
	harness.VerifyNoLeaks(t, harness.EmbeddedEtcdLifetime...)
	f := &echoFixture{echo: &echoServer{seen: make(chan metadata.MD, 1)}}
	f.echoAddr = startServer(t, grpc.NewServer(grpc.UnknownServiceHandler(f.echo.handle)))
	up := dialWith(t, f.echoAddr, grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(math.MaxInt32)))
	var peer *grpc.Server
	peer = grpc.NewServer(grpc.UnknownServiceHandler(Handler(up, testToken, testLogger(t),
		WithServices(func() map[string]grpc.ServiceInfo { return peer.GetServiceInfo() }))))
	healthpb.RegisterHealthServer(peer, health.NewServer())
	f.peer, f.peerAddr = peer, startServer(t, peer)

	clock := newStepClock()
	sw, err := New(Config{
		Direct: dial(t, closedAddr(t)),
		Peers:  func() []string { return []string{"http://" + f.peerAddr} },
		Token:  token,
		Probe:  func(context.Context) error { return errors.New("test: the direct path is down") },
		Clock:  clock,
		Logger: testLogger(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sw.Close() })
	f.sw = sw
	clock.probe(t)
	clock.probe(t)
	if !sw.Relaying() {
		t.Fatal("not relaying after two failed probes")
	}
	return f
}

func dialWith(t *testing.T, addr string, opts ...grpc.DialOption) *grpc.ClientConn {
	t.Helper()
	c, err := grpc.NewClient(addr, append([]grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// closedAddr is a 127.0.0.1 address where nothing listens.
func closedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

var chatDesc = &grpc.StreamDesc{ServerStreams: true, ClientStreams: true}

// TestRelayPassesMetadataAndStatus: the caller's metadata reaches the
// upstream without the relay token and gRPC's headers of the first hop;
// the upstream's header, messages, trailer and status (with details) come
// back unchanged.
func TestRelayPassesMetadataAndStatus(t *testing.T) {
	f := newEchoFixture(t, testToken)
	ctx := metadata.AppendToOutgoingContext(harness.Context(t, waitLimit), "x-client", "c1", "hasleader", "true")
	s, err := f.sw.NewStream(ctx, chatDesc, "/test.Echo/Chat")
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"one", "two"} {
		if err := s.SendMsg(wrapperspb.String(v)); err != nil {
			t.Fatal(err)
		}
		got := new(wrapperspb.StringValue)
		if err := s.RecvMsg(got); err != nil || got.Value != "echo:"+v {
			t.Fatalf("echo of %q: %v %v", v, got, err)
		}
	}
	hdr, err := s.Header()
	if err != nil || strings.Join(hdr.Get("x-header"), ",") != "h1,h2" {
		t.Fatalf("header %v %v", hdr, err)
	}
	if err := s.CloseSend(); err != nil {
		t.Fatal(err)
	}
	err = s.RecvMsg(new(wrapperspb.StringValue))
	st := status.Convert(err)
	if st.Code() != codes.Aborted || st.Message() != "test: chat over" || len(st.Details()) != 1 ||
		!proto.Equal(st.Details()[0].(proto.Message), wrapperspb.String("a detail")) {
		t.Fatalf("status %v, details %v", st, st.Details())
	}
	if tr := s.Trailer(); strings.Join(tr.Get("x-trailer"), ",") != "t-chat" {
		t.Fatalf("trailer %v", tr)
	}

	md := <-f.echo.seen
	if got := md.Get("x-client"); len(got) != 1 || got[0] != "c1" || md.Get("hasleader")[0] != "true" {
		t.Errorf("upstream got caller metadata %v", md)
	}
	if got := md.Get(MetadataKey); len(got) != 0 {
		t.Errorf("the relay token reached the upstream: %v", md)
	}
	if got := md.Get(":authority"); len(got) != 1 || got[0] != f.echoAddr {
		t.Errorf("upstream :authority %v, want %s", got, f.echoAddr)
	}
	if got := md.Get("content-type"); len(got) != 1 || got[0] != "application/grpc+proto" {
		t.Errorf("upstream content-type %v, want an ordinary protobuf call", got)
	}
}

// TestRelayPassesTrailersOnly: an upstream that refuses at once (no header
// frame) is refused the same way through the relay.
func TestRelayPassesTrailersOnly(t *testing.T) {
	f := newEchoFixture(t, testToken)
	var hdr, tr metadata.MD
	err := f.sw.Invoke(harness.Context(t, waitLimit), "/test.Echo/Fail", wrapperspb.String("x"), new(wrapperspb.StringValue), grpc.Header(&hdr), grpc.Trailer(&tr))
	if st := status.Convert(err); st.Code() != codes.PermissionDenied || st.Message() != "test: not for you" {
		t.Fatalf("status %v", err)
	}
	if len(hdr) != 0 {
		t.Errorf("header %v, want none", hdr)
	}
	if got := tr.Get("x-trailer"); len(got) != 1 || got[0] != "t-fail" {
		t.Errorf("trailer %v", tr)
	}
}

// TestUpstreamEndsFirst: when the upstream ends a stream while the caller
// is still open, the caller gets the upstream's end, and nothing of the
// relay is left behind (harness.VerifyNoLeaks).
func TestUpstreamEndsFirst(t *testing.T) {
	f := newEchoFixture(t, testToken)
	ctx := harness.Context(t, waitLimit)

	s, err := f.sw.NewStream(ctx, chatDesc, "/test.Echo/One")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SendMsg(wrapperspb.String("a")); err != nil {
		t.Fatal(err)
	}
	got := new(wrapperspb.StringValue)
	if err := s.RecvMsg(got); err != nil || got.Value != "only:a" {
		t.Fatalf("answer %v %v", got, err)
	}
	if err := s.RecvMsg(got); err != io.EOF {
		t.Fatalf("after the upstream ended: %v, want io.EOF", err)
	}

	s, err = f.sw.NewStream(ctx, chatDesc, "/test.Echo/Fail")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.RecvMsg(got); status.Code(err) != codes.PermissionDenied {
		t.Fatalf("refused stream: %v", err)
	}
}

// TestRelayCarriesLargeMessages: answers above gRPC's default 4 MiB
// receive limit cross the relay, as they come from etcd directly.
func TestRelayCarriesLargeMessages(t *testing.T) {
	f := newEchoFixture(t, testToken)
	in := make([]byte, 3<<20)
	for i := range in {
		in[i] = byte(i * 7)
	}
	out := new(wrapperspb.BytesValue)
	if err := f.sw.Invoke(harness.Context(t, waitLimit), "/test.Echo/Big", wrapperspb.Bytes(in), out); err != nil {
		t.Fatal(err)
	}
	if len(out.Value) != 2*len(in) || out.Value[len(in)+12345] != in[12345] {
		t.Fatalf("got %d bytes back", len(out.Value))
	}
}

// TestRelayRefusesWithoutTheToken: a relayed call without the fleet's token
// never reaches the upstream.
func TestRelayRefusesWithoutTheToken(t *testing.T) {
	f := newEchoFixture(t, Token([]byte("another fleet")))
	ctx := harness.Context(t, waitLimit)
	err := f.sw.Invoke(ctx, "/test.Echo/Fail", wrapperspb.String("x"), new(wrapperspb.StringValue))
	if status.Code(err) != codes.Unauthenticated {
		t.Fatalf("switch with a wrong token: %v", err)
	}

	conn := dialWith(t, f.peerAddr)
	call := func(ctx context.Context, subtype string) error {
		return conn.Invoke(ctx, MethodPrefix+"/test.Echo/Fail", wrapperspb.String("x"), new(wrapperspb.StringValue), grpc.CallContentSubtype(subtype))
	}
	if err := call(ctx, CodecName); status.Code(err) != codes.Unauthenticated {
		t.Errorf("no token: %v", err)
	}
	if err := call(metadata.AppendToOutgoingContext(ctx, MetadataKey, Token([]byte("x"))), CodecName); status.Code(err) != codes.Unauthenticated {
		t.Errorf("wrong token: %v", err)
	}
	if err := call(metadata.AppendToOutgoingContext(ctx, MetadataKey, testToken, MetadataKey, testToken), CodecName); status.Code(err) != codes.Unauthenticated {
		t.Errorf("token twice: %v", err)
	}
	if err := call(metadata.AppendToOutgoingContext(ctx, MetadataKey, testToken), "proto"); status.Code(err) != codes.InvalidArgument {
		t.Errorf("right token, wrong codec: %v", err)
	}
	if n := f.echo.calls.Load(); n != 0 {
		t.Fatalf("%d refused calls reached the upstream", n)
	}
	if err := call(metadata.AppendToOutgoingContext(ctx, MetadataKey, testToken), CodecName); status.Code(err) != codes.PermissionDenied {
		t.Fatalf("right token: %v, want the upstream's answer", err)
	}
}

// TestUnknownMethodsAnswerAsWithoutRelay: the relay handler leaves gRPC's
// answer to unknown services and methods as it was.
func TestUnknownMethodsAnswerAsWithoutRelay(t *testing.T) {
	f := newEchoFixture(t, testToken)
	plain := grpc.NewServer()
	healthpb.RegisterHealthServer(plain, health.NewServer())
	plainConn, peerConn := dialWith(t, startServer(t, plain)), dialWith(t, f.peerAddr)
	ctx := metadata.AppendToOutgoingContext(harness.Context(t, waitLimit), MetadataKey, testToken)
	for _, method := range []string{
		"/nope.Service/Method",
		"/grpc.health.v1.Health/Nope",
		"/herald.relay/nothing",
		"/herald.relay/etcdserverpb.KV/",
		"/herald.relayed/etcdserverpb.KV/Range",
		"/etcdserverpb.KV/Range",
	} {
		want := status.Convert(plainConn.Invoke(ctx, method, wrapperspb.String("x"), new(wrapperspb.StringValue)))
		got := status.Convert(peerConn.Invoke(ctx, method, wrapperspb.String("x"), new(wrapperspb.StringValue)))
		if want.Code() != codes.Unimplemented || !proto.Equal(got.Proto(), want.Proto()) {
			t.Errorf("%s: relay server %v, plain server %v", method, got.Proto(), want.Proto())
		}
	}
	if n := f.echo.calls.Load(); n != 0 {
		t.Fatalf("%d unknown calls reached the upstream", n)
	}
}

func TestRelayedMethod(t *testing.T) {
	for full, want := range map[string]string{
		"/herald.relay/etcdserverpb.KV/Range":  "/etcdserverpb.KV/Range",
		"/herald.relay/a.b.C/D":                "/a.b.C/D",
		"/herald.relay/x":                      "",
		"/herald.relay//Range":                 "",
		"/herald.relay/etcdserverpb.KV/":       "",
		"/etcdserverpb.KV/Range":               "",
		"/herald.relayx/etcdserverpb.KV/Range": "",
	} {
		got, ok := relayedMethod(full)
		if got != want || ok != (want != "") {
			t.Errorf("%s: %q %v, want %q", full, got, ok, want)
		}
	}
}

func TestUpstreamMetadata(t *testing.T) {
	in := metadata.MD{
		":authority": {"peer:2379"}, "content-type": {"application/grpc+herald-relay"}, "user-agent": {"grpc-go"},
		"te": {"trailers"}, "grpc-accept-encoding": {"gzip"}, MetadataKey: {testToken},
		"token": {"etcd auth token"}, "hasleader": {"true"}, "x-bin": {"\x00"},
	}
	got := upstreamMetadata(in)
	want := metadata.MD{"token": {"etcd auth token"}, "hasleader": {"true"}, "x-bin": {"\x00"}}
	if !equalMD(got, want) {
		t.Fatalf("%v, want %v", got, want)
	}
}

package zookeeper

import (
	"context"
	"errors"
	"io"
	"testing"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// TestWatchStreamEnds: a stream ends with its context (codes.Canceled, and
// a request after it gets io.EOF, as gRPC's Send), with the Client
// (codes.Canceled), or, after CloseSend, with the Client and io.EOF; until
// then its watches run. A closed Client opens no stream.
func TestWatchStreamEnds(t *testing.T) {
	ctx := context.Background()
	t.Run("ctx", func(t *testing.T) {
		c := dialWatchZK(t, nil)
		sctx, cancel := context.WithCancel(ctx)
		s, err := c.Watch(sctx)
		mustDo(t, err)
		mustDo(t, s.Create(&pb.WatchCreateRequest{Key: []byte("k")}))
		if r := recv(t, s); !r.Created {
			t.Fatalf("got %v, want created", r)
		}
		cancel()
		if _, err := s.Recv(); status.Code(err) != codes.Canceled {
			t.Fatalf("Recv after the context: %v, want Canceled", err)
		}
		if err := s.Create(&pb.WatchCreateRequest{Key: []byte("k")}); !errors.Is(err, io.EOF) {
			t.Fatalf("Create after the context: %v, want io.EOF", err)
		}
	})
	t.Run("client", func(t *testing.T) {
		c := dialWatchZK(t, nil)
		s := openWatch(t, c)
		mustDo(t, s.Create(&pb.WatchCreateRequest{Key: []byte("k")}))
		c.Close()
		if r := recv(t, s); !r.Created {
			t.Fatalf("got %v, want created", r)
		}
		if _, err := s.Recv(); status.Code(err) != codes.Canceled {
			t.Fatalf("Recv after Close: %v, want Canceled", err)
		}
		if _, err := c.Watch(ctx); status.Code(err) != codes.Canceled {
			t.Fatalf("Watch after Close: %v, want Canceled", err)
		}
	})
	t.Run("CloseSend", func(t *testing.T) {
		c := dialWatchZK(t, nil)
		s := openWatch(t, c)
		mustDo(t, s.Create(&pb.WatchCreateRequest{Key: []byte("k")}))
		mustDo(t, s.CloseSend())
		if err := s.Create(&pb.WatchCreateRequest{Key: []byte("j")}); err == nil {
			t.Fatal("Create after CloseSend: no error")
		}
		if r := recv(t, s); !r.Created {
			t.Fatalf("got %v, want created", r)
		}
		if _, err := c.Put(ctx, put("k", "v")); err != nil {
			t.Fatal(err)
		}
		if r := recv(t, s); len(r.Events) != 1 {
			t.Fatalf("got %v, want the put", r)
		}
		c.Close()
		if _, err := s.Recv(); !errors.Is(err, io.EOF) {
			t.Fatalf("Recv after CloseSend and Close: %v, want io.EOF", err)
		}
	})
}

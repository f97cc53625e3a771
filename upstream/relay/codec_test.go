package relay

import (
	"bytes"
	"testing"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/mvccpb"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/proto"
)

func TestCodecIsRegistered(t *testing.T) {
	if c := encoding.GetCodecV2(CodecName); c == nil || c.Name() != CodecName {
		t.Fatalf("codec for content-subtype %q: %v", CodecName, c)
	}
}

// TestCodecTypedToRaw: what the relaying herald marshals from a typed
// message, the peer holds as a Frame with the very same bytes, and a Frame
// sent on decodes to the same message.
func TestCodecTypedToRaw(t *testing.T) {
	req := &pb.RangeRequest{Key: []byte("a"), RangeEnd: []byte("b"), Revision: 7, Limit: 3}
	wire, err := rawCodec.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	want, err := proto.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(wire.Materialize(), want) {
		t.Fatalf("typed marshal differs from proto.Marshal")
	}

	var f Frame
	if err := rawCodec.Unmarshal(wire, &f); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(f.Data, want) {
		t.Fatalf("frame holds %x, want %x", f.Data, want)
	}
	sent, err := rawCodec.Marshal(&f)
	if err != nil {
		t.Fatal(err)
	}
	var got pb.RangeRequest
	if err := rawCodec.Unmarshal(sent, &got); err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(&got, req) {
		t.Fatalf("round trip: %v, want %v", &got, req)
	}
}

// TestCodecFrameIsACopy: gRPC reuses its receive buffers, so a frame must
// not alias them.
func TestCodecFrameIsACopy(t *testing.T) {
	buf := []byte{1, 2, 3, 4}
	var f Frame
	if err := rawCodec.Unmarshal(mem.BufferSlice{mem.SliceBuffer(buf)}, &f); err != nil {
		t.Fatal(err)
	}
	buf[0] = 9
	if f.Data[0] != 1 {
		t.Fatal("the frame aliases the receive buffer")
	}
}

func TestCodecRefuses(t *testing.T) {
	if _, err := rawCodec.Marshal("not a message"); err == nil {
		t.Error("marshalled a string")
	}
	if _, err := rawCodec.Marshal((*Frame)(nil)); err == nil {
		t.Error("marshalled a nil frame")
	}
	if err := rawCodec.Unmarshal(mem.BufferSlice{mem.SliceBuffer{1}}, (*Frame)(nil)); err == nil {
		t.Error("unmarshalled into a nil frame")
	}
	if err := rawCodec.Unmarshal(mem.BufferSlice{mem.SliceBuffer{0xff}}, &pb.RangeRequest{}); err == nil {
		t.Error("unmarshalled garbage into a RangeRequest")
	}
}

// FuzzCodecUnmarshal feeds bytes as they could arrive from the network to
// both kinds of target: a frame must hold exactly the bytes, a typed
// message must either decode or fail, never panic, and re-encode.
func FuzzCodecUnmarshal(f *testing.F) {
	seeds := []proto.Message{
		&pb.RangeRequest{Key: []byte("k"), Revision: 3},
		&pb.WatchResponse{Header: &pb.ResponseHeader{Revision: 9}, WatchId: 1, Events: []*mvccpb.Event{{Kv: &mvccpb.KeyValue{Key: []byte("k")}}}},
		&pb.LeaseKeepAliveRequest{ID: 42},
	}
	for _, m := range seeds {
		b, err := proto.Marshal(m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{})
	f.Add([]byte{0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, data []byte) {
		in := mem.BufferSlice{mem.SliceBuffer(data)}
		var fr Frame
		if err := rawCodec.Unmarshal(in, &fr); err != nil {
			t.Fatalf("frame: %v", err)
		}
		if !bytes.Equal(fr.Data, data) || (len(data) > 0 && &fr.Data[0] == &data[0]) {
			t.Fatal("frame is not an exact copy")
		}
		for _, m := range []proto.Message{&pb.RangeResponse{}, &pb.WatchRequest{}, &pb.WatchResponse{}, &pb.LeaseKeepAliveResponse{}} {
			if err := rawCodec.Unmarshal(in, m); err != nil {
				continue
			}
			if _, err := rawCodec.Marshal(m); err != nil {
				t.Fatalf("%T decoded but does not encode: %v", m, err)
			}
		}
	})
}

package relay

import (
	"errors"
	"fmt"

	"google.golang.org/grpc/encoding"
	encproto "google.golang.org/grpc/encoding/proto"
	"google.golang.org/grpc/mem"
)

// CodecName is the content-subtype of relayed calls
// ("application/grpc+herald-relay"). The codec registered under it is what
// lets the peer keep messages as raw frames while the relaying herald uses
// typed etcd stubs.
const CodecName = "herald-relay"

// Frame is one gRPC message kept as the bytes that crossed the wire. The
// peer receives and sends Frames, so it never decodes etcd's messages and
// forwards them bit for bit.
type Frame struct {
	Data []byte
}

// codec marshals a *Frame to its bytes and any other message as protobuf,
// and unmarshals the same way. It works on both sides of a relay: with
// typed messages on the relaying herald, with Frames on the peer (towards
// its caller under this content-subtype, towards etcd forced under "proto").
type codec struct {
	proto encoding.CodecV2
}

// rawCodec is the one codec value; the proto codec it delegates to is
// gRPC's own, so typed messages are encoded exactly as on a direct call.
var rawCodec = codec{proto: encoding.GetCodecV2(encproto.Name)}

func init() { encoding.RegisterCodecV2(rawCodec) }

func (c codec) Name() string { return CodecName }

func (c codec) Marshal(v any) (mem.BufferSlice, error) {
	if f, ok := v.(*Frame); ok {
		if f == nil {
			return nil, errors.New("relay: marshal a nil *Frame")
		}
		// gRPC neither keeps nor changes the bytes after the write, and a
		// Frame is never reused once sent, so no copy is needed.
		return mem.BufferSlice{mem.SliceBuffer(f.Data)}, nil
	}
	data, err := c.proto.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("relay: marshal %T: %w", v, err)
	}
	return data, nil
}

func (c codec) Unmarshal(data mem.BufferSlice, v any) error {
	if f, ok := v.(*Frame); ok {
		if f == nil {
			return errors.New("relay: unmarshal into a nil *Frame")
		}
		// A copy: gRPC recycles its receive buffers once Unmarshal returns,
		// and the frame lives on until it has been sent onwards.
		f.Data = data.Materialize()
		return nil
	}
	if err := c.proto.Unmarshal(data, v); err != nil {
		return fmt.Errorf("relay: unmarshal %T: %w", v, err)
	}
	return nil
}

package relay

import (
	"strings"

	"google.golang.org/grpc/metadata"
)

// upstreamMetadata is what a relayed call passes on to etcd: the caller's
// metadata (auth token, "hasleader", …) less the relay token, which is for
// the peer alone, and less the headers gRPC writes itself (pseudo-headers
// such as ":authority", "content-type", "user-agent", "te" and "grpc-*"),
// which the peer's own call to etcd sets for the content-subtype it really
// uses. in is a copy owned by the caller.
func upstreamMetadata(in metadata.MD) metadata.MD {
	out := make(metadata.MD, len(in))
	for k, v := range in {
		if k == MetadataKey || strings.HasPrefix(k, ":") || strings.HasPrefix(k, "grpc-") {
			continue
		}
		switch k {
		case "content-type", "user-agent", "te":
			continue
		}
		out[k] = v
	}
	return out
}

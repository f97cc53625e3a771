package proxy

import (
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/heraldproj/herald/lease"
)

// errReserved is the answer to a client write under the reserved prefix.
func errReserved(ks lease.Keyspace) error {
	return status.Error(codes.PermissionDenied, fmt.Sprintf("herald: keys under %q are reserved for herald's lease records", ks.Prefix()))
}

package lease

import "errors"

// Errors returned by the table. They are plain Go errors; the proxy maps them
// onto etcd's rpctypes (the etcd error each corresponds to is named below).
var (
	// ErrLeaseNotFound: rpctypes.ErrGRPCLeaseNotFound,
	// "etcdserver: requested lease not found". On the LeaseKeepAlive stream
	// etcd does not return it: it answers TTL 0 (v3rpc/lease.go), and so must
	// the proxy.
	ErrLeaseNotFound = errors.New("lease: requested lease not found")

	// ErrLeaseExists: rpctypes.ErrGRPCLeaseExist, "etcdserver: lease already exists".
	ErrLeaseExists = errors.New("lease: lease already exists")

	// ErrLeaseTTLTooLarge: rpctypes.ErrGRPCLeaseTTLTooLarge,
	// "etcdserver: too large lease TTL".
	ErrLeaseTTLTooLarge = errors.New("lease: too large lease TTL")

	// ErrNoFreePrefix means every 15-bit ID prefix is taken by upstream
	// members (cannot happen with a real etcd cluster; guards misuse).
	ErrNoFreePrefix = errors.New("lease: no free lease ID prefix")

	// ErrBadRecord wraps every Record decoding failure.
	ErrBadRecord = errors.New("lease: malformed lease record")
)

package offload

import "hash/fnv"

// identityHash turns a herald's name into the identity the ID allocator
// derives its prefix from.
func identityHash(name string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(name))
	return h.Sum64()
}

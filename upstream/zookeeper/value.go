package zookeeper

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// A key's znode holds its value and its lease in one of two layouts, told
// apart by the first byte (so a key with no lease costs one byte):
//
//	0x00 value...                  no lease
//	0x01 lease(8, big endian) value...
//
// The lease is the ID herald's client was given (leases stay virtual in
// herald; ZooKeeper only keeps the number so that Range, prev_kv and
// ignore_lease show it).
const (
	layoutPlain  byte = 0
	layoutLeased byte = 1
)

var errBadData = errors.New("zookeeper: not a herald key's data")

func encodeData(value []byte, lease int64) []byte {
	if lease == 0 {
		return append([]byte{layoutPlain}, value...)
	}
	out := make([]byte, 9, 9+len(value))
	out[0] = layoutLeased
	binary.BigEndian.PutUint64(out[1:], uint64(lease))
	return append(out, value...)
}

// decodeData is the inverse of encodeData; it accepts only what encodeData
// produces (a leased layout with lease 0 would be a second spelling).
func decodeData(data []byte) (value []byte, lease int64, err error) {
	if len(data) == 0 {
		return nil, 0, fmt.Errorf("%w: empty", errBadData)
	}
	switch data[0] {
	case layoutPlain:
		return data[1:], 0, nil
	case layoutLeased:
		if len(data) < 9 {
			return nil, 0, fmt.Errorf("%w: %d bytes, a lease needs 9", errBadData, len(data))
		}
		lease = int64(binary.BigEndian.Uint64(data[1:9]))
		if lease == 0 {
			return nil, 0, fmt.Errorf("%w: leased layout with lease 0", errBadData)
		}
		return data[9:], lease, nil
	}
	return nil, 0, fmt.Errorf("%w: layout %#x", errBadData, data[0])
}

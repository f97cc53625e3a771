package zookeeper

import (
	"bytes"

	"github.com/heraldproj/herald/fanout"
)

// isOpenEnd reports whether range_end is etcd's "\x00": every key from
// key on.
func isOpenEnd(end []byte) bool { return len(end) == 1 && end[0] == 0 }

// prefixEnd is the first key after every key that starts with prefix, or
// nil (no end) when prefix is all 0xff or empty.
func prefixEnd(prefix []byte) []byte {
	if end := fanout.PrefixEnd(prefix); !isOpenEnd(end) {
		return end
	}
	return nil
}

// inRange reports whether k is in [key, end); a nil end has no bound.
func inRange(k, key, end []byte) bool {
	return bytes.Compare(k, key) >= 0 && (end == nil || bytes.Compare(k, end) < 0)
}

// overlaps reports whether [lo, hi) and [key, end) intersect (nil hi or
// end: no bound).
func overlaps(lo, hi, key, end []byte) bool {
	return (end == nil || bytes.Compare(lo, end) < 0) && (hi == nil || bytes.Compare(key, hi) < 0)
}

// topPrefix is the longest prefix of key that ends with '/' and starts
// every key of [key, end): the directory a span lists first.
func topPrefix(key, end []byte) []byte {
	best := []byte{}
	for i := range key {
		if key[i] != '/' {
			continue
		}
		p := key[:i+1]
		if pe := prefixEnd(p); end != nil && pe != nil && bytes.Compare(end, pe) <= 0 {
			best = p
		}
	}
	return best
}

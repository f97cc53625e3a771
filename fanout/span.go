package fanout

import "bytes"

// span is a key range as etcd reads a (key, range_end) pair: a single key,
// [start, end), or every key >= start.
type span struct {
	start     []byte
	end       []byte // exclusive; meaningful only for a bounded range
	single    bool
	unbounded bool
}

// requestSpan reads key and range_end as etcd does: an empty range_end is
// the single key, "\x00" means every key >= key (mkGteRange).
func requestSpan(key, end []byte) span {
	switch {
	case len(end) == 0:
		return span{start: key, single: true}
	case len(end) == 1 && end[0] == 0:
		return span{start: key, unbounded: true}
	}
	return span{start: key, end: end}
}

// PrefixEnd is the range end that covers every key with the prefix, as
// clientv3.GetPrefixRangeEnd computes it: "\x00" (every key from the
// prefix on) when the prefix is empty or all 0xff.
func PrefixEnd(prefix []byte) []byte {
	end := bytes.Clone(prefix)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return []byte{0}
}

// prefixSpan is the range of every key that starts with p.
func prefixSpan(p []byte) span { return requestSpan(p, PrefixEnd(p)) }

// empty reports a bounded range with start >= end, which etcd's watch
// refuses (mvcc ErrEmptyWatcherRange) and its range answers with nothing.
func (s span) empty() bool {
	return !s.single && !s.unbounded && bytes.Compare(s.start, s.end) >= 0
}

func (s span) contains(k []byte) bool {
	if s.single {
		return bytes.Equal(s.start, k)
	}
	if bytes.Compare(k, s.start) < 0 {
		return false
	}
	return s.unbounded || bytes.Compare(k, s.end) < 0
}

// within reports whether every key of s is in o.
func (s span) within(o span) bool {
	if s.single {
		return o.contains(s.start)
	}
	if s.empty() {
		return o.contains(s.start)
	}
	if !o.contains(s.start) {
		return false
	}
	if o.unbounded {
		return true
	}
	if s.unbounded || o.single {
		return false
	}
	return bytes.Compare(s.end, o.end) <= 0
}

// equal reports whether s and o are the same range.
func (s span) equal(o span) bool {
	return s.single == o.single && s.unbounded == o.unbounded && bytes.Equal(s.start, o.start) &&
		(s.single || s.unbounded || bytes.Equal(s.end, o.end))
}

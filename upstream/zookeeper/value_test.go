package zookeeper

import (
	"bytes"
	"testing"
)

func TestDataRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		value []byte
		lease int64
	}{{nil, 0}, {[]byte("v"), 0}, {[]byte{}, 7}, {[]byte("\x01xyz"), -1}, {[]byte("\x00"), 1 << 62}} {
		v, l, err := decodeData(encodeData(tc.value, tc.lease))
		if err != nil || !bytes.Equal(v, tc.value) || l != tc.lease {
			t.Errorf("round trip of (%q, %d) = (%q, %d, %v)", tc.value, tc.lease, v, l, err)
		}
	}
	for _, bad := range [][]byte{nil, {2}, {1, 0, 0}, {1, 0, 0, 0, 0, 0, 0, 0, 0}} {
		if _, _, err := decodeData(bad); err == nil {
			t.Errorf("decodeData(%x) accepted", bad)
		}
	}
}

// FuzzDecodeData: a key's data comes off the network; whatever decodes
// must encode back to the same bytes.
func FuzzDecodeData(f *testing.F) {
	f.Add([]byte{0, 'v'})
	f.Add([]byte{1, 0, 0, 0, 0, 0, 0, 0, 5, 'v'})
	f.Fuzz(func(t *testing.T, data []byte) {
		v, l, err := decodeData(data)
		if err != nil {
			return
		}
		if again := encodeData(v, l); !bytes.Equal(again, data) {
			t.Fatalf("decodeData(%x) = (%q, %d), which encodes as %x", data, v, l, again)
		}
	})
}

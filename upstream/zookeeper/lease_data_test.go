package zookeeper

import (
	"bytes"
	"testing"
)

// FuzzDecodeLeaseData: a lease znode's data comes off the network;
// whatever decodes must encode back to the same bytes.
func FuzzDecodeLeaseData(f *testing.F) {
	f.Add(encodeLeaseData(10))
	f.Add([]byte{0, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		ttl, err := decodeLeaseData(data)
		if err != nil {
			return
		}
		if again := encodeLeaseData(ttl); !bytes.Equal(again, data) {
			t.Fatalf("decodeLeaseData(%x) = %d, which encodes as %x", data, ttl, again)
		}
	})
}

// FuzzParseKeyEntry: a lease's children are names off the network; one
// that parses is the canonical entry of the key it parses to, and every
// key's entry parses back to it.
func FuzzParseKeyEntry(f *testing.F) {
	for _, s := range []string{"a", "%2Fsvc%2Fn1", "%", "%2E", ".", "a%2f"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if key, err := parseKeyEntry(name); err == nil && keyEntry(key) != name {
			t.Fatalf("parseKeyEntry(%q) = %q, whose entry is %q", name, key, keyEntry(key))
		}
		if key := []byte(name); len(key) > 0 {
			back, err := parseKeyEntry(keyEntry(key))
			if err != nil || !bytes.Equal(back, key) {
				t.Fatalf("key %q: entry %q parses to %q, %v", key, keyEntry(key), back, err)
			}
		}
	})
}

// FuzzParseLeaseName: lease znode names off the network.
func FuzzParseLeaseName(f *testing.F) {
	f.Add("000000000000000a")
	f.Add("00000000000000A0")
	f.Fuzz(func(t *testing.T, name string) {
		if id, err := parseLeaseName(name); err == nil && leaseName(id) != name {
			t.Fatalf("parseLeaseName(%q) = %x, named %q", name, id, leaseName(id))
		}
	})
}

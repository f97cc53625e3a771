package lease

import (
	"bytes"
	"encoding/binary"
	"errors"
	"reflect"
	"testing"
)

func TestRecordRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		in   Record
		want Record
	}{
		{"minimal", Record{ID: 1, TTL: 1}, Record{ID: 1, TTL: 1}},
		{"typical", Record{ID: 0x1234_0000_0000_0001, TTL: 10, Owner: "rack7-herald", Keys: []string{"/svc/b", "/svc/a"}},
			Record{ID: 0x1234_0000_0000_0001, TTL: 10, Owner: "rack7-herald", Keys: []string{"/svc/a", "/svc/b"}}},
		{"duplicate keys collapse", Record{ID: 2, TTL: 3, Keys: []string{"/k", "/k"}}, Record{ID: 2, TTL: 3, Keys: []string{"/k"}}},
		{"negative id", Record{ID: -5, TTL: MaxLeaseTTL}, Record{ID: -5, TTL: MaxLeaseTTL}},
		{"binary keys", Record{ID: 3, TTL: 3, Keys: []string{"\x00\xff", "\x01"}}, Record{ID: 3, TTL: 3, Keys: []string{"\x00\xff", "\x01"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := tc.in.Encode()
			got, err := DecodeRecord(b)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
			if !bytes.Equal(got.Encode(), b) {
				t.Fatal("re-encoding differs")
			}
		})
	}
}

func TestDecodeRecordErrors(t *testing.T) {
	good := Record{ID: 7, TTL: 10, Owner: "h", Keys: []string{"/a", "/b"}}.Encode()
	build := func(f func(b []byte) []byte) []byte { return f([]byte{recordVersion}) }
	tests := []struct {
		name string
		in   []byte
	}{
		{"empty", nil},
		{"unknown version", append([]byte{2}, good[1:]...)},
		{"truncated", good[:len(good)-1]},
		{"trailing byte", append(append([]byte{}, good...), 0)},
		{"id zero", Record{ID: 0, TTL: 10}.Encode()},
		{"ttl zero", Record{ID: 1, TTL: 0}.Encode()},
		{"ttl too large", Record{ID: 1, TTL: MaxLeaseTTL + 1}.Encode()},
		{"overflowing uvarint", build(func(b []byte) []byte {
			return append(append(b, 2), bytes.Repeat([]byte{0xff}, 11)...)
		})},
		{"non-minimal uvarint", build(func(b []byte) []byte { return append(b, 2, 0x8a, 0x00, 0, 0) })},
		{"non-minimal varint", build(func(b []byte) []byte { return append(b, 0x82, 0x00, 10, 0, 0) })},
		{"huge key count", build(func(b []byte) []byte {
			b = append(b, 2, 10, 0)
			return binary.AppendUvarint(b, 1<<40)
		})},
		{"huge key length", build(func(b []byte) []byte {
			b = append(b, 2, 10, 0, 1)
			return binary.AppendUvarint(b, 1<<40)
		})},
		{"empty key", build(func(b []byte) []byte { return append(b, 2, 10, 0, 1, 0) })},
		{"keys out of order", build(func(b []byte) []byte { return append(b, 2, 10, 0, 2, 1, 'b', 1, 'a') })},
		{"duplicate keys", build(func(b []byte) []byte { return append(b, 2, 10, 0, 2, 1, 'a', 1, 'a') })},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if r, err := DecodeRecord(tc.in); !errors.Is(err, ErrBadRecord) {
				t.Fatalf("DecodeRecord = %+v, %v; want ErrBadRecord", r, err)
			}
		})
	}
}

// FuzzDecodeRecord: records come off the network (etcd values anyone with
// write access to the prefix could have written). The decoder must never
// panic, and whatever it accepts must re-encode to exactly the same bytes.
func FuzzDecodeRecord(f *testing.F) {
	f.Add(Record{ID: 7, TTL: 10, Owner: "h", Keys: []string{"/a", "/b"}}.Encode())
	f.Add(Record{ID: -1, TTL: MaxLeaseTTL}.Encode())
	f.Add([]byte{})
	f.Add([]byte{recordVersion, 0x82, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := DecodeRecord(b)
		if err != nil {
			if !errors.Is(err, ErrBadRecord) {
				t.Fatalf("error %v does not wrap ErrBadRecord", err)
			}
			return
		}
		if got := r.Encode(); !bytes.Equal(got, b) {
			t.Fatalf("accepted %x but re-encodes to %x", b, got)
		}
	})
}

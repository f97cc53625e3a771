package plumtree

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func sampleMessages() []Message {
	return []Message{
		{Kind: Gossip, From: "a", IDs: []MessageID{{"origin", 1}}, Payload: []byte("hello"), Round: 3},
		{Kind: Gossip, From: "a", IDs: []MessageID{{"o", 1<<64 - 1}}, Round: 1<<16 - 1},
		{Kind: IHave, From: "node-17", IDs: []MessageID{{"x", 1}, {"y", 300}, {"x", 2}}},
		{Kind: Graft, From: NodeID(strings.Repeat("z", MaxNodeIDLen)), IDs: []MessageID{{"x", 0}}},
		{Kind: Prune, From: "b", IDs: []MessageID{{"feeder-1", 42}}},
		{Kind: Digest, From: "c", Ranges: []SeqRange{{"feeder-1", 1, 256}, {"feeder-2", 7, 7}, {"z", 1<<64 - 2, 1<<64 - 1}}},
		{Kind: Gossip, From: "a", IDs: []MessageID{{"origin", 2}}, Payload: []byte("ring"), Round: 2, Arc: ArcRef{Tree: 3, Level: 2, Index: 1<<32 - 1}},
		{Kind: Hello, From: "joiner"},
	}
}

// TestCodecVersions checks that only Digest uses wire version 2 and only
// Hello and a Gossip with an Arc version 3, so that a member of version 1
// still decodes every other message.
func TestCodecVersions(t *testing.T) {
	for _, m := range sampleMessages() {
		b, err := m.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		want := byte(1)
		if m.Kind == Digest {
			want = 2
		}
		if m.Kind == Hello || m.Arc != (ArcRef{}) {
			want = 3
		}
		if b[0] != want {
			t.Errorf("%v encoded as version %d, want %d", m.Kind, b[0], want)
		}
	}
	// A version-2 frame of an old kind (a future encoder may send one) decodes.
	v2 := []byte{2, 4, 0, 0, 1, 'b', 1, 1, 'o', 7, 0, 0}
	var m Message
	if err := m.UnmarshalBinary(v2); err != nil || m.Kind != Prune {
		t.Errorf("version-2 Prune: %v, %v", m, err)
	}
}

func TestCodecRoundTrip(t *testing.T) {
	for _, m := range sampleMessages() {
		b, err := m.MarshalBinary()
		if err != nil {
			t.Fatalf("marshal %v: %v", m, err)
		}
		var got Message
		if err := got.UnmarshalBinary(b); err != nil {
			t.Fatalf("unmarshal %v: %v", m, err)
		}
		if !reflect.DeepEqual(got, m) {
			t.Errorf("decode(encode(m)) = %+v, want %+v", got, m)
		}
	}
}

func TestCodecRejects(t *testing.T) {
	valid, err := (&Message{Kind: Gossip, From: "a", IDs: []MessageID{{"o", 7}}, Payload: []byte("p")}).MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	mutate := func(f func([]byte) []byte) []byte { return f(bytes.Clone(valid)) }
	for _, tc := range []struct {
		name string
		b    []byte
		want string
	}{
		{"empty", nil, "version truncated"},
		{"bad version", mutate(func(b []byte) []byte { b[0] = 9; return b }), "unknown version 9"},
		{"unknown kind", mutate(func(b []byte) []byte { b[1] = 0; return b }), "unknown kind 0"},
		{"hello in version 1", []byte{1, 6, 0, 0, 1, 'a', 0, 0}, "Hello in wire version 1"},
		{"gossip v3 without arc", []byte{3, 1, 0, 0, 1, 'a', 1, 1, 'o', 1, 0, 0, 0, 0}, "without an arc"},
		{"prune with arc", []byte{3, 4, 0, 0, 1, 'a', 1, 1, 'o', 1, 0, 0, 1, 0}, "Prune with arc"},
		{"kind out of range", mutate(func(b []byte) []byte { b[1] = 7; return b }), "unknown kind 7"},
		{"version 0", mutate(func(b []byte) []byte { b[0] = 0; return b }), "unknown version 0"},
		{"digest in version 1", []byte{1, 5, 0, 0, 1, 'a', 0, 0}, "Digest without ranges"},
		{"digest without ranges", []byte{2, 5, 0, 0, 1, 'a', 0, 0, 0}, "Digest without ranges"},
		{"digest with ids", []byte{2, 5, 0, 0, 1, 'a', 1, 1, 'o', 7, 0, 1, 1, 'o', 1, 0}, "Digest with ids or a payload"},
		{"ranges truncated", []byte{2, 5, 0, 0, 1, 'a', 0, 0, 1, 1, 'o', 0x81, 0x01}, "bad range span varint"},
		{"ranges missing", []byte{2, 5, 0, 0, 1, 'a', 0, 0}, "range count"},
		{"too many ranges", []byte{2, 5, 0, 0, 1, 'a', 0, 0, 0x81, 0x40}, "8193 ranges, limit 4096"},
		{"ranges beyond input", []byte{2, 5, 0, 0, 1, 'a', 0, 0, 3, 1, 'o', 1, 0}, "3 ranges in 4 bytes"},
		{"range overflows", []byte{2, 5, 0, 0, 1, 'a', 0, 0, 1, 1, 'o', 2, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, "overflows"},
		{"ranges unsorted", []byte{2, 5, 0, 0, 1, 'a', 0, 0, 2, 1, 'p', 1, 0, 1, 'o', 1, 0}, "not sorted"},
		{"ranges duplicate", []byte{2, 5, 0, 0, 1, 'a', 0, 0, 2, 1, 'o', 1, 0, 1, 'o', 1, 0}, "not sorted"},
		{"empty range origin", []byte{2, 5, 0, 0, 1, 'a', 0, 0, 1, 0, 0x81, 0x01, 0}, "empty range origin"},
		{"ranges on gossip", []byte{2, 1, 0, 0, 1, 'a', 1, 1, 'o', 7, 0, 1, 1, 'o', 1, 0}, "Gossip with ranges"},
		{"digest in version 1 with ranges", []byte{1, 5, 0, 0, 1, 'a', 0, 0, 1, 1, 'o', 1, 0}, "trailing bytes"},
		{"sender truncated", valid[:5], "sender truncated"},
		{"empty sender", []byte{1, 1, 0, 0, 0, 1, 1, 'o', 7, 0}, "empty sender"},
		{"trailing byte", append(bytes.Clone(valid), 0), "1 trailing bytes"},
		{"payload truncated", valid[:len(valid)-1], "payload truncated"},
		{"too many ids", []byte{1, 2, 0, 0, 1, 'a', 0x81, 0x40}, "8193 ids, limit 4096"},
		{"ids beyond input", []byte{1, 2, 0, 0, 1, 'a', 100, 1, 'o'}, "100 ids in 2 bytes"},
		{"bad varint", []byte{1, 2, 0, 0, 1, 'a', 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, "bad id count varint"},
		{"huge payload", []byte{1, 1, 0, 0, 1, 'a', 1, 1, 'o', 7, 0x81, 0x80, 0x40}, "payload of 1048577 bytes, limit 1048576"},
		{"gossip without id", []byte{1, 1, 0, 0, 1, 'a', 0, 0}, "Gossip must carry exactly one id"},
		{"ihave with payload", []byte{1, 2, 0, 0, 1, 'a', 1, 1, 'o', 7, 1, 'p'}, "IHave with a payload"},
		{"prune without ids", []byte{1, 4, 0, 0, 1, 'a', 0, 0}, "Prune without ids"},
		{"empty origin", []byte{1, 3, 0, 0, 1, 'a', 1, 0, 7, 0}, "empty origin"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var m Message
			err := m.UnmarshalBinary(tc.b)
			if err == nil {
				t.Fatalf("accepted %x as %v", tc.b, m)
			}
			if !errors.Is(err, ErrMalformed) || !strings.HasPrefix(err.Error(), "plumtree: ") || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q: want ErrMalformed mentioning %q", err, tc.want)
			}
		})
	}
}

func TestMarshalRefusesInvalid(t *testing.T) {
	for _, m := range []Message{
		{Kind: Gossip, From: "a"},
		{Kind: IHave, From: "a", IDs: []MessageID{{"o", 1}}, Payload: []byte("x")},
		{Kind: Graft, From: "", IDs: []MessageID{{"o", 1}}},
		{Kind: Prune, From: NodeID(strings.Repeat("a", MaxNodeIDLen+1)), IDs: []MessageID{{"o", 1}}},
		{Kind: 0, From: "a", IDs: []MessageID{{"o", 1}}},
		{Kind: Digest, From: "a"},
		{Kind: Digest, From: "a", Ranges: []SeqRange{{"o", 2, 1}}},
		{Kind: Digest, From: "a", Ranges: []SeqRange{{"p", 1, 1}, {"o", 1, 1}}},
		{Kind: IHave, From: "a", IDs: []MessageID{{"o", 1}}, Ranges: []SeqRange{{"o", 1, 1}}},
	} {
		if b, err := m.MarshalBinary(); err == nil {
			t.Errorf("MarshalBinary(%v) = %x, want an error", m, b)
		}
	}
}

func FuzzUnmarshal(f *testing.F) {
	for _, m := range sampleMessages() {
		b, err := m.MarshalBinary()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{1, 2, 0, 0, 1, 'a', 0xff, 0xff, 0x03})
	f.Fuzz(func(t *testing.T, b []byte) {
		var m Message
		if err := m.UnmarshalBinary(b); err != nil {
			if !strings.HasPrefix(err.Error(), "plumtree: ") {
				t.Fatalf("error without prefix: %v", err)
			}
			return
		}
		// Whatever decodes must encode and decode to the same message.
		again, err := m.MarshalBinary()
		if err != nil {
			t.Fatalf("decoded %v but cannot encode it: %v", m, err)
		}
		var m2 Message
		if err := m2.UnmarshalBinary(again); err != nil || !reflect.DeepEqual(m, m2) {
			t.Fatalf("re-decode: %v, %+v != %+v", err, m2, m)
		}
	})
}

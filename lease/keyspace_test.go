package lease

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

const testPrefix = "\x00herald/"

var testKS = NewKeyspace(testPrefix)

func TestKeyspaceKeys(t *testing.T) {
	ks := testKS
	tests := []struct {
		name string
		got  []byte
		want string
	}{
		{"prefix", ks.Prefix(), "\x00herald/"},
		{"end", ks.End(), "\x00herald0"},
		{"sessions prefix", ks.SessionsPrefix(), "\x00herald/heralds/"},
		{"session", ks.SessionKey("rack7-h1"), "\x00herald/heralds/rack7-h1"},
		{"carrier", ks.CarrierKey(0x7fff_0000_0000_0001), "\x00herald/carriers/7fff000000000001"},
		{"carrier with the top bit", ks.CarrierKey(-1), "\x00herald/carriers/ffffffffffffffff"},
		{"record", ks.RecordKey(42), "\x00herald/leases/000000000000002a"},
		{"attach prefix", ks.AttachPrefix(42), "\x00herald/keys/000000000000002a/"},
		{"attach", ks.AttachKey(42, []byte("/svc/a")), "\x00herald/keys/000000000000002a//svc/a"},
		{"attach binary key", ks.AttachKey(1, []byte{0, 0xff}), "\x00herald/keys/0000000000000001/\x00\xff"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if string(tc.got) != tc.want {
				t.Fatalf("got %q, want %q", tc.got, tc.want)
			}
		})
	}
}

// TestKeyspaceKeysDoNotAlias: AttachKey appends to a fresh AttachPrefix, so
// two keys built one after the other never share a backing array.
func TestKeyspaceKeysDoNotAlias(t *testing.T) {
	a := testKS.AttachKey(1, []byte("/a"))
	b := testKS.AttachKey(1, []byte("/b"))
	if string(a) != testPrefix+"keys/0000000000000001//a" || string(b) != testPrefix+"keys/0000000000000001//b" {
		t.Fatalf("aliased: %q %q", a, b)
	}
}

func TestKeyspaceParseRoundTrip(t *testing.T) {
	ks := testKS
	tests := []struct {
		name string
		key  []byte
		want ParsedKey
	}{
		{"session", ks.SessionKey("h1"), ParsedKey{Kind: KindSession, Name: "h1"}},
		{"session with slashes", ks.SessionKey("dc/rack/h1"), ParsedKey{Kind: KindSession, Name: "dc/rack/h1"}},
		{"carrier", ks.CarrierKey(0x7fff_0000_0000_00ab), ParsedKey{Kind: KindCarrier, ID: 0x7fff_0000_0000_00ab}},
		{"carrier negative", ks.CarrierKey(-2), ParsedKey{Kind: KindCarrier, ID: -2}},
		{"record", ks.RecordKey(42), ParsedKey{Kind: KindRecord, ID: 42}},
		{"attachment", ks.AttachKey(42, []byte("/svc/a")), ParsedKey{Kind: KindAttachment, ID: 42, Key: "/svc/a"}},
		{"attachment key with slashes", ks.AttachKey(42, []byte("a/b/c/")), ParsedKey{Kind: KindAttachment, ID: 42, Key: "a/b/c/"}},
		{"attachment key under the prefix", ks.AttachKey(7, []byte(testPrefix+"x")), ParsedKey{Kind: KindAttachment, ID: 7, Key: testPrefix + "x"}},
		{"attachment binary key", ks.AttachKey(7, []byte{0, 1, 0xff}), ParsedKey{Kind: KindAttachment, ID: 7, Key: "\x00\x01\xff"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := ks.Parse(tc.key)
			if !ok || got != tc.want {
				t.Fatalf("Parse(%q) = %+v, %v; want %+v, true", tc.key, got, ok, tc.want)
			}
			if back := reencode(ks, got); !bytes.Equal(back, tc.key) {
				t.Fatalf("re-encoded %q, want %q", back, tc.key)
			}
			if !ks.Contains(tc.key) {
				t.Fatalf("Contains(%q) = false", tc.key)
			}
		})
	}
}

// reencode builds the key that p describes; nil for KindUnknown.
func reencode(ks Keyspace, p ParsedKey) []byte {
	switch p.Kind {
	case KindSession:
		return ks.SessionKey(p.Name)
	case KindCarrier:
		return ks.CarrierKey(p.ID)
	case KindRecord:
		return ks.RecordKey(p.ID)
	case KindAttachment:
		return ks.AttachKey(p.ID, []byte(p.Key))
	}
	return nil
}

func TestKeyspaceParseMalformed(t *testing.T) {
	ks := testKS
	unknown := ParsedKey{Kind: KindUnknown}
	tests := []struct {
		name   string
		key    string
		want   ParsedKey
		wantOK bool
	}{
		{"user key", "/svc/a", ParsedKey{}, false},
		{"empty key", "", ParsedKey{}, false},
		{"prefix without its slash", "\x00herald", ParsedKey{}, false},
		{"the end key", "\x00herald0", ParsedKey{}, false},
		{"prefix minus a byte", "herald/heralds/h1", ParsedKey{}, false},
		{"the prefix itself", testPrefix, unknown, true},
		{"unknown directory", testPrefix + "other/x", unknown, true},
		{"directory without slash", testPrefix + "heralds", unknown, true},
		{"session without name", testPrefix + "heralds/", unknown, true},
		{"carrier without id", testPrefix + "carriers/", unknown, true},
		{"carrier 15 hex", testPrefix + "carriers/00000000000002a", unknown, true},
		{"carrier 17 hex", testPrefix + "carriers/000000000000002a0", unknown, true},
		{"carrier upper-case hex", testPrefix + "carriers/000000000000002A", unknown, true},
		{"carrier non-hex", testPrefix + "carriers/000000000000002g", unknown, true},
		{"carrier with 0x", testPrefix + "carriers/0x0000000000002a", unknown, true},
		{"carrier with sign", testPrefix + "carriers/+00000000000002a", unknown, true},
		{"carrier with underscore", testPrefix + "carriers/00000000_000002a", unknown, true},
		{"carrier with trailing slash", testPrefix + "carriers/000000000000002a/", unknown, true},
		{"carrier 16 bytes of UTF-8", testPrefix + "carriers/00000000000000é", unknown, true},
		{"record 15 hex", testPrefix + "leases/00000000000002a", unknown, true},
		{"record upper-case hex", testPrefix + "leases/ABCDEF0000000000", unknown, true},
		{"record with a suffix", testPrefix + "leases/000000000000002a/x", unknown, true},
		{"attachment without key", testPrefix + "keys/000000000000002a/", unknown, true},
		{"attachment without slash", testPrefix + "keys/000000000000002a", unknown, true},
		{"attachment short id", testPrefix + "keys/2a//svc/a", unknown, true},
		{"attachment upper-case id", testPrefix + "keys/000000000000002A//svc/a", unknown, true},
		{"attachment without id", testPrefix + "keys//svc/a", unknown, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := ks.Parse([]byte(tc.key))
			if ok != tc.wantOK || got != tc.want {
				t.Fatalf("Parse(%q) = %+v, %v; want %+v, %v", tc.key, got, ok, tc.want, tc.wantOK)
			}
			if ks.Contains([]byte(tc.key)) != tc.wantOK {
				t.Fatalf("Contains(%q) disagrees with Parse", tc.key)
			}
		})
	}
}

// FuzzKeyspaceParse: reserved keys come off the network (watch events and
// ranges of the reserved prefix, which anyone with write access could have
// filled). Parse must never panic, must accept exactly the keys under the
// prefix, and every key it recognises must be the one its layout builds.
func FuzzKeyspaceParse(f *testing.F) {
	ks := testKS
	for _, k := range [][]byte{
		ks.SessionKey("h1"),
		ks.CarrierKey(0x7fff_0000_0000_0001),
		ks.CarrierKey(-1),
		ks.RecordKey(42),
		ks.AttachKey(42, []byte("/svc/a")),
		ks.AttachPrefix(42),
		[]byte(testPrefix + "carriers/000000000000002A"),
		[]byte(testPrefix + "keys/000000000000002a"),
		[]byte(testPrefix),
		[]byte("/svc/a"),
		{},
	} {
		f.Add(testPrefix, k)
	}
	f.Add("p", []byte("pkeys/0000000000000001/x"))
	f.Add("\xff", []byte("\xffheralds/\xff"))
	f.Fuzz(func(t *testing.T, prefix string, key []byte) {
		if prefix == "" {
			return // NewKeyspace requires a prefix
		}
		ks := NewKeyspace(prefix)
		p, ok := ks.Parse(key)
		if ok != bytes.HasPrefix(key, []byte(prefix)) || ok != ks.Contains(key) {
			t.Fatalf("Parse(%q) ok=%v under prefix %q", key, ok, prefix)
		}
		if !ok {
			if p != (ParsedKey{}) {
				t.Fatalf("Parse(%q) outside the prefix returned %+v", key, p)
			}
			return
		}
		switch p.Kind {
		case KindUnknown:
			if p != (ParsedKey{Kind: KindUnknown}) {
				t.Fatalf("unknown key %q returned fields %+v", key, p)
			}
			return
		case KindSession:
			if p.Name == "" {
				t.Fatalf("session %q with empty name", key)
			}
		case KindAttachment:
			if p.Key == "" {
				t.Fatalf("attachment %q with empty key", key)
			}
		}
		if back := reencode(ks, p); !bytes.Equal(back, key) {
			t.Fatalf("Parse(%q) = %+v re-encodes to %q", key, p, back)
		}
	})
}

func TestPrefixEnd(t *testing.T) {
	tests := []struct{ in, want string }{
		{"a", "b"},
		{"a\xff", "b"},
		{"\xff\xff", "\x00"},
		{"/x/", "/x0"},
		{testPrefix, "\x00herald0"},
		{"\x00", "\x01"},
	}
	for _, tc := range tests {
		if got := string(PrefixEnd([]byte(tc.in))); got != tc.want {
			t.Errorf("PrefixEnd(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	in := []byte("a\xff")
	PrefixEnd(in)
	if string(in) != "a\xff" {
		t.Fatalf("PrefixEnd modified its input: %q", in)
	}
}

// TestReservedOverlapAndSplit is proxy/reserved_test.go's table, ported to
// Span and Keyspace, plus a prefix whose end is the end of the keyspace.
func TestReservedOverlapAndSplit(t *testing.T) {
	toEnd := []byte{0}
	endless := NewKeyspace("\xff\xff")
	cases := []struct {
		name     string
		ks       Keyspace
		s        Span
		overlaps bool
		around   string
	}{
		{"single user key", testKS, Span{Key: []byte("/a")}, false, ""},
		{"single reserved key", testKS, Span{Key: []byte("\x00herald/leases/1")}, true, "[]"},
		{"prefix of user keys", testKS, Span{Key: []byte("/services/"), End: []byte("/services0")}, false, ""},
		{"whole keyspace", testKS, Span{Key: []byte{0}, End: toEnd}, true, `[{"\x00" "\x00herald/"} {"\x00herald0" "\x00"}]`},
		{"from empty key", testKS, Span{Key: nil, End: toEnd}, true, `[{"" "\x00herald/"} {"\x00herald0" "\x00"}]`},
		{"from-key after the prefix", testKS, Span{Key: []byte("/"), End: toEnd}, false, ""},
		{"from-key at the end", testKS, Span{Key: []byte("\x00herald0"), End: toEnd}, false, ""},
		{"from-key inside", testKS, Span{Key: []byte("\x00herald/m"), End: toEnd}, true, `[{"\x00herald0" "\x00"}]`},
		{"range ending inside", testKS, Span{Key: nil, End: []byte("\x00herald/m")}, true, `[{"" "\x00herald/"}]`},
		{"range starting inside", testKS, Span{Key: []byte("\x00herald/m"), End: []byte("/x")}, true, `[{"\x00herald0" "/x"}]`},
		{"range inside", testKS, Span{Key: []byte("\x00herald/a"), End: []byte("\x00herald/b")}, true, "[]"},
		{"range exactly the prefix", testKS, Span{Key: []byte(testPrefix), End: []byte("\x00herald0")}, true, "[]"},
		{"range ending at the prefix", testKS, Span{Key: nil, End: []byte("\x00herald/")}, false, ""},
		{"range ending just after the prefix", testKS, Span{Key: nil, End: []byte("\x00herald/\x00")}, true, `[{"" "\x00herald/"}]`},
		{"inverted range", testKS, Span{Key: []byte("b"), End: []byte("a")}, false, ""},
		{"inverted range across the prefix", testKS, Span{Key: []byte("/"), End: []byte("\x00")}, false, ""},
		{"endless prefix: from-key before", endless, Span{Key: []byte("a"), End: toEnd}, true, `[{"a" "\xff\xff"}]`},
		{"endless prefix: range into it", endless, Span{Key: []byte("a"), End: []byte("\xff\xff\x01")}, true, `[{"a" "\xff\xff"}]`},
		{"endless prefix: from-key inside", endless, Span{Key: []byte("\xff\xff\x01"), End: toEnd}, true, "[]"},
		{"endless prefix: range below", endless, Span{Key: []byte("a"), End: []byte("\xff")}, false, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.ks.Overlaps(tc.s); got != tc.overlaps {
				t.Fatalf("Overlaps = %v, want %v", got, tc.overlaps)
			}
			if !tc.overlaps {
				return
			}
			if got := fmtSpans(tc.ks.Around(tc.s)); got != tc.around {
				t.Fatalf("Around = %s, want %s", got, tc.around)
			}
		})
	}
}

func fmtSpans(spans []Span) string {
	parts := make([]string, len(spans))
	for i, p := range spans {
		parts[i] = fmt.Sprintf("{%q %q}", p.Key, p.End)
	}
	return "[" + strings.Join(parts, " ") + "]"
}

// TestSpanAgainstBruteForce checks Overlaps and Around against membership
// of every (non-empty) key of a small universe, for every span over it and a few
// prefixes (including ones that end the keyspace). The universe holds every
// key up to three bytes over an alphabet that includes 0x00 and 0xff, and
// the spans' bounds and the prefixes are shorter, so the smallest reserved
// key at or after any bound is in the universe: a span holds a reserved key
// iff it holds one of the universe. Around's parts must also be spans as
// etcd reads them: a part ending at "\x00" would mean "to the end".
func TestSpanAgainstBruteForce(t *testing.T) {
	alphabet := []byte{0x00, 0x01, 'h', 0xfe, 0xff}
	var universe [][]byte
	var grow func(k []byte)
	grow = func(k []byte) {
		if len(k) > 0 { // etcd has no empty key
			universe = append(universe, bytes.Clone(k))
		}
		if len(k) == 3 {
			return
		}
		for _, c := range alphabet {
			grow(append(k, c))
		}
	}
	grow(nil)
	bounds := [][]byte{nil}
	for _, k := range universe {
		if len(k) <= 2 {
			bounds = append(bounds, k)
		}
	}
	in := func(s Span, k []byte) bool {
		switch {
		case s.Single():
			return bytes.Equal(k, s.Key)
		case s.ToEnd():
			return bytes.Compare(k, s.Key) >= 0
		}
		return bytes.Compare(k, s.Key) >= 0 && bytes.Compare(k, s.End) < 0
	}
	for _, prefix := range []string{"h", "\x00", "\xff", "\x01h", "h\xff", "\xff\xff", "\x00h"} {
		t.Run(fmt.Sprintf("%q", prefix), func(t *testing.T) { checkSpansBruteForce(t, NewKeyspace(prefix), universe, bounds, in) })
	}
}

func checkSpansBruteForce(t *testing.T, ks Keyspace, universe, bounds [][]byte, in func(Span, []byte) bool) {
	prefix := string(ks.Prefix())
	var spans []Span
	for _, k := range bounds {
		if len(k) > 0 {
			spans = append(spans, Span{Key: k})
		}
		spans = append(spans, Span{Key: k, End: []byte{0}})
		for _, e := range bounds {
			if len(e) > 0 && !(len(e) == 1 && e[0] == 0) {
				spans = append(spans, Span{Key: k, End: e})
			}
		}
	}
	for _, s := range spans {
		overlaps := false
		for _, k := range universe {
			if in(s, k) && ks.Contains(k) {
				overlaps = true
				break
			}
		}
		if got := ks.Overlaps(s); got != overlaps {
			t.Fatalf("prefix %q: Overlaps({%q %q}) = %v, want %v", prefix, s.Key, s.End, got, overlaps)
		}
		if !overlaps || s.Single() {
			continue
		}
		parts := ks.Around(s)
		for i, p := range parts {
			if p.Single() || p.Empty() {
				t.Fatalf("prefix %q: Around({%q %q}) part %d is %q %q", prefix, s.Key, s.End, i, p.Key, p.End)
			}
			if i > 0 && (parts[i-1].ToEnd() || bytes.Compare(parts[i-1].End, p.Key) > 0) {
				t.Fatalf("prefix %q: Around({%q %q}) = %s: parts overlap or are out of order", prefix, s.Key, s.End, fmtSpans(parts))
			}
		}
		for _, k := range universe {
			want := in(s, k) && !ks.Contains(k)
			got := false
			for _, p := range parts {
				got = got || in(p, k)
			}
			if got != want {
				t.Fatalf("prefix %q: Around({%q %q}) = %s: key %q covered=%v, want %v", prefix, s.Key, s.End, fmtSpans(parts), k, got, want)
			}
		}
	}
}

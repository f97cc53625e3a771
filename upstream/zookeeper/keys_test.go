package zookeeper

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"testing"
	"testing/quick"
	"unicode/utf16"
	"unicode/utf8"
)

func TestKeyPath(t *testing.T) {
	for _, tc := range []struct {
		key  string
		want string
	}{
		{"a", "/kv/a"},
		{"/services/web/n1", "/kv/%2F/services%2F/web%2F/n1"},
		{"a/", "/kv/a%2F/%"},
		{"/", "/kv/%2F/%"},
		{"a//b", "/kv/a%2F/%2F/b"},
		{".", "/kv/%2E"},
		{"..", "/kv/%2E%2E"},
		{"./..", "/kv/.%2F/%2E%2E"},
		{"a.b", "/kv/a.b"},
		{"100%", "/kv/100%25"},
		{"zookeeper", "/kv/zookeeper"},
		{"sp ace", "/kv/sp ace"},
		{"\x00\x1f\x7f", "/kv/%00%1F%7F"},
		{"caf\u00e9", "/kv/caf\u00e9"},
		{"\u0085", "/kv/%C2%85"},
		{"\xff\xfe", "/kv/%FF%FE"},
		{"\U0001F600", "/kv/%F0%9F%98%80"},
		{"\ue000", "/kv/%EE%80%80"},
		{"\ufff0", "/kv/%EF%BF%B0"},
	} {
		if got := keyPath("/kv", []byte(tc.key)); got != tc.want {
			t.Errorf("keyPath(%q) = %q, want %q", tc.key, got, tc.want)
		}
	}
}

func TestDecodeNameRefusesOtherSpellings(t *testing.T) {
	for _, name := range []string{
		"", "%41", "%2f", "%2", "%G0", "a/b", "a%2Fb", "a%2Fb%2F", ".", "..", "%2E%2F%2F",
		"%25%", "%%", "%C3%A9", "\u0085", "%2F%2F",
	} {
		if part, dir, err := decodeName(name); err == nil {
			t.Errorf("decodeName(%q) = %q, dir %v; want an error", name, part, dir)
		}
	}
	for name, want := range map[string]string{"%": "", "%2F": "/", "a%2F": "a/", "%2E": ".", "caf\u00e9": "caf\u00e9", ".%2F": "./"} {
		part, _, err := decodeName(name)
		if err != nil || string(part) != want {
			t.Errorf("decodeName(%q) = %q, %v; want %q", name, part, err, want)
		}
	}
}

// keyFromPath decodes a key's znode path back into the key, as a reader
// of the key tree does name by name.
func keyFromPath(t testing.TB, kv, path string) []byte {
	t.Helper()
	rest, ok := strings.CutPrefix(path, kv+"/")
	if !ok {
		t.Fatalf("%q is not under %q", path, kv)
	}
	var key []byte
	names := strings.Split(rest, "/")
	for i, name := range names {
		part, dir, err := decodeName(name)
		if err != nil {
			t.Fatalf("decodeName(%q) of %q: %v", name, path, err)
		}
		if dir != (i < len(names)-1) {
			t.Fatalf("%q: name %q decodes as dir=%v at level %d", path, name, dir, i)
		}
		key = append(key, part...)
	}
	return key
}

// validZnodePath applies ZooKeeper's PathUtils.validatePath to a path as
// Java sees it (UTF-16 code units).
func validZnodePath(path string) bool {
	if !utf8.ValidString(path) || !strings.HasPrefix(path, "/") || strings.HasSuffix(path, "/") {
		return false
	}
	for _, name := range strings.Split(path[1:], "/") {
		if name == "" || name == "." || name == ".." {
			return false
		}
	}
	for _, c := range utf16.Encode([]rune(path)) {
		switch {
		case c <= 0x1f, c >= 0x7f && c <= 0x9f, c >= 0xd800 && c <= 0xf8ff, c >= 0xfff0:
			return false
		}
	}
	return true
}

// interestingKey draws keys from the bytes that matter to the escaping:
// separators, escapes, dots, controls, invalid and multi-byte UTF-8.
func interestingKey(r *rand.Rand) []byte {
	pieces := []string{"/", "%", ".", "..", "a", "Z", " ", "\x00", "\x7f", "\xff", "\xc3", "\u00e9",
		"\u0085", "\ue000", "\ufff0", "\U0001F600", "%2F", "%25", "zookeeper", "\xed\xa0\x80"}
	n := 1 + r.IntN(8)
	var key []byte
	for range n {
		if r.IntN(4) == 0 {
			key = append(key, byte(r.IntN(256)))
		} else {
			key = append(key, pieces[r.IntN(len(pieces))]...)
		}
	}
	return key
}

func TestKeyPathRoundTripProperty(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	check := func(key []byte) bool {
		if len(key) == 0 {
			return true
		}
		path := keyPath("/herald/kv", key)
		if !validZnodePath(path) {
			t.Errorf("keyPath(%q) = %q: ZooKeeper would refuse it", key, path)
			return false
		}
		if got := keyFromPath(t, "/herald/kv", path); !bytes.Equal(got, key) {
			t.Errorf("round trip of %q via %q = %q", key, path, got)
			return false
		}
		dirs := parentDirs("/herald/kv", key)
		if len(dirs) != bytes.Count(key, []byte{'/'}) {
			t.Errorf("parentDirs(%q) = %q", key, dirs)
			return false
		}
		for _, d := range dirs {
			if !strings.HasPrefix(path, d+"/") {
				t.Errorf("parentDirs(%q) holds %q, not a parent of %q", key, d, path)
				return false
			}
		}
		return true
	}
	if err := quick.Check(check, &quick.Config{MaxCount: 5000}); err != nil {
		t.Fatal(err)
	}
	for range 5000 {
		if !check(interestingKey(r)) {
			return
		}
	}
}

// FuzzDecodeName: names come off the network (getChildren of the key
// tree, written by anyone with access). Whatever decodes must be the one
// spelling of its part, and a name ZooKeeper accepts.
func FuzzDecodeName(f *testing.F) {
	for _, s := range []string{"%", "a%2F", "%2E%2E", "%41", "%2F%2F", "caf\u00e9", "%FF", "a%2Fb"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		part, dir, err := decodeName(name)
		if err != nil {
			return
		}
		segment := part
		if dir {
			segment = part[:len(part)-1]
			if again := dirName(segment); again != name {
				t.Fatalf("decodeName(%q) = dir %q, which encodes as %q", name, part, again)
			}
		} else if again := leafName(segment); again != name {
			t.Fatalf("decodeName(%q) = leaf %q, which encodes as %q", name, part, again)
		}
		if bytes.IndexByte(segment, '/') >= 0 {
			t.Fatalf("decodeName(%q) = %q: '/' inside a segment", name, part)
		}
		if !validZnodePath("/" + name) {
			t.Fatalf("decodeName accepted %q, which ZooKeeper refuses", name)
		}
	})
}

package proxy

import (
	"fmt"
	"testing"
)

func TestReservedOverlapAndSplit(t *testing.T) {
	r := newReserved("\x00herald/")
	toEnd := []byte{0}
	cases := []struct {
		name     string
		s        span
		overlaps bool
		around   string
	}{
		{"single user key", span{key: []byte("/a")}, false, ""},
		{"single reserved key", span{key: []byte("\x00herald/leases/1")}, true, "[]"},
		{"prefix of user keys", span{key: []byte("/services/"), end: []byte("/services0")}, false, ""},
		{"whole keyspace", span{key: []byte{0}, end: toEnd}, true, `[{"\x00" "\x00herald/"} {"\x00herald0" "\x00"}]`},
		{"from empty key", span{key: nil, end: toEnd}, true, `[{"" "\x00herald/"} {"\x00herald0" "\x00"}]`},
		{"from-key after the prefix", span{key: []byte("/"), end: toEnd}, false, ""},
		{"range ending inside", span{key: nil, end: []byte("\x00herald/m")}, true, `[{"" "\x00herald/"}]`},
		{"range starting inside", span{key: []byte("\x00herald/m"), end: []byte("/x")}, true, `[{"\x00herald0" "/x"}]`},
		{"range inside", span{key: []byte("\x00herald/a"), end: []byte("\x00herald/b")}, true, "[]"},
		{"range ending at the prefix", span{key: nil, end: []byte("\x00herald/")}, false, ""},
		{"inverted range", span{key: []byte("b"), end: []byte("a")}, false, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := r.overlaps(tc.s); got != tc.overlaps {
				t.Fatalf("overlaps = %v, want %v", got, tc.overlaps)
			}
			if !tc.overlaps {
				return
			}
			var parts []string
			for _, p := range r.around(tc.s) {
				parts = append(parts, fmt.Sprintf("%q %q", p.key, p.end))
			}
			got := "["
			for i, p := range parts {
				if i > 0 {
					got += " "
				}
				got += "{" + p + "}"
			}
			got += "]"
			if got != tc.around {
				t.Fatalf("around = %s, want %s", got, tc.around)
			}
		})
	}
}

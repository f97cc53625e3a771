package relay

import (
	"strings"
	"testing"
)

func TestToken(t *testing.T) {
	a, a2, b := Token([]byte("fleet key one....")), Token([]byte("fleet key one....")), Token([]byte("fleet key two...."))
	if a != a2 {
		t.Fatal("the same key gives different tokens")
	}
	if a == b || a == Token(nil) {
		t.Fatal("different keys give the same token")
	}
	if len(a) != 64 || strings.Contains(a, "fleet") {
		t.Fatalf("token %q: want 64 hex digits that do not show the key", a)
	}
}

func TestTokenMatches(t *testing.T) {
	tok := Token([]byte("k"))
	for _, tc := range []struct {
		name string
		got  []string
		want string
		ok   bool
	}{
		{"right", []string{tok}, tok, true},
		{"missing", nil, tok, false},
		{"wrong", []string{Token([]byte("other"))}, tok, false},
		{"prefix", []string{tok[:10]}, tok, false},
		{"twice", []string{tok, tok}, tok, false},
		{"handler without token", []string{""}, "", false},
	} {
		if got := tokenMatches(tc.got, tc.want); got != tc.ok {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.ok)
		}
	}
}

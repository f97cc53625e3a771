package membership

import (
	"bytes"
	"encoding/base64"
	"os"
	"path/filepath"
	"testing"
)

func TestParseKey(t *testing.T) {
	raw32 := bytes.Repeat([]byte{0xa5}, 32)
	raw16 := []byte("0123456789abcdef")
	for _, tc := range []struct {
		name string
		in   []byte
		want []byte
	}{
		{"raw 32", raw32, raw32},
		{"raw 16 text", raw16, raw16},
		{"base64 32", []byte(base64.StdEncoding.EncodeToString(raw32)), raw32},
		{"base64 with newline", []byte(base64.StdEncoding.EncodeToString(raw32) + "\n"), raw32},
		{"base64 16", []byte(base64.StdEncoding.EncodeToString(raw16)), raw16},
		{"too short", []byte("short"), nil},
		{"base64 of 20 bytes", []byte(base64.StdEncoding.EncodeToString(make([]byte, 20))), nil},
		{"empty", nil, nil},
	} {
		got, err := ParseKey(tc.in)
		if tc.want == nil {
			if err == nil {
				t.Errorf("%s: ParseKey accepted %q", tc.name, tc.in)
			}
			continue
		}
		if err != nil || !bytes.Equal(got, tc.want) {
			t.Errorf("%s: ParseKey = %x, %v; want %x", tc.name, got, err, tc.want)
		}
	}
}

func TestLoadKey(t *testing.T) {
	p := filepath.Join(t.TempDir(), "fleet.key")
	key := bytes.Repeat([]byte{7}, 24)
	if err := os.WriteFile(p, []byte(base64.StdEncoding.EncodeToString(key)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := LoadKey(p)
	if err != nil || !bytes.Equal(got, key) {
		t.Fatalf("LoadKey = %x, %v; want %x", got, err, key)
	}
	if _, err := LoadKey(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Fatal("LoadKey of a missing file succeeded")
	}
}

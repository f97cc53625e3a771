package lease

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
)

func TestCarrierRecordRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		in   CarrierRecord
	}{
		{"typical", CarrierRecord{Owner: "rack7-h1", Session: 0x7fff_0000_0000_0001}},
		{"one-byte owner", CarrierRecord{Owner: "h", Session: 1}},
		{"negative session", CarrierRecord{Owner: "h", Session: -1}},
		{"binary owner", CarrierRecord{Owner: "\x00\xff", Session: 2}},
		{"longest owner", CarrierRecord{Owner: strings.Repeat("h", maxName), Session: 3}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := tc.in.Encode()
			got, err := DecodeCarrierRecord(b)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.in {
				t.Fatalf("got %+v, want %+v", got, tc.in)
			}
			if !bytes.Equal(got.Encode(), b) {
				t.Fatal("re-encoding differs")
			}
		})
	}
}

func TestCarrierRecordEncoding(t *testing.T) {
	got := CarrierRecord{Owner: "h1", Session: -2}.Encode()
	want := []byte{carrierRecordVersion, 2, 'h', '1', 3} // zig-zag: -2 → 3
	if !bytes.Equal(got, want) {
		t.Fatalf("Encode = %x, want %x", got, want)
	}
}

func TestDecodeCarrierRecordErrors(t *testing.T) {
	good := CarrierRecord{Owner: "h1", Session: 77}.Encode()
	tests := []struct {
		name string
		in   []byte
	}{
		{"empty", nil},
		{"version only", []byte{carrierRecordVersion}},
		{"unknown version", append([]byte{2}, good[1:]...)},
		{"version 0", append([]byte{0}, good[1:]...)},
		{"a lease record", Record{ID: 1, TTL: 1}.Encode()[1:]},
		{"truncated owner", good[:3]},
		{"missing session", good[:len(good)-1]},
		{"trailing byte", append(bytes.Clone(good), 0)},
		{"empty owner", CarrierRecord{Owner: "", Session: 77}.Encode()},
		{"owner too long", CarrierRecord{Owner: strings.Repeat("h", maxName+1), Session: 77}.Encode()},
		{"no session", CarrierRecord{Owner: "h1"}.Encode()},
		{"non-minimal owner length", []byte{carrierRecordVersion, 0x82, 0x00, 'h', '1', 2}},
		{"non-minimal session", []byte{carrierRecordVersion, 2, 'h', '1', 0x82, 0x00}},
		{"overflowing session", append([]byte{carrierRecordVersion, 2, 'h', '1'}, bytes.Repeat([]byte{0xff}, 11)...)},
		{"huge owner length", binary.AppendUvarint([]byte{carrierRecordVersion}, 1<<40)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if c, err := DecodeCarrierRecord(tc.in); !errors.Is(err, ErrBadRecord) || c != (CarrierRecord{}) {
				t.Fatalf("DecodeCarrierRecord = %+v, %v; want zero, ErrBadRecord", c, err)
			}
		})
	}
}

func TestSessionInfoRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		in   SessionInfo
	}{
		{"typical", SessionInfo{Name: "rack7-h1", URL: "http://10.0.0.7:2379"}},
		{"no URL", SessionInfo{Name: "h1"}},
		{"longest", SessionInfo{Name: strings.Repeat("n", maxName), URL: strings.Repeat("u", maxName)}},
		{"binary", SessionInfo{Name: "\x00", URL: "\xff"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := tc.in.Encode()
			got, err := DecodeSessionInfo(b)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.in {
				t.Fatalf("got %+v, want %+v", got, tc.in)
			}
			if !bytes.Equal(got.Encode(), b) {
				t.Fatal("re-encoding differs")
			}
		})
	}
}

func TestSessionInfoEncoding(t *testing.T) {
	got := SessionInfo{Name: "h", URL: "u:1"}.Encode()
	want := []byte{sessionInfoVersion, 1, 'h', 3, 'u', ':', '1'}
	if !bytes.Equal(got, want) {
		t.Fatalf("Encode = %x, want %x", got, want)
	}
}

func TestDecodeSessionInfoErrors(t *testing.T) {
	good := SessionInfo{Name: "h1", URL: "http://x"}.Encode()
	tests := []struct {
		name string
		in   []byte
	}{
		{"empty", nil},
		{"version only", []byte{sessionInfoVersion}},
		{"unknown version", append([]byte{2}, good[1:]...)},
		{"missing URL", good[:3]},
		{"truncated URL", good[:len(good)-1]},
		{"trailing byte", append(bytes.Clone(good), 0)},
		{"empty name", SessionInfo{URL: "http://x"}.Encode()},
		{"name too long", SessionInfo{Name: strings.Repeat("n", maxName+1)}.Encode()},
		{"URL too long", SessionInfo{Name: "h", URL: strings.Repeat("u", maxName+1)}.Encode()},
		{"non-minimal name length", []byte{sessionInfoVersion, 0x81, 0x00, 'h', 0}},
		{"non-minimal URL length", []byte{sessionInfoVersion, 1, 'h', 0x80, 0x00}},
		{"huge URL length", binary.AppendUvarint([]byte{sessionInfoVersion, 1, 'h'}, 1<<62)},
		{"a carrier record", CarrierRecord{Owner: "h1", Session: 1}.Encode()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if s, err := DecodeSessionInfo(tc.in); !errors.Is(err, ErrBadRecord) || s != (SessionInfo{}) {
				t.Fatalf("DecodeSessionInfo = %+v, %v; want zero, ErrBadRecord", s, err)
			}
		})
	}
}

// FuzzDecodeCarrierRecord: carrier records come off the network (etcd
// values under the reserved prefix). The decoder never panics, fails only
// with ErrBadRecord, and accepts only what it would encode itself.
func FuzzDecodeCarrierRecord(f *testing.F) {
	f.Add(CarrierRecord{Owner: "h1", Session: 77}.Encode())
	f.Add(CarrierRecord{Owner: "rack7-h1", Session: -1}.Encode())
	f.Add(CarrierRecord{Owner: strings.Repeat("h", maxName), Session: 1}.Encode())
	f.Add([]byte{})
	f.Add([]byte{carrierRecordVersion, 2, 'h', '1', 0x82, 0x00})
	f.Add([]byte{carrierRecordVersion, 0x82, 0x00, 'h', '1', 2})
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := DecodeCarrierRecord(b)
		if err != nil {
			if !errors.Is(err, ErrBadRecord) {
				t.Fatalf("error %v does not wrap ErrBadRecord", err)
			}
			return
		}
		if c.Owner == "" || len(c.Owner) > maxName || c.Session == NoLease {
			t.Fatalf("accepted invalid %+v", c)
		}
		if got := c.Encode(); !bytes.Equal(got, b) {
			t.Fatalf("accepted %x but re-encodes to %x", b, got)
		}
		if again, err := DecodeCarrierRecord(c.Encode()); err != nil || again != c {
			t.Fatalf("decode∘encode = %+v, %v; want %+v", again, err, c)
		}
	})
}

// FuzzDecodeSessionInfo: as FuzzDecodeCarrierRecord, for session values.
func FuzzDecodeSessionInfo(f *testing.F) {
	f.Add(SessionInfo{Name: "h1", URL: "http://10.0.0.7:2379"}.Encode())
	f.Add(SessionInfo{Name: "h1"}.Encode())
	f.Add([]byte{})
	f.Add([]byte{sessionInfoVersion, 1, 'h', 0x80, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := DecodeSessionInfo(b)
		if err != nil {
			if !errors.Is(err, ErrBadRecord) {
				t.Fatalf("error %v does not wrap ErrBadRecord", err)
			}
			return
		}
		if s.Name == "" || len(s.Name) > maxName || len(s.URL) > maxName {
			t.Fatalf("accepted invalid %+v", s)
		}
		if got := s.Encode(); !bytes.Equal(got, b) {
			t.Fatalf("accepted %x but re-encodes to %x", b, got)
		}
		if again, err := DecodeSessionInfo(s.Encode()); err != nil || again != s {
			t.Fatalf("decode∘encode = %+v, %v; want %+v", again, err, s)
		}
	})
}

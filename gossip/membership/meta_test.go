package membership

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestMetaRoundTrip(t *testing.T) {
	for _, m := range []Meta{
		{ID: "h1"},
		{ID: "rack-7-herald", GRPCAddr: "10.0.0.7:2379", GossipAddr: "10.0.0.7:7947", Roles: []string{"feeder"}},
		{ID: "x", Roles: []string{"feeder", "relay", ""}, Leaving: true},
	} {
		b, err := m.MarshalBinary()
		if err != nil {
			t.Fatalf("marshal %+v: %v", m, err)
		}
		got, err := DecodeMeta(b)
		if err != nil {
			t.Fatalf("decode %+v: %v", m, err)
		}
		if !reflect.DeepEqual(got, m) {
			t.Fatalf("round trip: got %+v, want %+v", got, m)
		}
	}
}

func TestMetaTooLarge(t *testing.T) {
	m := Meta{ID: "h", Roles: []string{strings.Repeat("r", 600)}}
	if _, err := m.MarshalBinary(); !errors.Is(err, ErrMetaTooLarge) {
		t.Fatalf("MarshalBinary of a 600-byte role: err = %v, want ErrMetaTooLarge", err)
	}
	if _, err := DecodeMeta(make([]byte, MaxMetaSize+1)); !errors.Is(err, ErrMetaTooLarge) {
		t.Fatalf("DecodeMeta of 513 bytes: err = %v, want ErrMetaTooLarge", err)
	}
}

func TestDecodeMetaRejects(t *testing.T) {
	good, err := Meta{ID: "h1", GRPCAddr: "a:1", GossipAddr: "b:2", Roles: []string{"feeder"}}.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{
		"empty":         nil,
		"version 2":     append([]byte{2}, good[1:]...),
		"trailing byte": append(bytes.Clone(good), 0),
		"huge count":    {1, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f},
		"unknown flag":  append([]byte{1, 2}, good[2:]...),
		"bad uvarint":   {1, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01},
	} {
		if _, err := DecodeMeta(b); err == nil {
			t.Errorf("%s: DecodeMeta(%x) accepted", name, b)
		}
	}
	for i := range good {
		if _, err := DecodeMeta(good[:i]); err == nil {
			t.Errorf("DecodeMeta accepted a truncation to %d of %d bytes", i, len(good))
		}
	}
}

func FuzzDecodeMeta(f *testing.F) {
	b, _ := Meta{ID: "h1", GRPCAddr: "127.0.0.1:2379", GossipAddr: "127.0.0.1:7947", Roles: []string{"feeder"}}.MarshalBinary()
	f.Add(b)
	f.Add([]byte{1, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := DecodeMeta(b)
		if err != nil {
			return
		}
		again, err := m.MarshalBinary()
		if err != nil {
			t.Fatalf("decoded %+v does not re-encode: %v", m, err)
		}
		if !bytes.Equal(again, b) {
			t.Fatalf("decode/encode not canonical: in %x, out %x", b, again)
		}
	})
}

package transport

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

var fuzzNonce = bytes.Repeat([]byte{9}, nonceSize)

// stream builds a valid inbound byte stream: hello then data frames.
func stream(t testing.TB, id string, payloads ...string) []byte {
	key, err := DeriveKey(fleetKey)
	if err != nil {
		t.Fatal(err)
	}
	mac := connMAC(key, fuzzNonce, id)
	b := appendFrame(nil, mac, typeHello, 0, []byte(id))
	for i, p := range payloads {
		b = appendFrame(b, mac, typeData, uint64(i+1), []byte(p))
	}
	return b
}

// decodeStream runs the inbound decoder over b and returns the sender and
// the payloads up to the first error.
func decodeStream(t testing.TB, b []byte) (string, [][]byte, error) {
	key, err := DeriveKey(fleetKey)
	if err != nil {
		t.Fatal(err)
	}
	fr := &frameReader{r: bytes.NewReader(b), key: key, maxPayload: 1 << 16}
	id, err := fr.readHello(fuzzNonce)
	if err != nil {
		return "", nil, err
	}
	var out [][]byte
	for {
		p, err := fr.next()
		if err != nil {
			return id, out, err
		}
		out = append(out, p)
	}
}

func TestDecodeStream(t *testing.T) {
	b := stream(t, "h1", "one", "", "three")
	id, got, err := decodeStream(t, b)
	if !errors.Is(err, io.EOF) || id != "h1" || len(got) != 3 || string(got[2]) != "three" {
		t.Fatalf("decode = %q %q %v", id, got, err)
	}
	for i := 1; i < len(b); i++ {
		if _, _, err := decodeStream(t, b[:i]); !errors.Is(err, errReject) && !(errors.Is(err, io.EOF) && isFrameBoundary(t, b, i)) {
			t.Fatalf("truncation at %d: err %v, want a rejection", i, err)
		}
	}
}

// isFrameBoundary reports whether b[:i] ends exactly after a whole frame.
func isFrameBoundary(t testing.TB, b []byte, i int) bool {
	for off := 0; off < i; {
		h, err := decodeHeader(b[off:], 1<<16)
		if err != nil {
			t.Fatal(err)
		}
		off += headerSize + int(h.len) + macSize
		if off == i {
			return true
		}
	}
	return false
}

func TestDecodeHeaderRejects(t *testing.T) {
	good := stream(t, "h1")[:headerSize]
	for name, mutate := range map[string]func([]byte){
		"magic":   func(b []byte) { b[0] = 'x' },
		"version": func(b []byte) { b[2] = 2 },
		"type":    func(b []byte) { b[3] = 7 },
		"length":  func(b []byte) { b[12] = 0xff },
	} {
		b := bytes.Clone(good)
		mutate(b)
		if _, err := decodeHeader(b, 1<<16); !errors.Is(err, errReject) {
			t.Errorf("%s: decodeHeader accepted %x", name, b)
		}
	}
	if _, err := decodeHeader(good[:headerSize-1], 1<<16); err == nil {
		t.Error("short header accepted")
	}
}

func TestDeriveKey(t *testing.T) {
	k1, err := DeriveKey(fleetKey)
	if err != nil {
		t.Fatal(err)
	}
	k2, _ := DeriveKey(otherKey)
	if bytes.Equal(k1, k2) || bytes.Equal(k1, fleetKey) {
		t.Fatal("derived keys not distinct from each other and the fleet key")
	}
	if _, err := DeriveKey([]byte("short")); err == nil {
		t.Fatal("short fleet key accepted")
	}
}

// FuzzDecodeFrame feeds arbitrary bytes to the inbound decoder (hello, then
// data frames): it must never panic, never accept a frame it cannot
// authenticate, and re-encoding what it accepts must give the input back.
func FuzzDecodeFrame(f *testing.F) {
	f.Add(stream(f, "h1", "hello", "world"))
	f.Add(stream(f, "h1"))
	f.Add(stream(f, "h1", "x")[:40])
	f.Add([]byte("hg\x01\x02"))
	f.Fuzz(func(t *testing.T, b []byte) {
		id, payloads, err := decodeStream(t, b)
		if err == nil {
			t.Fatal("decoder ended without error")
		}
		if id == "" {
			return
		}
		strs := make([]string, len(payloads))
		for i, p := range payloads {
			strs[i] = string(p)
		}
		again := stream(t, id, strs...)
		if !bytes.HasPrefix(b, again) {
			t.Fatalf("accepted frames are not the input's prefix:\n in %x\nout %x", b, again)
		}
	})
}

// FuzzDecodeHeader checks the header decoder alone.
func FuzzDecodeHeader(f *testing.F) {
	f.Add(stream(f, "h1", "x")[:headerSize])
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := decodeHeader(b, 1<<16)
		if err != nil {
			return
		}
		if h.len > 1<<16 || (h.typ != typeHello && h.typ != typeData) {
			t.Fatalf("accepted header %+v", h)
		}
	})
}

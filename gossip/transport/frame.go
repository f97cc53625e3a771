package transport

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"
)

const (
	headerSize = 16 // magic 2, version 1, type 1, seq 8, length 4
	macSize    = sha256.Size
	nonceSize  = 16
	// challengeSize is what the listener writes on accept: magic, version, nonce.
	challengeSize = 3 + nonceSize

	wireVersion = 1
	typeHello   = 1
	typeData    = 2

	maxIDSize = 255

	// DefaultMaxFrameSize bounds a frame's payload (2 MiB: above etcd's
	// 1.5 MiB request limit plus protocol overhead).
	DefaultMaxFrameSize = 2 << 20
)

var magic = [2]byte{'h', 'g'}

// errReject marks a frame that failed a check (as opposed to a connection
// that ended); such frames are counted in Stats.FramesRejected.
var errReject = errors.New("transport: frame rejected")

// DeriveKey derives the frame authentication key from the fleet key
// (HKDF-SHA256), so that the key memberlist encrypts with is never used
// directly for another purpose.
func DeriveKey(fleetKey []byte) ([]byte, error) {
	if len(fleetKey) < 16 {
		return nil, fmt.Errorf("transport: fleet key of %d bytes, want at least 16", len(fleetKey))
	}
	k, err := hkdf.Key(sha256.New, fleetKey, nil, "herald gossip transport v1", 32)
	if err != nil {
		return nil, fmt.Errorf("transport: derive key: %w", err)
	}
	return k, nil
}

// connMAC returns the HMAC for one connection: keyed by the transport key,
// the listener's nonce and the dialer's id.
func connMAC(key, nonce []byte, id string) hash.Hash {
	h := hmac.New(sha256.New, key)
	h.Write([]byte("herald gossip conn v1\x00"))
	h.Write(nonce)
	h.Write([]byte(id))
	return hmac.New(sha256.New, h.Sum(nil))
}

type header struct {
	typ byte
	seq uint64
	len uint32
}

// decodeHeader parses a frame header from network bytes.
func decodeHeader(b []byte, maxPayload int) (header, error) {
	if len(b) < headerSize {
		return header{}, fmt.Errorf("%w: short header (%d bytes)", errReject, len(b))
	}
	if b[0] != magic[0] || b[1] != magic[1] {
		return header{}, fmt.Errorf("%w: bad magic %x", errReject, b[:2])
	}
	if b[2] != wireVersion {
		return header{}, fmt.Errorf("%w: version %d", errReject, b[2])
	}
	h := header{typ: b[3], seq: binary.BigEndian.Uint64(b[4:12]), len: binary.BigEndian.Uint32(b[12:16])}
	if h.typ != typeHello && h.typ != typeData {
		return header{}, fmt.Errorf("%w: type %d", errReject, h.typ)
	}
	if uint64(h.len) > uint64(maxPayload) {
		return header{}, fmt.Errorf("%w: payload of %d bytes exceeds %d", errReject, h.len, maxPayload)
	}
	return h, nil
}

// appendFrame appends one authenticated frame to dst.
func appendFrame(dst []byte, mac hash.Hash, typ byte, seq uint64, payload []byte) []byte {
	start := len(dst)
	dst = append(dst, magic[0], magic[1], wireVersion, typ)
	dst = binary.BigEndian.AppendUint64(dst, seq)
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(payload)))
	dst = append(dst, payload...)
	mac.Reset()
	mac.Write(dst[start:])
	return mac.Sum(dst)
}

// frameReader decodes the frames of one inbound connection: the hello, then
// data frames with consecutive sequence numbers.
type frameReader struct {
	r          io.Reader
	key        []byte
	maxPayload int
	mac        hash.Hash
	id         string
	seq        uint64
	hdr        [headerSize]byte
	sum        [macSize]byte
}

// readHello reads and authenticates the dialer's hello for nonce and
// returns the dialer's id.
func (fr *frameReader) readHello(nonce []byte) (string, error) {
	h, err := fr.readHeader(maxIDSize)
	if err != nil {
		return "", err
	}
	if h.typ != typeHello || h.seq != 0 || h.len == 0 {
		return "", fmt.Errorf("%w: expected hello, got type %d seq %d len %d", errReject, h.typ, h.seq, h.len)
	}
	payload, err := fr.readBody(h)
	if err != nil {
		return "", err
	}
	id := string(payload)
	fr.mac = connMAC(fr.key, nonce, id)
	if err := fr.verify(payload); err != nil {
		return "", err
	}
	fr.id = id
	return id, nil
}

// next reads and authenticates the next data frame.
func (fr *frameReader) next() ([]byte, error) {
	if fr.mac == nil {
		return nil, errors.New("transport: next before hello")
	}
	h, err := fr.readHeader(fr.maxPayload)
	if err != nil {
		return nil, err
	}
	payload, err := fr.readBody(h)
	if err != nil {
		return nil, err
	}
	if err := fr.verify(payload); err != nil {
		return nil, err
	}
	// Checked after the MAC, so that a corrupted frame counts as corrupted.
	if h.typ != typeData || h.seq != fr.seq+1 {
		return nil, fmt.Errorf("%w: type %d seq %d after %d (replayed or reordered)", errReject, h.typ, h.seq, fr.seq)
	}
	fr.seq = h.seq
	return payload, nil
}

func (fr *frameReader) readHeader(maxPayload int) (header, error) {
	if _, err := io.ReadFull(fr.r, fr.hdr[:]); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return header{}, fmt.Errorf("%w: truncated header", errReject)
		}
		return header{}, err // io.EOF between frames: a clean close
	}
	return decodeHeader(fr.hdr[:], maxPayload)
}

func (fr *frameReader) readBody(h header) ([]byte, error) {
	payload := make([]byte, h.len)
	if _, err := io.ReadFull(fr.r, payload); err != nil {
		return nil, fmt.Errorf("%w: truncated payload: %w", errReject, err)
	}
	if _, err := io.ReadFull(fr.r, fr.sum[:]); err != nil {
		return nil, fmt.Errorf("%w: truncated MAC: %w", errReject, err)
	}
	return payload, nil
}

func (fr *frameReader) verify(payload []byte) error {
	fr.mac.Reset()
	fr.mac.Write(fr.hdr[:])
	fr.mac.Write(payload)
	if !hmac.Equal(fr.mac.Sum(nil), fr.sum[:]) {
		return fmt.Errorf("%w: bad MAC", errReject)
	}
	return nil
}

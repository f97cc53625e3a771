package membership

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"os"
)

// LoadKey reads the fleet key from a key file; see the package doc for the
// accepted formats.
func LoadKey(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("membership: read key file: %w", err)
	}
	k, err := ParseKey(b)
	if err != nil {
		return nil, fmt.Errorf("membership: key file %s: %w", path, err)
	}
	return k, nil
}

// ParseKey decodes a key file's contents: base64 text of a 16, 24 or 32 byte
// key, or those raw bytes.
func ParseKey(b []byte) ([]byte, error) {
	text := bytes.TrimSpace(b)
	if dec, err := base64.StdEncoding.DecodeString(string(text)); err == nil && validKeyLen(len(dec)) {
		return dec, nil
	}
	if validKeyLen(len(b)) {
		return bytes.Clone(b), nil
	}
	return nil, fmt.Errorf("membership: key must be 16, 24 or 32 bytes, raw or base64; got %d bytes", len(b))
}

func validKeyLen(n int) bool { return n == 16 || n == 24 || n == 32 }

package lease

import (
	"encoding/binary"
	"fmt"
)

// CarrierRecord is the value of a carrier's key: which herald owns the
// carrier, under which session. The owner is the owner only while that
// session lives (docs/fleet-leases.md, "Sessions and ownership").
type CarrierRecord struct {
	Owner   string // herald name
	Session ID     // the owner's session lease when it claimed the carrier
}

// SessionInfo is the value of a herald's session key: how peers reach it.
type SessionInfo struct {
	Name string
	// URL is the herald's advertised client URL, where peers forward the
	// lease calls of the leases it owns.
	URL string
}

// The first byte of each encoding.
const (
	carrierRecordVersion = 1
	sessionInfoVersion   = 1
)

// maxName bounds a herald name or URL in a record (a name is a DNS-ish
// label, a URL a host:port with a scheme).
const maxName = 4096

// Encode returns the canonical form: version | uvarint len, Owner | varint Session.
func (c CarrierRecord) Encode() []byte {
	b := make([]byte, 0, 2+binary.MaxVarintLen64*2+len(c.Owner))
	b = append(b, carrierRecordVersion)
	b = appendString(b, c.Owner)
	return binary.AppendVarint(b, int64(c.Session))
}

// DecodeCarrierRecord parses a CarrierRecord, strictly (see DecodeRecord);
// failures wrap ErrBadRecord.
func DecodeCarrierRecord(b []byte) (CarrierRecord, error) {
	d := decoder{b: b}
	if v := d.byte(); d.err == nil && v != carrierRecordVersion {
		return CarrierRecord{}, fmt.Errorf("%w: carrier record: unknown version %d", ErrBadRecord, v)
	}
	var c CarrierRecord
	c.Owner = d.string()
	c.Session = ID(d.varint())
	d.finish()
	switch {
	case d.err != nil:
	case c.Owner == "" || len(c.Owner) > maxName:
		d.fail("carrier record: owner name of %d bytes", len(c.Owner))
	case c.Session == NoLease:
		d.fail("carrier record: no session")
	}
	if d.err != nil {
		return CarrierRecord{}, d.err
	}
	return c, nil
}

// Encode returns the canonical form: version | uvarint len, Name | uvarint len, URL.
func (s SessionInfo) Encode() []byte {
	b := make([]byte, 0, 1+2*binary.MaxVarintLen64+len(s.Name)+len(s.URL))
	b = append(b, sessionInfoVersion)
	b = appendString(b, s.Name)
	return appendString(b, s.URL)
}

// DecodeSessionInfo parses a SessionInfo, strictly; failures wrap
// ErrBadRecord.
func DecodeSessionInfo(b []byte) (SessionInfo, error) {
	d := decoder{b: b}
	if v := d.byte(); d.err == nil && v != sessionInfoVersion {
		return SessionInfo{}, fmt.Errorf("%w: session info: unknown version %d", ErrBadRecord, v)
	}
	var s SessionInfo
	s.Name = d.string()
	s.URL = d.string()
	d.finish()
	switch {
	case d.err != nil:
	case s.Name == "" || len(s.Name) > maxName || len(s.URL) > maxName:
		d.fail("session info: name of %d bytes, URL of %d", len(s.Name), len(s.URL))
	}
	if d.err != nil {
		return SessionInfo{}, d.err
	}
	return s, nil
}

// finish fails on trailing bytes.
func (d *decoder) finish() {
	if d.err == nil && len(d.b) != 0 {
		d.fail("%d trailing bytes", len(d.b))
	}
}

package fanout

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"go.etcd.io/etcd/api/v3/mvccpb"
)

// Wire encoding of a Batch (version 1), what feeders broadcast:
//
//	byte    version (1)
//	byte    flags: bit 0 = ProgressOnly; other bits zero
//	uvarint PrevRev, Rev
//	uvarint number of events, then each event:
//	  byte  bit 0 = DELETE, bit 1 = has PrevKv; other bits zero
//	  kv    Kv, then PrevKv if present
//	kv = uvarint len, key, uvarint len, value, uvarint CreateRevision,
//	     uvarint ModRevision, uvarint Version, varint Lease
//
// Varints must be minimal, revisions fit in int64, nothing may trail, and
// the decoded batch must pass Validate: one encoding per batch.
const (
	batchVersion = 1

	// MaxBatchBytes bounds an encoded batch.
	MaxBatchBytes = 64 << 20

	minEventBytes = 1 + 6 // flags + the smallest kv
)

var errShort = errors.New("fanout: batch truncated")

// MarshalBinary encodes b (which must be valid) in the version 1 format.
func (b Batch) MarshalBinary() ([]byte, error) {
	if err := b.Validate(); err != nil {
		return nil, err
	}
	out := []byte{batchVersion, 0}
	if b.ProgressOnly {
		out[1] = 1
	}
	out = binary.AppendUvarint(out, uint64(b.PrevRev))
	out = binary.AppendUvarint(out, uint64(b.Rev))
	out = binary.AppendUvarint(out, uint64(len(b.Events)))
	for _, ev := range b.Events {
		var f byte
		if ev.Type == mvccpb.Event_DELETE {
			f |= 1
		}
		if ev.PrevKv != nil {
			f |= 2
		}
		out = append(out, f)
		var err error
		if out, err = appendKV(out, ev.Kv); err != nil {
			return nil, err
		}
		if ev.PrevKv != nil {
			if out, err = appendKV(out, ev.PrevKv); err != nil {
				return nil, err
			}
		}
	}
	if len(out) > MaxBatchBytes {
		return nil, fmt.Errorf("fanout: encoded batch of %d bytes exceeds %d", len(out), MaxBatchBytes)
	}
	return out, nil
}

func appendKV(out []byte, kv *mvccpb.KeyValue) ([]byte, error) {
	if kv.CreateRevision < 0 || kv.ModRevision < 0 || kv.Version < 0 {
		return nil, fmt.Errorf("fanout: negative revision in key-value %q", kv.Key)
	}
	out = binary.AppendUvarint(out, uint64(len(kv.Key)))
	out = append(out, kv.Key...)
	out = binary.AppendUvarint(out, uint64(len(kv.Value)))
	out = append(out, kv.Value...)
	out = binary.AppendUvarint(out, uint64(kv.CreateRevision))
	out = binary.AppendUvarint(out, uint64(kv.ModRevision))
	out = binary.AppendUvarint(out, uint64(kv.Version))
	return binary.AppendVarint(out, kv.Lease), nil
}

// UnmarshalBinary decodes a version 1 batch strictly (see the format above).
func (b *Batch) UnmarshalBinary(data []byte) error {
	if len(data) > MaxBatchBytes {
		return fmt.Errorf("fanout: batch of %d bytes exceeds %d", len(data), MaxBatchBytes)
	}
	d := decoder{buf: data}
	if d.byte() != batchVersion {
		if d.err != nil {
			return d.err
		}
		return fmt.Errorf("fanout: unknown batch version %d", data[0])
	}
	flags := d.byte()
	if flags&^1 != 0 {
		d.fail(fmt.Errorf("fanout: unknown batch flags %#x", flags))
	}
	nb := Batch{ProgressOnly: flags&1 != 0}
	nb.PrevRev = d.int63()
	nb.Rev = d.int63()
	n := d.uvarint()
	if d.err == nil && n > uint64(len(d.buf)/minEventBytes) {
		d.fail(fmt.Errorf("fanout: batch claims %d events in %d bytes", n, len(d.buf)))
	}
	if d.err == nil && n > 0 {
		nb.Events = make([]*mvccpb.Event, 0, n)
	}
	for i := uint64(0); i < n && d.err == nil; i++ {
		f := d.byte()
		if f&^3 != 0 {
			d.fail(fmt.Errorf("fanout: unknown event flags %#x", f))
			break
		}
		ev := &mvccpb.Event{Kv: d.kv()}
		if f&1 != 0 {
			ev.Type = mvccpb.Event_DELETE
		}
		if f&2 != 0 {
			ev.PrevKv = d.kv()
		}
		nb.Events = append(nb.Events, ev)
	}
	if d.err != nil {
		return d.err
	}
	if len(d.buf) != 0 {
		return fmt.Errorf("fanout: %d trailing bytes after batch", len(d.buf))
	}
	if err := nb.Validate(); err != nil {
		return err
	}
	*b = nb
	return nil
}

type decoder struct {
	buf []byte
	err error
}

func (d *decoder) fail(err error) {
	if d.err == nil {
		d.err = err
	}
}

func (d *decoder) byte() byte {
	if d.err != nil {
		return 0
	}
	if len(d.buf) == 0 {
		d.fail(errShort)
		return 0
	}
	c := d.buf[0]
	d.buf = d.buf[1:]
	return c
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.buf)
	if n == 0 {
		d.fail(errShort)
		return 0
	}
	if n < 0 {
		d.fail(errors.New("fanout: varint overflows in batch"))
		return 0
	}
	if n != uvarintLen(v) {
		d.fail(errors.New("fanout: non-minimal varint in batch"))
		return 0
	}
	d.buf = d.buf[n:]
	return v
}

func (d *decoder) int63() int64 {
	v := d.uvarint()
	if v > math.MaxInt64 {
		d.fail(errors.New("fanout: revision overflows int64"))
		return 0
	}
	return int64(v)
}

func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.buf)
	if n == 0 {
		d.fail(errShort)
		return 0
	}
	if n < 0 {
		d.fail(errors.New("fanout: varint overflows in batch"))
		return 0
	}
	if n != len(binary.AppendVarint(nil, v)) {
		d.fail(errors.New("fanout: non-minimal varint in batch"))
		return 0
	}
	d.buf = d.buf[n:]
	return v
}

func (d *decoder) bytes() []byte {
	n := d.uvarint()
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.buf)) {
		d.fail(errShort)
		return nil
	}
	if n == 0 {
		return nil
	}
	out := make([]byte, n)
	copy(out, d.buf)
	d.buf = d.buf[n:]
	return out
}

func (d *decoder) kv() *mvccpb.KeyValue {
	kv := &mvccpb.KeyValue{}
	kv.Key = d.bytes()
	kv.Value = d.bytes()
	kv.CreateRevision = d.int63()
	kv.ModRevision = d.int63()
	kv.Version = d.int63()
	kv.Lease = d.varint()
	return kv
}

func uvarintLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}

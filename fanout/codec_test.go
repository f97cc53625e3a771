package fanout

import (
	"bytes"
	"strings"
	"testing"

	"go.etcd.io/etcd/api/v3/mvccpb"
	"google.golang.org/protobuf/proto"
)

func sampleBatch() Batch {
	e := newFakeEtcd()
	e.txn(op{key: "/services/a", value: "1", lease: 0x7fffffffffffffff})
	e.txn(op{key: "/services/a", value: "2", lease: -3}, op{key: "/services/b", value: ""})
	e.txn(op{del: true, key: "/services/a"})
	return Batch{PrevRev: 1, Rev: 9, Events: e.history}
}

func batchesEqual(a, b Batch) bool {
	if a.PrevRev != b.PrevRev || a.Rev != b.Rev || a.ProgressOnly != b.ProgressOnly || len(a.Events) != len(b.Events) {
		return false
	}
	for i := range a.Events {
		if !proto.Equal(a.Events[i], b.Events[i]) {
			return false
		}
	}
	return true
}

func TestBatchRoundTrip(t *testing.T) {
	for _, b := range []Batch{
		sampleBatch(),
		{PrevRev: 0, Rev: 1},
		{PrevRev: 5, Rev: 1 << 62, ProgressOnly: true},
		{PrevRev: 7, Rev: 7, ProgressOnly: true}, // a heartbeat
	} {
		data, err := b.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		var got Batch
		if err := got.UnmarshalBinary(data); err != nil {
			t.Fatal(err)
		}
		if !batchesEqual(b, got) {
			t.Fatalf("round trip changed the batch:\n%v\n%v", b, got)
		}
	}
}

func TestBatchDecodeRejects(t *testing.T) {
	good, err := sampleBatch().MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	mutate := func(f func([]byte) []byte) []byte { return f(bytes.Clone(good)) }
	for _, tc := range []struct {
		name, err string
		data      []byte
	}{
		{"empty", "truncated", nil},
		{"version", "unknown batch version", mutate(func(b []byte) []byte { b[0] = 2; return b })},
		{"flags", "unknown batch flags", mutate(func(b []byte) []byte { b[1] = 4; return b })},
		{"truncated", "truncated", good[:len(good)-1]},
		{"trailing", "trailing", append(bytes.Clone(good), 0)},
		{"non-minimal varint", "non-minimal", []byte{1, 0, 0x80, 0x00, 1, 0}},
		{"count beyond data", "claims", []byte{1, 0, 0, 1, 0x7f}},
		{"revision overflow", "overflows", []byte{1, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0}},
		{"unchained", "want 0 <= prev < rev", []byte{1, 0, 3, 3, 0}},
		{"progress with events", "progress-only", mutate(func(b []byte) []byte { b[1] = 1; return b })},
		{"event flags", "unknown event flags", mutate(func(b []byte) []byte { b[5] = 8; return b })},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b Batch
			err := b.UnmarshalBinary(tc.data)
			if err == nil || !strings.Contains(err.Error(), tc.err) || !strings.HasPrefix(err.Error(), "fanout: ") {
				t.Fatalf("got %v, want an error with %q", err, tc.err)
			}
		})
	}
}

func TestBatchValidateRejects(t *testing.T) {
	kv := func(key string, rev int64) *mvccpb.Event {
		return &mvccpb.Event{Kv: &mvccpb.KeyValue{Key: []byte(key), ModRevision: rev, CreateRevision: rev, Version: 1}}
	}
	for name, b := range map[string]Batch{
		"negative prev":    {PrevRev: -1, Rev: 1},
		"backwards":        {PrevRev: 5, Rev: 4, ProgressOnly: true},
		"empty, not idle":  {PrevRev: 4, Rev: 4},
		"event before":     {PrevRev: 2, Rev: 4, Events: []*mvccpb.Event{kv("/a", 2)}},
		"event after":      {PrevRev: 2, Rev: 4, Events: []*mvccpb.Event{kv("/a", 5)}},
		"out of order":     {PrevRev: 2, Rev: 5, Events: []*mvccpb.Event{kv("/a", 4), kv("/b", 3)}},
		"empty key":        {PrevRev: 2, Rev: 4, Events: []*mvccpb.Event{kv("", 3)}},
		"nil kv":           {PrevRev: 2, Rev: 4, Events: []*mvccpb.Event{{}}},
		"unknown type":     {PrevRev: 2, Rev: 4, Events: []*mvccpb.Event{{Type: 7, Kv: kv("/a", 3).Kv}}},
		"progress, events": {PrevRev: 2, Rev: 4, ProgressOnly: true, Events: []*mvccpb.Event{kv("/a", 3)}},
	} {
		if err := b.Validate(); err == nil {
			t.Errorf("%s: valid", name)
		}
		if _, err := b.MarshalBinary(); err == nil {
			t.Errorf("%s: encoded", name)
		}
	}
}

// FuzzBatchDecode: the decoder never panics, and accepts exactly one
// encoding per batch (what it accepts re-encodes to the same bytes).
func FuzzBatchDecode(f *testing.F) {
	good, _ := sampleBatch().MarshalBinary()
	f.Add(good)
	prog, _ := Batch{PrevRev: 3, Rev: 300, ProgressOnly: true}.MarshalBinary()
	f.Add(prog)
	f.Add([]byte{1, 0, 0x80, 0x00, 1, 0})
	f.Add([]byte{1, 0, 0, 1, 0x7f})
	f.Fuzz(func(t *testing.T, data []byte) {
		var b Batch
		if err := b.UnmarshalBinary(data); err != nil {
			return
		}
		again, err := b.MarshalBinary()
		if err != nil {
			t.Fatalf("decoded batch does not encode: %v", err)
		}
		if !bytes.Equal(again, data) {
			t.Fatalf("re-encoding differs:\n%x\n%x", data, again)
		}
		var b2 Batch
		if err := b2.UnmarshalBinary(again); err != nil || !batchesEqual(b, b2) {
			t.Fatalf("second decode: %v", err)
		}
	})
}

package lease

import (
	"errors"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func TestGrantErrors(t *testing.T) {
	tests := []struct {
		name    string
		minTTL  int64
		id      ID
		ttl     int64
		wantID  ID
		wantTTL int64
		wantErr error
	}{
		{name: "chosen id", id: 7, ttl: 10, wantID: 7, wantTTL: 10},
		{name: "allocated id", id: NoLease, ttl: 10, wantID: 101, wantTTL: 10},
		{name: "negative chosen id is honoured as by etcd", id: -3, ttl: 10, wantID: -3, wantTTL: 10},
		{name: "taken id", id: 1, ttl: 10, wantErr: ErrLeaseExists},
		{name: "too large before taken", id: 1, ttl: MaxLeaseTTL + 1, wantErr: ErrLeaseTTLTooLarge},
		{name: "max ttl", id: 8, ttl: MaxLeaseTTL, wantID: 8, wantTTL: MaxLeaseTTL},
		{name: "zero ttl raised to min", id: 9, ttl: 0, wantID: 9, wantTTL: 1},
		{name: "negative ttl raised to min", id: 9, ttl: -1, wantID: 9, wantTTL: 1},
		{name: "etcd's min", minTTL: 2, id: 9, ttl: 1, wantID: 9, wantTTL: 2},
		{name: "above etcd's min", minTTL: 2, id: 9, ttl: 3, wantID: 9, wantTTL: 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tab := New(Config{MinTTL: tc.minTTL}, &seqIDs{next: 100})
			if _, _, err := tab.Grant(1, 5, 9, t0); err != nil {
				t.Fatal(err)
			}
			id, ttl, err := tab.Grant(tc.id, tc.ttl, 9, t0)
			if !errors.Is(err, tc.wantErr) || id != tc.wantID || ttl != tc.wantTTL {
				t.Fatalf("Grant(%d, %d) = %d, %d, %v; want %d, %d, %v", tc.id, tc.ttl, id, ttl, err, tc.wantID, tc.wantTTL, tc.wantErr)
			}
		})
	}
}

func TestNotFound(t *testing.T) {
	tab := New(Config{}, &seqIDs{})
	if _, _, err := tab.Grant(1, 5, 9, t0); err != nil {
		t.Fatal(err)
	}
	later := t0.Add(5 * time.Second) // lease 1 expired, not yet ticked
	tests := []struct {
		name string
		call func() error
	}{
		{"keepalive unknown", func() error { _, err := tab.KeepAlive(2, t0); return err }},
		{"keepalive expired", func() error { _, err := tab.KeepAlive(1, later); return err }},
		{"attach unknown", func() error { _, err := tab.Attach(2, "/k", 1, t0); return err }},
		{"attach expired", func() error { _, err := tab.Attach(1, "/k", 1, later); return err }},
		{"revoke unknown", func() error { _, err := tab.Revoke(2); return err }},
		{"record unknown", func() error { _, err := tab.Record(2); return err }},
		{"restore NoLease", func() error { return tab.Restore(Record{TTL: 5}, 1, nil, t0) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.call(); !errors.Is(err, ErrLeaseNotFound) {
				t.Fatalf("got %v, want ErrLeaseNotFound", err)
			}
		})
	}
	if st := tab.TimeToLive(1, later, true); st.TTL != -1 || st.GrantedTTL != 0 || st.Keys != nil {
		t.Fatalf("expired TimeToLive = %+v, want TTL -1", st)
	}
	if err := tab.Restore(Record{ID: 1, TTL: 5}, 1, nil, t0); !errors.Is(err, ErrLeaseExists) {
		t.Fatalf("restore over existing: %v", err)
	}
}

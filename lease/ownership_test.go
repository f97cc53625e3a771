package lease

import (
	"errors"
	"slices"
	"testing"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"google.golang.org/protobuf/proto"
)

// at is the fake clock: t0 plus an offset.
func at(d time.Duration) time.Time { return t0.Add(d) }

const ms = time.Millisecond

func TestOwnershipSessionValidity(t *testing.T) {
	// A session granted with TTL 2 s by a grant sent at t0, margin 100 ms:
	// certainly alive until t0+1.9s, exclusive.
	tests := []struct {
		name  string
		steps func(o *Ownership)
		now   time.Duration
		want  bool
	}{
		{"just granted", nil, 0, true},
		{"before the end", nil, 1899 * ms, true},
		{"at sentAt+TTL-margin", nil, 1900 * ms, false},
		{"after", nil, 2 * time.Second, false},
		{"renewal sent later extends", func(o *Ownership) { o.SessionRenewed(at(time.Second), 2, at(time.Second)) }, 2899 * ms, true},
		{"renewal extends to its own end only", func(o *Ownership) { o.SessionRenewed(at(time.Second), 2, at(time.Second)) }, 2900 * ms, false},
		{"older renewal answered late does not shorten", func(o *Ownership) {
			o.SessionRenewed(at(time.Second), 2, at(time.Second))
			o.SessionRenewed(at(500*ms), 2, at(500*ms))
		}, 2899 * ms, true},
		{"shorter TTL does not shorten", func(o *Ownership) { o.SessionRenewed(at(500*ms), 1, at(500*ms)) }, 1899 * ms, true},
		{"ttl 0 changes nothing", func(o *Ownership) { o.SessionRenewed(at(time.Second), 0, at(time.Second)) }, 1899 * ms, true},
		{"ttl 0 does not extend", func(o *Ownership) { o.SessionRenewed(at(time.Second), 0, at(time.Second)) }, 1900 * ms, false},
		{"lost", func(o *Ownership) { o.SessionLost() }, 0, false},
		{"renewed after lost stays invalid", func(o *Ownership) {
			o.SessionLost()
			o.SessionRenewed(at(time.Second), 2, at(time.Second))
		}, time.Second, false},
		{"new session", func(o *Ownership) {
			o.SessionLost()
			o.SetSession(88, at(5*time.Second), 2)
		}, 6 * time.Second, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := NewOwnership(100 * ms)
			o.SetSession(77, t0, 2)
			if tc.steps != nil {
				tc.steps(o)
			}
			if got := o.SessionValid(at(tc.now)); got != tc.want {
				t.Fatalf("SessionValid(t0+%v) = %v, want %v", tc.now, got, tc.want)
			}
		})
	}
}

func TestOwnershipSessionLapse(t *testing.T) {
	// Session of TTL 2 s granted by a grant sent at t0, margin 100 ms:
	// certainly alive until t0+1.9s.
	type answer struct{ sent, recv time.Duration }
	tests := []struct {
		name    string
		answers []answer
		want    Lapse // what the last answer returns
	}{
		{"answered in time", []answer{{time.Second, 1100 * ms}}, Lapse{}},
		{"answered just before the end", []answer{{time.Second, 1899 * ms}}, Lapse{}},
		{"answered after the end", []answer{{time.Second, 2400 * ms}},
			Lapse{From: at(1900 * ms), Length: 500 * ms}},
		{"answered too late to prove now: still open", []answer{{100 * ms, 2500 * ms}}, Lapse{}},
		{"closed by the next answer, from its start", []answer{{100 * ms, 2500 * ms}, {2 * time.Second, 2600 * ms}},
			Lapse{From: at(1900 * ms), Length: 700 * ms}},
		{"closed once", []answer{{time.Second, 2400 * ms}, {2 * time.Second, 2500 * ms}}, Lapse{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := NewOwnership(100 * ms)
			o.SetSession(77, t0, 2)
			var got Lapse
			for _, a := range tc.answers {
				got = o.SessionRenewed(at(a.sent), 2, at(a.recv))
			}
			if got != tc.want {
				t.Fatalf("lapse %+v, want %+v", got, tc.want)
			}
		})
	}
	t.Run("none once lost", func(t *testing.T) {
		o := NewOwnership(100 * ms)
		o.SetSession(77, t0, 2)
		o.SessionRenewed(at(100*ms), 2, at(2500*ms)) // opens a lapse
		o.SessionLost()
		o.SetSession(88, at(3*time.Second), 2)
		if got := o.SessionRenewed(at(3500*ms), 2, at(3600*ms)); got != (Lapse{}) {
			t.Fatalf("lapse %+v under a new session, want none (the old session's lapse ended with it)", got)
		}
	})
	t.Run("ttl 0 proves nothing", func(t *testing.T) {
		o := NewOwnership(100 * ms)
		o.SetSession(77, t0, 2)
		if got := o.SessionRenewed(at(time.Second), 0, at(2500*ms)); got != (Lapse{}) {
			t.Fatalf("lapse %+v from a TTL 0 answer, want none", got)
		}
	})
}

func TestOwnershipNoSession(t *testing.T) {
	o := NewOwnership(0)
	if o.Session() != NoLease || o.SessionValid(t0) {
		t.Fatal("a new Ownership has a session")
	}
	if _, ok := o.NextExpiry(); ok {
		t.Fatal("NextExpiry without a session")
	}
	o.Claim(1001, 6, 10, t0, 10)
	if o.Valid(1001, t0) {
		t.Fatal("a carrier is valid without a session")
	}
}

func TestOwnershipCarrierValidity(t *testing.T) {
	// Session: TTL 2 s from t0. Carrier 1001: claimed at rev 6, TTL 10 s
	// from t0+1s. Margin 100 ms. Session renewed at t0+1.5s (until t0+3.4s).
	tests := []struct {
		name    string
		steps   func(o *Ownership)
		carrier ID
		now     time.Duration
		want    bool
	}{
		{"both alive", nil, 1001, 2 * time.Second, true},
		{"unclaimed carrier", nil, 1002, 2 * time.Second, false},
		{"session ended, carrier alive", nil, 1001, 3400 * ms, false},
		{"carrier ended, session alive", func(o *Ownership) { o.SessionRenewed(at(9*time.Second), 10, at(9*time.Second)) }, 1001, 10900 * ms, false},
		{"carrier just before its end", func(o *Ownership) { o.SessionRenewed(at(9*time.Second), 10, at(9*time.Second)) }, 1001, 10899 * ms, true},
		{"carrier renewed", func(o *Ownership) {
			o.SessionRenewed(at(9*time.Second), 10, at(9*time.Second))
			if !o.CarrierRenewed(1001, at(5*time.Second), 10) {
				t.Fatal("CarrierRenewed = false")
			}
		}, 1001, 14899 * ms, true},
		{"carrier renewal sent earlier does not shorten", func(o *Ownership) {
			o.SessionRenewed(at(9*time.Second), 10, at(9*time.Second))
			o.CarrierRenewed(1001, at(5*time.Second), 10)
			o.CarrierRenewed(1001, at(2*time.Second), 10)
		}, 1001, 14899 * ms, true},
		{"carrier gone at etcd", func(o *Ownership) {
			if o.CarrierRenewed(1001, at(2*time.Second), 0) {
				t.Fatal("CarrierRenewed(ttl 0) = true")
			}
			if o.Owns(1001) {
				t.Fatal("a carrier gone at etcd is still owned")
			}
		}, 1001, 2 * time.Second, false},
		{"released", func(o *Ownership) { o.Release(1001) }, 1001, 2 * time.Second, false},
		{"session lost", func(o *Ownership) { o.SessionLost() }, 1001, 2 * time.Second, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := NewOwnership(100 * ms)
			o.SetSession(77, t0, 2)
			o.Claim(1001, 6, 10, at(time.Second), 10)
			o.SessionRenewed(at(1500*ms), 2, at(1500*ms))
			if tc.steps != nil {
				tc.steps(o)
			}
			if got := o.Valid(tc.carrier, at(tc.now)); got != tc.want {
				t.Fatalf("Valid(%d, t0+%v) = %v, want %v", tc.carrier, tc.now, got, tc.want)
			}
		})
	}
}

func TestOwnershipSessionLost(t *testing.T) {
	o := NewOwnership(0)
	o.SetSession(77, t0, 2)
	o.Claim(1003, 9, 10, t0, 10)
	o.Claim(1001, 6, 10, t0, 10)
	o.Claim(1002, 7, 10, t0, 10)
	if got := o.Carriers(); !slices.Equal(got, []ID{1001, 1002, 1003}) {
		t.Fatalf("Carriers = %v", got)
	}
	lost := o.SessionLost()
	if !slices.Equal(lost, []ID{1001, 1002, 1003}) {
		t.Fatalf("SessionLost = %v, want [1001 1002 1003]", lost)
	}
	if o.Session() != NoLease || len(o.Carriers()) != 0 || o.Owns(1001) || o.Fence(testKS, 1001) != nil {
		t.Fatalf("after SessionLost: session %d, carriers %v", o.Session(), o.Carriers())
	}
	if got := o.SessionLost(); len(got) != 0 {
		t.Fatalf("second SessionLost = %v", got)
	}
	// A renewal of a carrier no longer owned does not bring it back.
	o.SetSession(88, t0, 2)
	o.CarrierRenewed(1001, t0, 10)
	if o.Owns(1001) || o.Valid(1001, t0) {
		t.Fatal("a renewal re-claimed a lost carrier")
	}
}

func TestOwnershipFence(t *testing.T) {
	o := NewOwnership(0)
	o.SetSession(77, t0, 2)
	if f := o.Fence(testKS, 1001); f != nil {
		t.Fatalf("Fence of an unclaimed carrier = %v", f)
	}
	o.Claim(1001, 6, 10, t0, 10)
	want := &pb.Compare{Key: testKS.CarrierKey(1001), Target: pb.Compare_MOD, Result: pb.Compare_EQUAL,
		TargetUnion: &pb.Compare_ModRevision{ModRevision: 6}}
	if got := o.Fence(testKS, 1001); !proto.Equal(got, want) {
		t.Fatalf("Fence = %v, want %v", got, want)
	}
	// A re-claim (a takeover of one's own carrier) fences with the new revision.
	o.Claim(1001, 40, 10, t0, 10)
	want.TargetUnion = &pb.Compare_ModRevision{ModRevision: 40}
	if got := o.Fence(testKS, 1001); !proto.Equal(got, want) {
		t.Fatalf("Fence after re-claim = %v, want %v", got, want)
	}
	// Renewals do not touch the claim revision.
	o.CarrierRenewed(1001, at(time.Second), 10)
	if got := o.Fence(testKS, 1001); !proto.Equal(got, want) {
		t.Fatalf("Fence after renewal = %v, want %v", got, want)
	}
}

func TestOwnershipNextExpiry(t *testing.T) {
	tests := []struct {
		name  string
		steps func(o *Ownership)
		want  time.Duration
	}{
		{"session only", nil, 1900 * ms},
		{"session first", func(o *Ownership) { o.Claim(1001, 6, 10, t0, 10) }, 1900 * ms},
		{"a carrier first", func(o *Ownership) {
			o.SessionRenewed(at(10*time.Second), 2, at(10*time.Second))
			o.Claim(1001, 6, 10, t0, 10)
			o.Claim(1002, 7, 10, at(time.Second), 10)
		}, 9900 * ms},
		{"released carrier ignored", func(o *Ownership) {
			o.SessionRenewed(at(10*time.Second), 2, at(10*time.Second))
			o.Claim(1001, 6, 10, t0, 10)
			o.Claim(1002, 7, 10, at(time.Second), 10)
			o.Release(1001)
		}, 10900 * ms},
		{"renewal moves it", func(o *Ownership) { o.SessionRenewed(at(time.Second), 2, at(time.Second)) }, 2900 * ms},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := NewOwnership(100 * ms)
			o.SetSession(77, t0, 2)
			if tc.steps != nil {
				tc.steps(o)
			}
			got, ok := o.NextExpiry()
			if !ok || !got.Equal(at(tc.want)) {
				t.Fatalf("NextExpiry = t0+%v, %v; want t0+%v", got.Sub(t0), ok, tc.want)
			}
		})
	}
	o := NewOwnership(0)
	o.SetSession(77, t0, 2)
	o.SessionLost()
	if _, ok := o.NextExpiry(); ok {
		t.Fatal("NextExpiry after SessionLost")
	}
}

// TestOwnershipMarginAboveTTL: a margin longer than the TTL leaves nothing
// certainly alive, not even at the moment of the grant.
func TestOwnershipMarginAboveTTL(t *testing.T) {
	o := NewOwnership(3 * time.Second)
	o.SetSession(77, t0, 2)
	o.Claim(1001, 6, 2, t0, 2)
	if o.SessionValid(t0) || o.Valid(1001, t0) {
		t.Fatal("valid although margin > TTL")
	}
}

// TestOwnershipClaimRemaining: a claim learnt from an answer that gives
// the time left (a TimeToLive after a takeover) is valid for that, not for
// the granted TTL; the granted TTL is kept for scheduling renewals.
func TestOwnershipClaimRemaining(t *testing.T) {
	o := NewOwnership(100 * ms)
	o.SetSession(77, t0, 60)
	o.Claim(1001, 6, 30, at(time.Second), 4)
	if !o.Valid(1001, at(4899*ms)) || o.Valid(1001, at(4900*ms)) {
		t.Fatal("validity is not sentAt+remaining-margin")
	}
	if got := o.CarrierTTL(1001); got != 30 {
		t.Fatalf("CarrierTTL = %d, want the granted 30", got)
	}
	o.CarrierRenewed(1001, at(2*time.Second), 30)
	if !o.Valid(1001, at(31899*ms)) || o.Valid(1001, at(31900*ms)) {
		t.Fatal("a keepalive answer does not extend to sentAt+TTL-margin")
	}
	if got := o.CarrierTTL(1002); got != 0 {
		t.Fatalf("CarrierTTL of an unowned carrier = %d", got)
	}
	o.CarrierRenewed(1001, at(3*time.Second), 0)
	if got := o.CarrierTTL(1001); got != 0 {
		t.Fatalf("CarrierTTL of a carrier gone at etcd = %d", got)
	}
}

func TestCarrierTTLFor(t *testing.T) {
	tests := []struct {
		ttl, base, want int64
	}{
		{1, 1, 2},
		{2, 1, 4},
		{3, 1, 8}, // 1.5 × 3 = 4.5
		{4, 1, 8},
		{5, 15, 15},
		{10, 15, 15},
		{11, 15, 30},
		{60, 15, 120},
		{0, 15, 15},
		{-5, 10, 10},
		{3, 0, 8},  // base ≤ 0: 1
		{3, -1, 8}, // base ≤ 0: 1
		{MaxLeaseTTL, 1, MaxLeaseTTL},
		{MaxLeaseTTL - 1, 1, MaxLeaseTTL},
		{5_000_000_000, 1, 1 << 33},
		{6_500_000_000, 1, MaxLeaseTTL}, // 1.5 × it is above 2^33
	}
	for _, tc := range tests {
		got := CarrierTTLFor(tc.ttl, tc.base)
		if got != tc.want {
			t.Errorf("CarrierTTLFor(%d, %d) = %d, want %d", tc.ttl, tc.base, got, tc.want)
		}
	}
	// A carrier outlives its leases by at least half their TTL (below
	// etcd's maximum), and by less than three of their TTLs.
	for _, base := range []int64{1, 2, 3, 10, 15} {
		for ttl := int64(1); ttl <= 100_000; ttl = ttl*3/2 + 1 {
			c := CarrierTTLFor(ttl, base)
			if 2*c < 3*ttl || c > MaxLeaseTTL || (3*ttl > 2*base && c >= 3*ttl) {
				t.Fatalf("CarrierTTLFor(%d, %d) = %d", ttl, base, c)
			}
		}
	}
}

func TestGrantedTTL(t *testing.T) {
	tab := New(Config{MinTTL: 2}, &seqIDs{})
	for _, tc := range []struct {
		ttl, want int64
		err       error
	}{
		{-1, 2, nil}, {0, 2, nil}, {1, 2, nil}, {2, 2, nil}, {30, 30, nil},
		{MaxLeaseTTL, MaxLeaseTTL, nil}, {MaxLeaseTTL + 1, 0, ErrLeaseTTLTooLarge},
	} {
		got, err := tab.GrantedTTL(tc.ttl)
		if got != tc.want || !errors.Is(err, tc.err) {
			t.Errorf("GrantedTTL(%d) = %d, %v; want %d, %v", tc.ttl, got, err, tc.want, tc.err)
		}
		if tc.err == nil {
			if _, granted, err := tab.Grant(NoLease, tc.ttl, 1, t0); err != nil || granted != got {
				t.Errorf("Grant(%d) granted %d, %v; GrantedTTL said %d", tc.ttl, granted, err, got)
			}
		}
	}
}

// TestCarrierTTLForCapsHugeBase: "at most MaxLeaseTTL", whatever the base
// (--carrier-ttl-base is configuration): a carrier TTL above it is a grant
// etcd refuses.
func TestCarrierTTLForCapsHugeBase(t *testing.T) {
	if got := CarrierTTLFor(1, MaxLeaseTTL+1); got != MaxLeaseTTL {
		t.Fatalf("CarrierTTLFor(1, MaxLeaseTTL+1) = %d, want MaxLeaseTTL", got)
	}
}

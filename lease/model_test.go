package lease

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"
)

// modelLease and model are a deliberately naive lease table (maps and full
// scans) that the real one is checked against over long random histories.
type modelLease struct {
	ttl    int64
	expiry time.Time
	keys   map[string]bool
}

type model struct {
	leases map[ID]*modelLease
	next   ID
}

func (m *model) live(id ID, now time.Time) *modelLease {
	if l := m.leases[id]; l != nil && now.Before(l.expiry) {
		return l
	}
	return nil
}

func (m *model) owner(key string) ID {
	for id, l := range m.leases {
		if l.keys[key] {
			return id
		}
	}
	return NoLease
}

func sortedSet(s map[string]bool) []string {
	var out []string
	for k := range s {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// TestAgainstModel drives table and model through the same random histories
// (seeded, so failures reproduce) and compares every answer.
func TestAgainstModel(t *testing.T) {
	for seed := uint64(1); seed <= 20; seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) { runModel(t, seed, 5000) })
	}
}

func runModel(t *testing.T, seed uint64, steps int) {
	rng := rand.New(rand.NewPCG(seed, 0x1ea5e))
	tab := New(Config{}, &seqIDs{next: 100})
	m := &model{leases: map[ID]*modelLease{}, next: 100}
	now := t0
	pickID := func() ID { return ID(rng.IntN(12)) + 95 } // overlaps allocated IDs 101…
	pickKey := func() string { return fmt.Sprintf("/k%d", rng.IntN(25)) }
	fail := func(step int, op string, got, want any) {
		t.Helper()
		t.Fatalf("seed %d step %d %s: got %v, want %v", seed, step, op, got, want)
	}
	rev := int64(0) // etcd's revision: every attach and detach is a write
	for step := range steps {
		switch op := rng.IntN(100); {
		case op < 15: // advance; multiples of 250ms so expiries coincide
			now = now.Add(time.Duration(rng.IntN(7)) * 250 * time.Millisecond)
			if rng.IntN(4) == 0 { // a lapse given back (Extend), from a recent moment
				from := now.Add(-time.Duration(rng.IntN(8)) * 250 * time.Millisecond)
				by := time.Duration(1+rng.IntN(8)) * 250 * time.Millisecond
				want := 0
				for _, l := range m.leases {
					if l.expiry.After(from) {
						l.expiry = l.expiry.Add(by)
						want++
					}
				}
				if got := tab.Extend(from, by); got != want {
					fail(step, "extend", got, want)
				}
			}
		case op < 30:
			id, ttl := pickID(), int64(rng.IntN(6))-1
			if rng.IntN(3) == 0 {
				id = NoLease
			}
			gotID, gotTTL, err := tab.Grant(id, ttl, 7, now)
			wantTTL := max(ttl, 1)
			if id == NoLease {
				for id == NoLease || m.leases[id] != nil {
					m.next++
					id = m.next
				}
			}
			if m.leases[id] != nil {
				if err != ErrLeaseExists {
					fail(step, "grant existing", err, ErrLeaseExists)
				}
				continue
			}
			if err != nil || gotID != id || gotTTL != wantTTL {
				fail(step, "grant", fmt.Sprint(gotID, gotTTL, err), fmt.Sprint(id, wantTTL))
			}
			m.leases[id] = &modelLease{ttl: wantTTL, expiry: now.Add(time.Duration(wantTTL) * time.Second), keys: map[string]bool{}}
		case op < 50:
			id := pickID()
			got, err := tab.KeepAlive(id, now)
			l := m.live(id, now)
			if l == nil {
				if err != ErrLeaseNotFound {
					fail(step, "keepalive dead", err, ErrLeaseNotFound)
				}
				continue
			}
			l.expiry = now.Add(time.Duration(l.ttl) * time.Second)
			if err != nil || got != l.ttl {
				fail(step, "keepalive", fmt.Sprint(got, err), l.ttl)
			}
		case op < 70:
			id, key := pickID(), pickKey()
			rev++
			prev, err := tab.Attach(id, key, rev, now)
			l := m.live(id, now)
			if l == nil {
				if err != ErrLeaseNotFound {
					fail(step, "attach dead", err, ErrLeaseNotFound)
				}
				continue
			}
			want := m.owner(key)
			if want != NoLease {
				delete(m.leases[want].keys, key)
			}
			l.keys[key] = true
			if err != nil || prev != want {
				fail(step, "attach", fmt.Sprint(prev, err), want)
			}
		case op < 77:
			key := pickKey()
			want := m.owner(key)
			if want != NoLease {
				delete(m.leases[want].keys, key)
			}
			rev++
			if got := tab.Detach(key, rev); got != want {
				fail(step, "detach", got, want)
			}
		case op < 82:
			id := pickID()
			exp, err := tab.Revoke(id)
			keys := keyNames(exp.Keys)
			l := m.leases[id]
			if l == nil {
				if err != ErrLeaseNotFound {
					fail(step, "revoke unknown", err, ErrLeaseNotFound)
				}
				continue
			}
			delete(m.leases, id)
			if err != nil || !slices.Equal(keys, sortedSet(l.keys)) {
				fail(step, "revoke", fmt.Sprint(keys, err), sortedSet(l.keys))
			}
		case op < 92:
			var want []Expired
			for id, l := range m.leases {
				if !now.Before(l.expiry) {
					want = append(want, Expired{ID: id, Carrier: 7, Keys: nil})
				}
			}
			slices.SortFunc(want, func(a, b Expired) int {
				if c := m.leases[a.ID].expiry.Compare(m.leases[b.ID].expiry); c != 0 {
					return c
				}
				return int(a.ID - b.ID)
			})
			wantKeys := map[ID][]string{}
			for _, e := range want {
				wantKeys[e.ID] = sortedSet(m.leases[e.ID].keys)
				delete(m.leases, e.ID)
			}
			got := tab.Tick(now)
			if len(got) != len(want) {
				fail(step, "tick", got, want)
			}
			for i := range got {
				if got[i].ID != want[i].ID || got[i].Carrier != 7 || !slices.Equal(keyNames(got[i].Keys), wantKeys[want[i].ID]) {
					fail(step, "tick", got, want)
				}
			}
			var next time.Time
			for _, l := range m.leases {
				if next.IsZero() || l.expiry.Before(next) {
					next = l.expiry
				}
			}
			if got, ok := tab.NextExpiry(); ok != !next.IsZero() || !got.Equal(next) {
				fail(step, "next expiry", fmt.Sprint(got, ok), next)
			}
		default:
			id := pickID()
			got := tab.TimeToLive(id, now, true)
			want := TTLStatus{ID: id, TTL: -1}
			if l := m.live(id, now); l != nil {
				want = TTLStatus{ID: id, TTL: int64(l.expiry.Sub(now).Seconds()), GrantedTTL: l.ttl}
			}
			gotKeys := keyNames(got.Keys)
			got.Keys = nil
			if !reflect.DeepEqual(got, want) {
				fail(step, "timetolive", got, want)
			}
			if l := m.live(id, now); l != nil && !slices.Equal(gotKeys, sortedSet(l.keys)) {
				fail(step, "timetolive keys", gotKeys, sortedSet(l.keys))
			}
			var live []ID
			for id := range m.leases {
				if m.live(id, now) != nil {
					live = append(live, id)
				}
			}
			slices.Sort(live)
			if got := tab.Leases(now); fmt.Sprint(got) != fmt.Sprint(live) {
				fail(step, "leases", got, live)
			}
			if got := tab.Live(now); got != len(live) {
				fail(step, "live", got, len(live))
			}
		}
		if tab.Len() != len(m.leases) {
			fail(step, "len", tab.Len(), len(m.leases))
		}
	}
}

// keyNames drops the revisions.
func keyNames(keys []AttachedKey) []string {
	var out []string
	for _, k := range keys {
		out = append(out, k.Key)
	}
	return out
}

package lease

import (
	"maps"
	"slices"
	"strings"

	"go.etcd.io/etcd/api/v3/mvccpb"
)

// Index is one herald's replica of the reserved keyspace of the whole
// fleet: the heralds' sessions, the carriers and who owns them, every
// virtual lease's record and every attachment of a key to a virtual lease,
// plus the attachments deleted lately. It is what lets any herald serve any
// virtual lease: find its owner, show a key's virtual lease instead of its
// carrier, list the fleet's leases, and adopt a dead herald's leases.
//
// The driver loads it from a snapshot (Load) and then applies the reserved
// keyspace's events in revision order (Apply), as the fleet's feed delivers
// them; the Index itself neither orders nor repairs. Not safe for
// concurrent use.
type Index struct {
	ks  Keyspace
	rev int64

	sessions map[string]Session
	carriers map[ID]Carrier
	records  map[ID]LeaseRecord
	byKey    liveAttachments // live attachments of each key; usually one

	tombs    map[string][]Attachment // deleted attachments, for translating old events
	tombFIFO []string                // keys of tombs, oldest first, for eviction
	maxTombs int

	bad uint64 // reserved keys whose value did not decode
}

// Session is a live herald session: the session key exists.
type Session struct {
	Lease ID // the session lease the key hangs on
	Info  SessionInfo
	Rev   int64 // mod revision of the session key
}

// Carrier is a carrier's record as the index holds it.
type Carrier struct {
	CarrierRecord
	// Rev is the record's mod revision: the claim revision that the owner's
	// writes are fenced with.
	Rev int64
}

// LeaseRecord is a virtual lease as the index holds it.
type LeaseRecord struct {
	Carrier ID // the record's etcd lease
	TTL     int64
	Rev     int64 // the record's mod revision
}

// Attachment says that a key hung on a virtual lease from revision Rev on
// (and, for a deleted one, until revision Deleted).
type Attachment struct {
	Lease   ID
	Carrier ID
	Rev     int64
	Deleted int64
}

// DefaultMaxTombs bounds the deleted attachments an Index remembers: enough
// to translate the prev_kv of a whole rack's expiry (thousands of DELETEs at
// once) while the watchers receive it, at about 300 bytes each.
const DefaultMaxTombs = 1 << 14

// NewIndex returns an empty index of the keyspace ks that remembers up to
// maxTombs deleted attachments (≤ 0: DefaultMaxTombs).
func NewIndex(ks Keyspace, maxTombs int) *Index {
	if maxTombs <= 0 {
		maxTombs = DefaultMaxTombs
	}
	i := &Index{ks: ks, maxTombs: maxTombs}
	i.reset()
	return i
}

func (i *Index) reset() {
	i.sessions = map[string]Session{}
	i.carriers = map[ID]Carrier{}
	i.records = map[ID]LeaseRecord{}
	i.byKey = newLiveAttachments()
	i.tombs = map[string][]Attachment{}
	i.tombFIFO = nil
}

// Rev is the revision through which the index is complete (0 before Load).
func (i *Index) Rev() int64 { return i.rev }

// Bad counts reserved values that did not decode (written by another
// version, or corrupt); they are ignored.
func (i *Index) Bad() uint64 { return i.bad }

// Load replaces the index with a snapshot of the reserved keyspace taken at
// rev. Deleted attachments are forgotten.
func (i *Index) Load(rev int64, kvs []*mvccpb.KeyValue) {
	i.reset()
	for _, kv := range kvs {
		i.put(kv)
	}
	i.rev = rev
}

// Apply applies events of the reserved keyspace in revision order and
// marks the index complete through rev (≥ every event's revision). Events
// at or below the index's revision were applied already and are skipped, so
// the overlap of a repair is harmless.
func (i *Index) Apply(rev int64, events []*mvccpb.Event) {
	for _, ev := range events {
		if ev.Kv == nil || ev.Kv.ModRevision <= i.rev {
			continue
		}
		if ev.Type == mvccpb.DELETE {
			i.delete(ev.Kv.Key, ev.Kv.ModRevision)
		} else {
			i.put(ev.Kv)
		}
	}
	i.rev = max(i.rev, rev)
}

func (i *Index) put(kv *mvccpb.KeyValue) {
	p, ok := i.ks.Parse(kv.Key)
	if !ok {
		return
	}
	switch p.Kind {
	case KindSession:
		info, err := DecodeSessionInfo(kv.Value)
		if err != nil {
			i.bad++
			info = SessionInfo{Name: p.Name}
		}
		i.sessions[p.Name] = Session{Lease: ID(kv.Lease), Info: info, Rev: kv.ModRevision}
	case KindCarrier:
		rec, err := DecodeCarrierRecord(kv.Value)
		if err != nil {
			// Unreadable: as if the key were absent, whatever it held before.
			i.bad++
			delete(i.carriers, p.ID)
			return
		}
		i.carriers[p.ID] = Carrier{CarrierRecord: rec, Rev: kv.ModRevision}
	case KindRecord:
		rec, err := DecodeRecord(kv.Value)
		if err != nil || rec.ID != p.ID {
			i.bad++
			delete(i.records, p.ID)
			return
		}
		i.records[p.ID] = LeaseRecord{Carrier: ID(kv.Lease), TTL: rec.TTL, Rev: kv.ModRevision}
	case KindAttachment:
		a := Attachment{Lease: p.ID, Carrier: ID(kv.Lease), Rev: kv.ModRevision}
		if old, replaced := i.byKey.put(p.Key, a); replaced {
			// A re-put with the same lease: the older attachment still
			// names the lease of the key's previous version (a prev_kv).
			old.Deleted = kv.ModRevision
			i.bury(p.Key, old)
		}
	}
}

func (i *Index) delete(key []byte, rev int64) {
	p, ok := i.ks.Parse(key)
	if !ok {
		return
	}
	switch p.Kind {
	case KindSession:
		delete(i.sessions, p.Name)
	case KindCarrier:
		delete(i.carriers, p.ID)
	case KindRecord:
		delete(i.records, p.ID)
	case KindAttachment:
		if a, ok := i.byKey.remove(p.Key, p.ID); ok {
			a.Deleted = rev
			i.bury(p.Key, a)
		}
	}
}

// bury remembers a deleted attachment, forgetting the oldest beyond maxTombs.
func (i *Index) bury(key string, a Attachment) {
	key = strings.Clone(key) // not the whole reserved key's bytes (Keyspace.Parse)
	i.tombs[key] = append(i.tombs[key], a)
	i.tombFIFO = append(i.tombFIFO, key)
	for len(i.tombFIFO) > i.maxTombs {
		old := i.tombFIFO[0]
		i.tombFIFO = i.tombFIFO[1:]
		if list := i.tombs[old]; len(list) <= 1 {
			delete(i.tombs, old)
		} else {
			i.tombs[old] = list[1:]
		}
	}
}

// Session returns herald name's live session.
func (i *Index) Session(name string) (Session, bool) {
	s, ok := i.sessions[name]
	return s, ok
}

// Sessions returns the names of the heralds with a live session, sorted.
func (i *Index) Sessions() []string { return slices.Sorted(maps.Keys(i.sessions)) }

// Carrier returns carrier c's record.
func (i *Index) Carrier(c ID) (Carrier, bool) {
	rec, ok := i.carriers[c]
	return rec, ok
}

// Carriers returns every carrier with a record, ascending.
func (i *Index) Carriers() []ID { return slices.Sorted(maps.Keys(i.carriers)) }

// OwnerOf returns the herald named in carrier c's record and whether that
// herald still holds the session it claimed c with (live): only then is it
// c's owner. ok is false for an unknown carrier.
func (i *Index) OwnerOf(c ID) (owner string, live, ok bool) {
	rec, ok := i.carriers[c]
	if !ok {
		return "", false, false
	}
	s, has := i.sessions[rec.Owner]
	return rec.Owner, has && s.Lease == rec.Session, true
}

// Orphans returns the carriers whose owner's session is gone, ascending:
// the carriers waiting for a successor.
func (i *Index) Orphans() []ID {
	var ids []ID
	for c := range i.carriers {
		if _, live, _ := i.OwnerOf(c); !live {
			ids = append(ids, c)
		}
	}
	sortIDs(ids)
	return ids
}

// Lease returns virtual lease id's record.
func (i *Index) Lease(id ID) (LeaseRecord, bool) {
	r, ok := i.records[id]
	return r, ok
}

// Leases returns every virtual lease with a record, ascending.
func (i *Index) Leases() []ID { return slices.Sorted(maps.Keys(i.records)) }

// NumLeases is the number of virtual leases with a record.
func (i *Index) NumLeases() int { return len(i.records) }

// LeasesOn returns the virtual leases whose record hangs on carrier c,
// ascending.
func (i *Index) LeasesOn(c ID) []ID {
	var ids []ID
	for id, r := range i.records {
		if r.Carrier == c {
			ids = append(ids, id)
		}
	}
	sortIDs(ids)
	return ids
}

// AttachmentsOn returns the live attachments on carrier c, grouped by lease
// (keys sorted), whatever the state of the leases' records: a takeover
// restores those of leases with a record and deletes the others (orphans).
func (i *Index) AttachmentsOn(c ID) map[ID][]AttachedKey {
	out := map[ID][]AttachedKey{}
	i.byKey.all(func(key string, a Attachment) {
		if a.Carrier == c {
			out[a.Lease] = append(out[a.Lease], AttachedKey{Key: key, Rev: a.Rev})
		}
	})
	for id := range out {
		keys := out[id]
		slices.SortFunc(keys, func(a, b AttachedKey) int {
			switch {
			case a.Key < b.Key:
				return -1
			case a.Key > b.Key:
				return 1
			}
			return 0
		})
	}
	return out
}

// AttachedTo returns the virtual lease key hangs on now: its newest live
// attachment.
func (i *Index) AttachedTo(key string) (Attachment, bool) {
	var best Attachment
	i.byKey.each(key, func(a Attachment) {
		if a.Rev > best.Rev {
			best = a
		}
	})
	return best, best.Lease != NoLease
}

// VirtualLeaseOf returns the virtual lease that a key read with mod revision
// modRev and etcd lease carrier hangs on: of the key's attachments on that
// carrier, live or deleted lately, the newest one made at or before modRev.
// The index must have reached modRev (Rev() >= modRev) for the answer to be
// complete: the attachment is written in the same txn as the key.
func (i *Index) VirtualLeaseOf(key string, modRev int64, carrier ID) (ID, bool) {
	var best Attachment
	pick := func(a Attachment) {
		if a.Carrier == carrier && a.Rev <= modRev && a.Rev > best.Rev {
			best = a
		}
	}
	i.byKey.each(key, pick)
	for _, a := range i.tombs[key] {
		pick(a)
	}
	return best.Lease, best.Lease != NoLease
}

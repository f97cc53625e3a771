package lease

import (
	"slices"
	"strings"
)

// liveAttachments maps each key to its live attachments, compactly: every
// herald holds one per key of the whole fleet. A key's first attachment is
// a 24-byte entry of one map; a second one (a key briefly on two leases, as
// a put with a new lease is applied before its old attachment's delete)
// goes to a map of its own.
type liveAttachments struct {
	one  map[string]liveAttachment
	more map[string][]Attachment
}

// liveAttachment is an Attachment without Deleted.
type liveAttachment struct {
	Lease, Carrier ID
	Rev            int64
}

func (a liveAttachment) attachment() Attachment {
	return Attachment{Lease: a.Lease, Carrier: a.Carrier, Rev: a.Rev}
}

func newLiveAttachments() liveAttachments {
	return liveAttachments{one: map[string]liveAttachment{}, more: map[string][]Attachment{}}
}

// each calls f with every live attachment of key.
func (l *liveAttachments) each(key string, f func(Attachment)) {
	if a, ok := l.one[key]; ok {
		f(a.attachment())
	}
	for _, a := range l.more[key] {
		f(a)
	}
}

// all calls f with every live attachment.
func (l *liveAttachments) all(f func(key string, a Attachment)) {
	for key, a := range l.one {
		f(key, a.attachment())
	}
	for key, list := range l.more {
		for _, a := range list {
			f(key, a)
		}
	}
}

// put attaches key to a.Lease and returns the attachment to that lease it
// replaces, if any.
func (l *liveAttachments) put(key string, a Attachment) (old Attachment, replaced bool) {
	cur, ok := l.one[key]
	switch {
	case !ok:
		// The key string of an attachment event shares its bytes with the
		// whole reserved key: keep only the user key's.
		l.one[strings.Clone(key)] = liveAttachment{a.Lease, a.Carrier, a.Rev}
		return Attachment{}, false
	case cur.Lease == a.Lease:
		l.one[key] = liveAttachment{a.Lease, a.Carrier, a.Rev}
		return cur.attachment(), true
	}
	list := l.more[key]
	if j := slices.IndexFunc(list, func(x Attachment) bool { return x.Lease == a.Lease }); j >= 0 {
		old, list[j] = list[j], a
		return old, true
	}
	l.more[key] = append(list, a)
	return Attachment{}, false
}

// remove detaches key from lease and returns the attachment it ends.
func (l *liveAttachments) remove(key string, lease ID) (Attachment, bool) {
	list := l.more[key]
	if cur, ok := l.one[key]; ok && cur.Lease == lease {
		if len(list) == 0 {
			delete(l.one, key)
		} else {
			// the next attachment takes the compact place
			next := list[0]
			l.one[key] = liveAttachment{next.Lease, next.Carrier, next.Rev}
			l.setMore(key, list[1:])
		}
		return cur.attachment(), true
	}
	j := slices.IndexFunc(list, func(x Attachment) bool { return x.Lease == lease })
	if j < 0 {
		return Attachment{}, false
	}
	a := list[j]
	l.setMore(key, slices.Delete(list, j, j+1))
	return a, true
}

func (l *liveAttachments) setMore(key string, list []Attachment) {
	if len(list) == 0 {
		delete(l.more, key)
		return
	}
	l.more[key] = list
}

package upstream

import "sync"

// Witness holds the newest store revision that etcd reported on answers
// herald receives anyway (its session and carrier keepalives: etcd fills
// every answer's header with the answering member's current revision).
// A feeder whose replica already holds that revision learns from it, at no
// cost to etcd, what a progress request would have told it: nothing new
// (fanout/feed). Every note counts, so a reader can tell whether etcd
// answered since it last looked.
//
// The zero value is ready; a nil *Witness notes nothing and has seen
// nothing.
type Witness struct {
	mu    sync.Mutex
	rev   int64
	notes uint64
}

// Note records an answer of etcd's at revision rev.
func (w *Witness) Note(rev int64) {
	if w == nil || rev <= 0 {
		return
	}
	w.mu.Lock()
	w.rev = max(w.rev, rev)
	w.notes++
	w.mu.Unlock()
}

// Seen returns the newest revision noted and how many notes there have
// been; a reader that keeps the count learns, next time, whether a note
// came since.
func (w *Witness) Seen() (rev int64, notes uint64) {
	if w == nil {
		return 0, 0
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.rev, w.notes
}

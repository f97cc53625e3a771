package zookeeper

import (
	"strings"
	"sync"

	"github.com/go-zookeeper/zk"
)

// router hands the session's watch notifications to the followers whose
// subtree they concern. go-zookeeper calls deliver from its receive loop,
// for each notification in the order the server sent it and before it
// hands over any later reply: that order is what follower.go's argument
// rests on. deliver never blocks (it only appends to queues).
//
// Lock order: router.mu, then a Follower's mu (deliver notifies under
// router.mu); a Follower never takes router.mu while it holds its own.
type router struct {
	mu        sync.Mutex
	followers map[*Follower]struct{}
	closed    bool
}

func newRouter() *router { return &router{followers: map[*Follower]struct{}{}} }

func (r *router) add(f *Follower) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return false
	}
	r.followers[f] = struct{}{}
	return true
}

func (r *router) remove(f *Follower) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.followers, f)
}

func (r *router) deliver(ev zk.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for f := range r.followers {
		switch {
		case ev.Type == zk.EventSession && (ev.State == zk.StateExpired || ev.State == zk.StateDisconnected),
			ev.Type == zk.EventNotWatching && under(ev.Path, f.root):
			// The server forgot the session's watches, or the connection
			// is lost: read it all again. go-zookeeper does re-set the
			// watches on the next connection, but from a goroutine of its
			// own: requests queued meanwhile reach the server first (their
			// answers then come before the notifications the re-set
			// fires), and its relative zxid is read while answers may
			// already move it. Neither keeps the order a round relies on.
			f.notify(notice{resync: true})
		case ev.Type == zk.EventSession:
		case under(ev.Path, f.root):
			f.notify(notice{path: ev.Path, typ: ev.Type})
		}
	}
}

// close ends every follower: the session is gone.
func (r *router) close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	for f := range r.followers {
		f.notify(notice{closed: true})
	}
}

// under reports whether p is root or below it.
func under(p, root string) bool {
	return p == root || strings.HasPrefix(p, root+"/")
}

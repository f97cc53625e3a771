package zookeeper

import (
	"bytes"
	"errors"
	"fmt"
	"path"
	"slices"
	"sort"

	"github.com/go-zookeeper/zk"
	"go.etcd.io/etcd/api/v3/mvccpb"
	"golang.org/x/sync/errgroup"
)

// work is what a round reads: directories to list (ChildrenW) and keys to
// read (GetW), each read arming the znode's next watch.
type work struct {
	dirs, leaves map[string]bool
	resync       bool
}

func newWork() *work { return &work{dirs: map[string]bool{}, leaves: map[string]bool{}} }

func (w *work) empty() bool { return len(w.dirs) == 0 && len(w.leaves) == 0 }

// workFromQueue turns the notifications received into reads: a
// directory's children changed (or it was created): list it; a key's data
// changed: read it; a key was deleted: read it (it may be back) and list
// its directory (which says it is gone, and when).
func (f *Follower) workFromQueue() (*work, error) {
	q, err := f.take()
	if err != nil {
		return nil, err
	}
	w := newWork()
	for _, n := range q {
		switch {
		case n.resync:
			w.resync = true
		case n.typ == zk.EventNodeChildrenChanged || n.typ == zk.EventNodeCreated:
			if f.dirs[n.path] != nil {
				w.dirs[n.path] = true
			}
		case n.typ == zk.EventNodeDataChanged:
			if f.leaves[n.path] != nil {
				w.leaves[n.path] = true
			}
		case n.typ == zk.EventNodeDeleted:
			if f.leaves[n.path] != nil {
				w.leaves[n.path] = true
			}
			if parent := path.Dir(n.path); f.dirs[parent] != nil {
				w.dirs[parent] = true
			}
		}
	}
	return w, nil
}

// read is one znode's read in a round.
type read struct {
	path  string
	dir   bool
	names []string
	data  []byte
	stat  *zk.Stat
	err   error
}

// followReaders is how many reads a round keeps in flight.
const followReaders = 32

// round reads w (and what the reads discover), then reads the revision
// znode (the barrier) and moves the bound: to the barrier if no
// notification arrived meanwhile, else to the previous round's barrier
// (doc.go: why every change up to the bound has then been found).
func (f *Follower) round(w *work) error {
	if w.resync {
		// A new session may sit on a server behind the old one: catch it
		// up before reading, or the reads could go back in time.
		if _, err := f.c.conn.Sync(f.c.paths.rev); err != nil {
			return fmt.Errorf("sync: %w", err)
		}
		w.dirs[f.root] = true
		for p := range f.dirs {
			w.dirs[p] = true
		}
		for p := range f.leaves {
			w.leaves[p] = true
		}
	}
	var lost []int // held events deleted with their directory: revision unknown
	for !w.empty() {
		reads, err := f.readAll(w)
		if err != nil {
			return err
		}
		w = newWork()
		// Directories first: a key read in the same batch is judged
		// against its directory's newest listing (onLeaf).
		for _, r := range reads {
			if r.dir {
				lost = append(lost, f.onDir(r, w)...)
			}
		}
		for _, r := range reads {
			if !r.dir {
				f.onLeaf(r, w)
			}
		}
	}
	ok, st, err := f.c.conn.Exists(f.c.paths.rev)
	if err != nil || !ok {
		return fmt.Errorf("barrier: %v, %w", ok, err)
	}
	for _, i := range lost {
		f.held[i].rev, f.held[i].kv.ModRevision = st.Mzxid, st.Mzxid
	}
	prev := f.barrier
	f.barrier = st.Mzxid
	if !f.queued() {
		f.bound = max(f.bound, f.barrier)
	} else {
		f.bound = max(f.bound, prev)
	}
	return nil
}

func (f *Follower) readAll(w *work) ([]*read, error) {
	var reads []*read
	for p := range w.dirs {
		reads = append(reads, &read{path: p, dir: true})
	}
	for p := range w.leaves {
		reads = append(reads, &read{path: p})
	}
	var g errgroup.Group
	g.SetLimit(followReaders)
	for _, r := range reads {
		g.Go(func() error {
			if r.dir {
				r.names, r.stat, _, r.err = f.c.conn.ChildrenW(r.path)
			} else {
				r.data, r.stat, _, r.err = f.c.conn.GetW(r.path)
			}
			if r.err != nil && !errors.Is(r.err, zk.ErrNoNode) {
				return fmt.Errorf("read %s: %w", r.path, r.err)
			}
			return nil
		})
	}
	return reads, g.Wait()
}

// onDir diffs a listing with the last one: new subdirectories in the range
// are followed, new keys read, keys gone are deleted at the directory's
// pzxid (the zxid of its last child created or deleted: exact when the
// key's delete was its only change since the last listing, an upper bound
// otherwise). It returns the indexes of held events whose revision is
// unknown (the followed root itself was deleted).
func (f *Follower) onDir(r *read, w *work) []int {
	d := f.dirs[r.path]
	if d == nil {
		return nil
	}
	if errors.Is(r.err, zk.ErrNoNode) {
		if r.path != f.root {
			// Its parent's listing says it is gone.
			if f.dirs[path.Dir(r.path)] != nil {
				w.dirs[path.Dir(r.path)] = true
			}
			return nil
		}
		// Watch for the root's creation; if it is back already, list it.
		if ok, _, _, err := f.c.conn.ExistsW(r.path); err == nil && ok {
			w.dirs[r.path] = true
			return nil
		}
		start := len(f.held)
		f.forgetBelow(r.path, 0)
		d.names, d.pzxid = map[string]bool{}, 0
		var lost []int
		for i := start; i < len(f.held); i++ {
			lost = append(lost, i)
		}
		return lost
	}
	names := map[string]bool{}
	for _, name := range r.names {
		part, isDir, err := decodeName(name)
		if err != nil {
			continue // not a herald key
		}
		full := append(slices.Clip(d.prefix), part...)
		child := r.path + "/" + name
		switch {
		case isDir && overlaps(full, prefixEnd(full), f.key, f.end):
			names[name] = true
			if f.dirs[child] == nil {
				f.dirs[child] = &watchedDir{prefix: full, names: map[string]bool{}}
				w.dirs[child] = true
			}
		case !isDir && inRange(full, f.key, f.end):
			names[name] = false
			// A key read last as gone has no watch: listed again, it
			// was created again, and only a read re-arms it.
			if f.leaves[child] == nil || f.unarmed[child] {
				w.leaves[child] = true
			}
		}
	}
	for name, isDir := range d.names {
		if _, still := names[name]; still {
			continue
		}
		child := r.path + "/" + name
		if isDir {
			f.forgetBelow(child, r.stat.Pzxid)
		} else if kv := f.leaves[child]; kv != nil {
			f.found(mvccpb.DELETE, &mvccpb.KeyValue{Key: kv.Key, ModRevision: r.stat.Pzxid})
			f.forgetLeaf(child)
		}
	}
	d.names, d.pzxid = names, r.stat.Pzxid
	return nil
}

// forgetBelow deletes every key followed under dir p (not p itself) at
// rev, and stops following the directories under it.
func (f *Follower) forgetBelow(p string, rev int64) {
	for lp, kv := range f.leaves {
		if under(lp, p) {
			f.found(mvccpb.DELETE, &mvccpb.KeyValue{Key: kv.Key, ModRevision: rev})
			f.forgetLeaf(lp)
		}
	}
	for dp := range f.dirs {
		if dp != p && under(dp, p) {
			delete(f.dirs, dp)
		}
	}
	if d := f.dirs[p]; d != nil && p != f.root {
		delete(f.dirs, p)
	}
}

// onLeaf compares a key read with the last read of it: a new znode is a
// PUT (after a DELETE if the key had another znode before: deleted and
// created again between two reads), a newer mzxid is a PUT.
func (f *Follower) onLeaf(r *read, w *work) {
	parent := f.dirs[path.Dir(r.path)]
	if parent == nil {
		return
	}
	if errors.Is(r.err, zk.ErrNoNode) {
		// A read that finds no znode arms no watch: if the key is
		// created again before its directory is listed, only that
		// listing can tell, and it must then read the key (onDir).
		if f.leaves[r.path] != nil {
			f.unarmed[r.path] = true
		}
		w.dirs[path.Dir(r.path)] = true // its listing says when it went
		return
	}
	delete(f.unarmed, r.path) // this read armed its watch
	name := path.Base(r.path)
	if _, listed := parent.names[name]; !listed && r.stat.Czxid <= parent.pzxid {
		// Read before a listing that no longer shows it: the listing is
		// newer and has deleted it.
		return
	}
	part, _, err := decodeName(name)
	if err != nil {
		return
	}
	value, lease, err := decodeData(r.data)
	if err != nil {
		f.c.log.Warn("zookeeper: follower: skipping a key with foreign data", "path", r.path, "err", err)
		return
	}
	kv := &mvccpb.KeyValue{
		Key: append(slices.Clip(parent.prefix), part...), Value: value, Lease: lease,
		CreateRevision: r.stat.Czxid, ModRevision: r.stat.Mzxid, Version: int64(r.stat.Version) + 1,
	}
	old := f.leaves[r.path]
	switch {
	case old == nil:
		f.found(mvccpb.PUT, kv)
	case old.CreateRevision != kv.CreateRevision:
		// Its delete came before the create; its zxid is not known, the
		// create's is the first revision known to follow it.
		f.found(mvccpb.DELETE, &mvccpb.KeyValue{Key: kv.Key, ModRevision: kv.CreateRevision})
		f.found(mvccpb.PUT, kv)
	case old.ModRevision < kv.ModRevision:
		f.found(mvccpb.PUT, kv)
	default:
		return
	}
	f.leaves[r.path] = kv
}

// forgetLeaf stops following the key at p.
func (f *Follower) forgetLeaf(p string) {
	delete(f.leaves, p)
	delete(f.unarmed, p)
}

func (f *Follower) found(typ mvccpb.Event_EventType, kv *mvccpb.KeyValue) {
	f.seq++
	f.held = append(f.held, pendingEvent{rev: kv.ModRevision, seq: f.seq, typ: typ, kv: kv})
}

// sortPending orders events by revision, then by key (as etcd orders a
// range delete's; a txn's own op order is not known), then as found (a
// key's DELETE before its PUT when it was deleted and created again).
func sortPending(es []pendingEvent) {
	sort.Slice(es, func(i, j int) bool {
		a, b := es[i], es[j]
		if a.rev != b.rev {
			return a.rev < b.rev
		}
		if c := bytes.Compare(a.kv.Key, b.kv.Key); c != 0 {
			return c < 0
		}
		return a.seq < b.seq
	})
}

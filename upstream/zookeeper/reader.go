package zookeeper

import (
	"bytes"
	"errors"
	"fmt"
	"path"
	"slices"
	"sort"
	"sync"

	"github.com/go-zookeeper/zk"
	"go.etcd.io/etcd/api/v3/mvccpb"
	"golang.org/x/sync/errgroup"
)

// leaf is a key's znode as one read found it.
type leaf struct {
	key     []byte
	path    string
	present bool
	value   []byte
	lease   int64
	stat    zk.Stat // when present
}

// kv is the leaf as etcd shows it: revision = zxid (create_revision =
// czxid, mod_revision = mzxid) and version = dataVersion + 1, because etcd
// counts the create as version 1 where ZooKeeper counts it as 0.
func (l *leaf) kv() *mvccpb.KeyValue {
	return &mvccpb.KeyValue{
		Key:            l.key,
		CreateRevision: l.stat.Czxid,
		ModRevision:    l.stat.Mzxid,
		Version:        int64(l.stat.Version) + 1,
		Value:          l.value,
		Lease:          l.lease,
	}
}

// dir is a directory znode as one read found it. Its dataVersion is its
// generation: every multi that creates or deletes one of its children sets
// its data too (plan.go), which is what lets a multi check, with a version
// check, that the directory's children did not change.
type dir struct {
	path   string
	exists bool
	stat   zk.Stat // when exists
}

// reader reads the key tree for one attempt of a call and remembers what
// it saw, so that the attempt can check it (read-only: every stamp at or
// below the revision it started at; writes: version checks in the multi).
// Its methods may be called from one goroutine at a time; span reads
// leaves in parallel, so the maps are guarded by mu (never held across a
// read).
type reader struct {
	c *Client
	// exact readers (a write's) read a key's parent before the key, so
	// that the parent's generation, checked in the multi, proves the key
	// was not deleted and created again after it was read.
	exact  bool
	mu     sync.Mutex
	leaves map[string]*leaf // by path
	dirs   map[string]*dir  // by path
	listed []string         // the leaves' paths that spans listed
}

func newReader(c *Client, exact bool) *reader {
	return &reader{c: c, exact: exact, leaves: map[string]*leaf{}, dirs: map[string]*dir{}}
}

// get reads one key.
func (r *reader) get(key []byte) (*leaf, error) {
	p := keyPath(r.c.paths.kv, key)
	r.mu.Lock()
	l, ok := r.leaves[p]
	r.mu.Unlock()
	if ok {
		return l, nil
	}
	l = &leaf{key: key, path: p}
	if r.exact {
		if _, err := r.parent(key); err != nil {
			return nil, err
		}
	}
	data, st, err := r.c.conn.Get(p)
	switch {
	case errors.Is(err, zk.ErrNoNode):
		// The parent's generation and pzxid stand for the absence.
		if _, err := r.parent(key); err != nil {
			return nil, err
		}
	case err != nil:
		return nil, fmt.Errorf("get %s: %w", p, err)
	default:
		value, lease, derr := decodeData(data)
		if derr != nil {
			return nil, fmt.Errorf("key %q (%s): %w", key, p, derr)
		}
		l.present, l.value, l.lease, l.stat = true, value, lease, *st
	}
	r.mu.Lock()
	r.leaves[p] = l
	r.mu.Unlock()
	return l, nil
}

// stat reads a directory's stat.
func (r *reader) stat(p string) (*dir, error) {
	r.mu.Lock()
	d, ok := r.dirs[p]
	r.mu.Unlock()
	if ok {
		return d, nil
	}
	ok, st, err := r.c.conn.Exists(p)
	if err != nil {
		return nil, fmt.Errorf("stat %s: %w", p, err)
	}
	d = &dir{path: p, exists: ok}
	if ok {
		d.stat = *st
	}
	r.mu.Lock()
	r.dirs[p] = d
	r.mu.Unlock()
	return d, nil
}

// anchor is the deepest existing directory at or above p (the key tree's
// root always exists). Creating anything at p or below it must create a
// child of the anchor, so the anchor's generation stands for "nothing
// exists below p yet".
func (r *reader) anchor(p string) (*dir, error) {
	for {
		d, err := r.stat(p)
		if err != nil || d.exists || p == r.c.paths.kv {
			return d, err
		}
		p = path.Dir(p)
	}
}

// parent is the anchor of the directory that holds key: its generation
// changes whenever key's znode is created or deleted.
func (r *reader) parent(key []byte) (*dir, error) {
	return r.anchor(path.Dir(keyPath(r.c.paths.kv, key)))
}

// span reads the keys in [key, end) (end non-empty; "\x00" means no end)
// and returns the present ones in key order. It lists every directory
// whose keys may fall in the range, from the deepest one that holds the
// whole range, and records each (or, if that one does not exist, its
// anchor).
func (r *reader) span(key, end []byte) ([]*leaf, error) {
	if isOpenEnd(end) {
		end = nil
	}
	top := topPrefix(key, end)
	var paths []string
	var keys [][]byte
	var walk func(prefix []byte, p string) error
	walk = func(prefix []byte, p string) error {
		names, st, err := r.c.conn.Children(p)
		if errors.Is(err, zk.ErrNoNode) {
			_, err := r.anchor(p)
			return err
		}
		if err != nil {
			return fmt.Errorf("list %s: %w", p, err)
		}
		r.mu.Lock()
		r.dirs[p] = &dir{path: p, exists: true, stat: *st}
		r.mu.Unlock()
		for _, name := range names {
			part, isDir, err := decodeName(name)
			if err != nil {
				r.c.log.Debug("zookeeper: skipping a foreign znode in the key tree", "path", p+"/"+name, "err", err)
				continue
			}
			full := append(slices.Clip(prefix), part...)
			switch {
			case isDir && overlaps(full, prefixEnd(full), key, end):
				if err := walk(full, p+"/"+name); err != nil {
					return err
				}
			case !isDir && inRange(full, key, end):
				paths, keys = append(paths, p+"/"+name), append(keys, full)
			}
		}
		return nil
	}
	if err := walk(top, dirPath(r.c.paths.kv, top)); err != nil {
		return nil, err
	}
	g := errgroup.Group{}
	g.SetLimit(spanReaders)
	for _, k := range keys {
		g.Go(func() error { _, err := r.get(k); return err })
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	r.listed = append(r.listed, paths...)
	var out []*leaf
	for _, p := range paths {
		if l := r.leaves[p]; l.present {
			out = append(out, l)
		}
	}
	sort.Slice(out, func(i, j int) bool { return bytes.Compare(out[i].key, out[j].key) < 0 })
	return out, nil
}

// spanReaders is how many leaf reads a span keeps in flight on the one
// connection (go-zookeeper pipelines them).
const spanReaders = 32

// listedGone reports whether a key that a listing showed was gone when its
// own read came: the listing and the read saw two states.
func (r *reader) listedGone() bool {
	for _, p := range r.listed {
		if !r.leaves[p].present {
			return true
		}
	}
	return false
}

// consistentAt reports whether everything read is the state at revision
// rev: no key read was modified, created or deleted after it (mzxid), no
// directory listed or stat'ed had a child created or deleted after it
// (pzxid), and no key listed had vanished by its read. A read that began
// after rev was current and passes this saw exactly the store at rev.
func (r *reader) consistentAt(rev int64) bool {
	for _, l := range r.leaves {
		if l.present && l.stat.Mzxid > rev {
			return false
		}
	}
	for _, d := range r.dirs {
		if d.exists && d.stat.Pzxid > rev {
			return false
		}
	}
	return !r.listedGone()
}

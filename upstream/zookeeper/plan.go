package zookeeper

import (
	"bytes"
	"path"
	"slices"
	"sort"

	"github.com/go-zookeeper/zk"
	"go.etcd.io/etcd/api/v3/mvccpb"
)

// plan is one attempt at a write: what the txn read (its reader), the
// state its earlier ops left (overlay), and the multi that applies it.
//
// The multi holds, in order: version checks of everything the answer
// depends on (pins), the directories to create, the txn's writes in its
// order, a data write to each directory whose children change (its
// generation), and the revision znode's write. ZooKeeper applies all of it
// or none: when a check fails, what the txn read has changed since, and
// the txn is planned again from fresh reads.
type plan struct {
	c       *Client
	rd      *reader
	overlay map[string]*pending // by key
	pins    map[string]int32    // path → the version a check asserts
	dirs    []string            // directories to create, parents first
	writes  []any               // the leaves' creates, sets and deletes
	bumps   []string            // directories whose generation the multi sets
	created map[string]bool     // dirs, and paths bumped, already planned
	absent  map[string]*dir     // keys read absent (by path) → the directory whose generation proves it
	creates map[string]bool     // the keys' paths this txn creates
	// fill completes, once the multi's zxid is known, the KeyValues that
	// show keys this txn writes.
	fill  []func(rev int64)
	bytes int // the multi's estimated size
}

// pending is a key as the txn's earlier ops left it.
type pending struct {
	deleted bool
	kv      *mvccpb.KeyValue // when not deleted; revisions filled at commit
	created bool             // kv's znode is created by this txn
}

func newPlan(c *Client, rd *reader) *plan {
	return &plan{c: c, rd: rd, overlay: map[string]*pending{}, pins: map[string]int32{}, created: map[string]bool{},
		absent: map[string]*dir{}, creates: map[string]bool{}}
}

// opOverhead is a generous estimate of one multi op's framing (header,
// version, ACL, lengths).
const opOverhead = 64

// pinLeaf makes the multi check what l showed: its data version if present
// (and, when exact, its parent's generation: no delete and re-create came
// between, so create_revision, mod_revision, value and lease are all what
// was read); its absence otherwise, by the generation of the directory
// that would have to get it as a child, unless the txn creates the key
// itself: that create fails if the key exists, and is the proof of its
// absence (multi). So txns that create different keys in one directory,
// each after checking its own key absent, do not conflict.
func (p *plan) pinLeaf(l *leaf, exact bool) error {
	if l.present {
		p.pin(l.path, l.stat.Version)
		if !exact {
			return nil
		}
	}
	d, err := p.rd.anchor(path.Dir(l.path))
	if err != nil {
		return err
	}
	if !l.present {
		if _, ok := p.absent[l.path]; !ok {
			p.absent[l.path] = d
			p.bytes += len(d.path) + opOverhead
		}
		return nil
	}
	p.pinDir(d)
	return nil
}

func (p *plan) pinDir(d *dir) {
	if d.exists {
		p.pin(d.path, d.stat.Version)
	}
}

func (p *plan) pin(at string, version int32) {
	if _, ok := p.pins[at]; !ok {
		p.pins[at] = version
		p.bytes += len(at) + opOverhead
	}
}

// bump plans a write to dir's data: its generation moves because one of
// its children is created or deleted.
func (p *plan) bump(dir string) {
	if !p.created["bump "+dir] {
		p.created["bump "+dir] = true
		p.bumps = append(p.bumps, dir)
		p.bytes += len(dir) + opOverhead
	}
}

// create plans key's znode with data, and the directories above it that
// the reader did not find, each bumping its parent.
func (p *plan) create(key []byte, leafPath string, data []byte) error {
	anchor, err := p.rd.anchor(path.Dir(leafPath))
	if err != nil {
		return err
	}
	for _, d := range parentDirs(p.c.paths.kv, key) {
		if len(d) <= len(anchor.path) || p.created[d] {
			continue
		}
		p.created[d] = true
		p.dirs = append(p.dirs, d)
		p.bump(path.Dir(d))
		p.bytes += len(d) + opOverhead
	}
	p.writes = append(p.writes, &zk.CreateRequest{Path: leafPath, Data: data, Acl: zk.WorldACL(zk.PermAll)})
	p.creates[leafPath] = true
	p.bump(path.Dir(leafPath))
	p.bytes += len(leafPath) + len(data) + opOverhead
	return nil
}

func (p *plan) set(l *leaf, data []byte) {
	p.writes = append(p.writes, &zk.SetDataRequest{Path: l.path, Data: data, Version: l.stat.Version})
	p.bytes += len(l.path) + len(data) + opOverhead
}

func (p *plan) delete(l *leaf) {
	p.writes = append(p.writes, &zk.DeleteRequest{Path: l.path, Version: l.stat.Version})
	p.bump(path.Dir(l.path))
	p.bytes += len(l.path) + opOverhead
}

// hasWrites reports whether the txn changes anything: one that does not
// is answered from its reads, with no multi and no new revision (etcd too
// keeps its revision for a txn that changes nothing).
func (p *plan) hasWrites() bool { return len(p.writes) > 0 }

// multi lays the plan out as ZooKeeper ops (see plan).
func (p *plan) multi() []any {
	for leafPath, d := range p.absent {
		if !p.creates[leafPath] {
			p.pinDir(d)
		}
	}
	ops := make([]any, 0, len(p.pins)+len(p.dirs)+len(p.writes)+len(p.bumps)+1)
	pinned := make([]string, 0, len(p.pins))
	for at := range p.pins {
		pinned = append(pinned, at)
	}
	sort.Strings(pinned)
	for _, at := range pinned {
		ops = append(ops, &zk.CheckVersionRequest{Path: at, Version: p.pins[at]})
	}
	for _, d := range p.dirs {
		ops = append(ops, &zk.CreateRequest{Path: d, Acl: zk.WorldACL(zk.PermAll)})
	}
	ops = append(ops, p.writes...)
	for _, d := range p.bumps {
		ops = append(ops, &zk.SetDataRequest{Path: d, Version: -1})
	}
	return append(ops, p.c.bumpRevision())
}

// commit runs the multi and returns its zxid, the txn's revision (the
// revision znode's new mzxid), after filling the KeyValues that wait for it.
func (p *plan) commit() (int64, error) {
	res, err := p.c.conn.Multi(p.multi()...)
	if err != nil {
		return 0, err
	}
	last := res[len(res)-1]
	if last.Stat == nil {
		return 0, errMultiShape
	}
	rev := last.Stat.Mzxid
	p.c.saw(rev)
	p.c.clock.learn(last.Stat.Mtime)
	for _, f := range p.fill {
		f(rev)
	}
	return rev, nil
}

// state is key as the txn sees it now: as its earlier ops left it, or as
// read.
func (p *plan) state(key []byte) (*pending, *leaf, error) {
	if o, ok := p.overlay[string(key)]; ok {
		return o, nil, nil
	}
	l, err := p.rd.get(key)
	return nil, l, err
}

// overlayIn returns the keys the txn wrote in [key, end) (end nil: key
// alone; "\x00": no end), in key order.
func (p *plan) overlayIn(key, end []byte) []string {
	var out []string
	for k := range p.overlay {
		kb := []byte(k)
		switch {
		case len(end) == 0:
			if bytes.Equal(kb, key) {
				out = append(out, k)
			}
		case isOpenEnd(end):
			if bytes.Compare(kb, key) >= 0 {
				out = append(out, k)
			}
		case inRange(kb, key, end):
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

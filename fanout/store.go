package fanout

import (
	"bytes"
	"slices"
	"sort"

	"go.etcd.io/etcd/api/v3/mvccpb"
)

// kvStore holds the current key-values of the fan-out prefixes, sorted by
// key. Values are never modified in place: a put replaces the pointer.
type kvStore struct {
	kvs []*mvccpb.KeyValue
}

func (s *kvStore) find(key []byte) (int, bool) {
	i := sort.Search(len(s.kvs), func(i int) bool { return bytes.Compare(s.kvs[i].Key, key) >= 0 })
	return i, i < len(s.kvs) && bytes.Equal(s.kvs[i].Key, key)
}

func (s *kvStore) put(kv *mvccpb.KeyValue) {
	i, ok := s.find(kv.Key)
	if ok {
		s.kvs[i] = kv
		return
	}
	s.kvs = append(s.kvs, nil)
	copy(s.kvs[i+1:], s.kvs[i:])
	s.kvs[i] = kv
}

func (s *kvStore) delete(key []byte) {
	if i, ok := s.find(key); ok {
		s.kvs = append(s.kvs[:i], s.kvs[i+1:]...)
	}
}

func (s *kvStore) apply(ev *mvccpb.Event) {
	if ev.Type == mvccpb.Event_DELETE {
		s.delete(ev.Kv.Key)
		return
	}
	s.put(ev.Kv)
}

// deleteFunc deletes the keys of sp for which del is true.
func (s *kvStore) deleteFunc(sp span, del func(key []byte) bool) {
	s.kvs = slices.DeleteFunc(s.kvs, func(kv *mvccpb.KeyValue) bool {
		return sp.contains(kv.Key) && del(kv.Key)
	})
}

// in returns the key-values of sp in key order (shared, read-only).
func (s *kvStore) in(sp span) []*mvccpb.KeyValue {
	i, ok := s.find(sp.start)
	if sp.single {
		if ok {
			return s.kvs[i : i+1]
		}
		return nil
	}
	j := i
	for j < len(s.kvs) && sp.contains(s.kvs[j].Key) {
		j++
	}
	return s.kvs[i:j]
}

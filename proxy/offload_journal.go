package proxy

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"sync"

	"github.com/heraldproj/herald/lease"
)

// journal keeps, in herald's data dir, the virtual leases this herald
// granted and that have not ended. etcd keeps a lease that has no key across
// its own restart; herald's upstream records are written with a lease's
// first key (a grant must not move etcd's revision), so a keyless lease
// would be lost on restart without this local journal. A grant is answered
// only once its entry is on disk (fsync, shared by concurrent grants); the
// end of a lease is written without waiting: lost, it only lets a dead
// lease come back for one TTL after a crash.
//
// File format: entries of [kind byte][uvarint length][payload][crc32 of
// kind+payload, 4 bytes LE]; kind 'G' carries a lease.Record (no keys),
// kind 'E' a varint lease ID. Replay stops at the first torn or corrupt
// entry (a crash mid-write) and the file is rewritten from what was read.
type journal struct {
	path string

	mu      sync.Mutex // guards everything below but synced
	f       *os.File
	w       *bufio.Writer
	live    map[lease.ID]lease.Record
	entries int    // entries in the file, live or not
	written uint64 // entries written so far (a sequence for group commit)

	syncMu sync.Mutex // one fsync at a time; guards synced
	synced uint64
}

const (
	entryGrant = 'G'
	entryEnd   = 'E'
	// maxEntry bounds an entry's payload (a record without keys is small).
	maxEntry = 64 << 10
)

// openJournal replays the journal at path (creating it if absent) and
// rewrites it compactly. It returns the live leases it holds.
func openJournal(path string) (*journal, map[lease.ID]lease.Record, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, nil, fmt.Errorf("proxy: lease journal: %w", err)
	}
	live := map[lease.ID]lease.Record{}
	if b, err := os.ReadFile(path); err == nil {
		live = replayJournal(b)
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, nil, fmt.Errorf("proxy: lease journal: %w", err)
	}
	j := &journal{path: path, live: live}
	if err := j.rewrite(); err != nil {
		return nil, nil, err
	}
	out := make(map[lease.ID]lease.Record, len(live))
	for id, r := range live {
		out[id] = r
	}
	return j, out, nil
}

// replayJournal folds a journal's entries into the live leases, stopping at
// the first entry that is torn or corrupt.
func replayJournal(b []byte) map[lease.ID]lease.Record {
	live := map[lease.ID]lease.Record{}
	for len(b) > 0 {
		kind, payload, rest, ok := decodeEntry(b)
		if !ok {
			break
		}
		b = rest
		switch kind {
		case entryGrant:
			if rec, err := lease.DecodeRecord(payload); err == nil {
				live[rec.ID] = rec
			}
		case entryEnd:
			if id, n := binary.Varint(payload); n > 0 && n == len(payload) {
				delete(live, lease.ID(id))
			}
		}
	}
	return live
}

func encodeEntry(kind byte, payload []byte) []byte {
	b := make([]byte, 0, 1+binary.MaxVarintLen64+len(payload)+4)
	b = append(b, kind)
	b = binary.AppendUvarint(b, uint64(len(payload)))
	b = append(b, payload...)
	crc := crc32.NewIEEE()
	crc.Write([]byte{kind})
	crc.Write(payload)
	return binary.LittleEndian.AppendUint32(b, crc.Sum32())
}

// decodeEntry reads one entry; ok is false for a torn or corrupt one.
func decodeEntry(b []byte) (kind byte, payload, rest []byte, ok bool) {
	if len(b) < 1 {
		return 0, nil, nil, false
	}
	kind = b[0]
	n, w := binary.Uvarint(b[1:])
	if w <= 0 || n > maxEntry || uint64(len(b)-1-w) < n+4 {
		return 0, nil, nil, false
	}
	payload = b[1+w : 1+w+int(n)]
	sum := binary.LittleEndian.Uint32(b[1+w+int(n):])
	crc := crc32.NewIEEE()
	crc.Write([]byte{kind})
	crc.Write(payload)
	if crc.Sum32() != sum || (kind != entryGrant && kind != entryEnd) {
		return 0, nil, nil, false
	}
	return kind, payload, b[1+w+int(n)+4:], true
}

// grant records a new lease and returns once it is on disk.
func (j *journal) grant(rec lease.Record) error {
	rec.Keys = nil
	j.mu.Lock()
	if _, err := j.w.Write(encodeEntry(entryGrant, rec.Encode())); err != nil {
		j.mu.Unlock()
		return fmt.Errorf("proxy: lease journal: %w", err)
	}
	j.live[rec.ID] = rec
	j.entries++
	j.written++
	seq := j.written
	j.mu.Unlock()
	return j.sync(seq)
}

// end records that leases ended, without waiting for the disk; it rewrites
// the file when most of it is dead.
func (j *journal) end(ids ...lease.ID) {
	j.mu.Lock()
	for _, id := range ids {
		if _, ok := j.live[id]; !ok {
			continue
		}
		delete(j.live, id)
		_, _ = j.w.Write(encodeEntry(entryEnd, binary.AppendVarint(nil, int64(id))))
		j.entries++
		j.written++
	}
	compact := j.entries > 1024 && j.entries > 4*len(j.live)
	j.mu.Unlock()
	if compact {
		_ = j.rewrite()
	}
}

// sync makes every entry up to seq durable; concurrent callers share one
// fsync (group commit).
func (j *journal) sync(seq uint64) error {
	j.syncMu.Lock()
	defer j.syncMu.Unlock()
	if j.synced >= seq {
		return nil
	}
	j.mu.Lock()
	err := j.w.Flush()
	target, f := j.written, j.f
	j.mu.Unlock()
	if err == nil {
		err = f.Sync()
	}
	if err != nil {
		return fmt.Errorf("proxy: lease journal: %w", err)
	}
	j.synced = target
	return nil
}

// rewrite replaces the file with the live leases only.
func (j *journal) rewrite() error {
	j.syncMu.Lock()
	defer j.syncMu.Unlock()
	j.mu.Lock()
	defer j.mu.Unlock()
	tmp := j.path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("proxy: lease journal: %w", err)
	}
	w := bufio.NewWriter(f)
	for _, rec := range j.live {
		if _, err := w.Write(encodeEntry(entryGrant, rec.Encode())); err != nil {
			f.Close()
			return fmt.Errorf("proxy: lease journal: %w", err)
		}
	}
	err = w.Flush()
	if err == nil {
		err = f.Sync()
	}
	if err != nil {
		f.Close()
		return fmt.Errorf("proxy: lease journal: %w", err)
	}
	if err := os.Rename(tmp, j.path); err != nil {
		f.Close()
		return fmt.Errorf("proxy: lease journal: %w", err)
	}
	if dir, err := os.Open(filepath.Dir(j.path)); err == nil {
		_ = dir.Sync()
		dir.Close()
	}
	if j.f != nil {
		_ = j.w.Flush()
		j.f.Close()
	}
	if _, err := f.Seek(0, io.SeekEnd); err != nil {
		f.Close()
		return fmt.Errorf("proxy: lease journal: %w", err)
	}
	j.f, j.w = f, bufio.NewWriter(f)
	j.entries = len(j.live)
	j.synced = j.written
	return nil
}

// close flushes and closes the file.
func (j *journal) close() {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.f != nil {
		_ = j.w.Flush()
		_ = j.f.Sync()
		j.f.Close()
		j.f = nil
	}
}

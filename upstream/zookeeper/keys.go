package zookeeper

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// errBadName is why a znode name under the key tree is not one that
// encodeKey produces (a foreign znode, or a corrupt one).
var errBadName = errors.New("zookeeper: not a herald key name")

// keyPath is the znode path of key under the key tree kv: the key split on
// '/', each segment but the last a directory znode named dirName, the last
// the key's own znode named leafName. Keys are never empty (etcd refuses
// them first).
func keyPath(kv string, key []byte) string {
	var b strings.Builder
	b.WriteString(kv)
	for {
		i := bytes.IndexByte(key, '/')
		if i < 0 {
			b.WriteByte('/')
			b.WriteString(leafName(key))
			return b.String()
		}
		b.WriteByte('/')
		b.WriteString(dirName(key[:i]))
		key = key[i+1:]
	}
}

// dirPath is the znode path of the directory that holds the keys starting
// with prefix, where prefix is empty or ends with '/'.
func dirPath(kv string, prefix []byte) string {
	var b strings.Builder
	b.WriteString(kv)
	for len(prefix) > 0 {
		i := bytes.IndexByte(prefix, '/')
		b.WriteByte('/')
		b.WriteString(dirName(prefix[:i]))
		prefix = prefix[i+1:]
	}
	return b.String()
}

// parentDirs are the directory znodes of key's path, from the key tree's
// first level down to the key's parent (none for a key without '/').
func parentDirs(kv string, key []byte) []string {
	var dirs []string
	for i := range key {
		if key[i] == '/' {
			dirs = append(dirs, dirPath(kv, key[:i+1]))
		}
	}
	return dirs
}

// dirName names the directory of the keys that continue segment + "/": the
// escaped segment followed by "%2F", the escape of the '/' it stands for.
// A leaf's segment holds no '/', so its name never ends that way.
func dirName(segment []byte) string { return escape(segment) + "%2F" }

// emptyLeaf names the key whose last segment is empty (a key ending in
// '/'): znode names cannot be empty, and a lone '%' is no escape.
const emptyLeaf = "%"

// leafName names the znode of a key whose last segment is segment.
func leafName(segment []byte) string {
	switch string(segment) {
	case "":
		return emptyLeaf
	case ".", "..":
		// ZooKeeper refuses "." and ".." as names; only whole-dot names
		// are escaped, so "a.b" stays readable.
		return strings.Repeat("%2E", len(segment))
	}
	return escape(segment)
}

// decodeName is the inverse of dirName and leafName: the bytes the name
// stands for in the key (the segment, plus the trailing '/' for a
// directory) and whether it names a directory. Only names that dirName or
// leafName produce are accepted (byte for byte: a second spelling of a key
// would be a second key), so decodeName(n) succeeds iff n is canonical.
func decodeName(name string) (part []byte, dir bool, err error) {
	if name == emptyLeaf {
		return []byte{}, false, nil
	}
	part, err = unescape(name)
	if err != nil {
		return nil, false, err
	}
	segment, dir := bytes.CutSuffix(part, []byte{'/'})
	if bytes.IndexByte(segment, '/') >= 0 {
		return nil, false, fmt.Errorf("%w: %q holds '/' inside a segment", errBadName, name)
	}
	canonical := leafName(segment)
	if dir {
		canonical = dirName(segment)
	}
	if canonical != name {
		return nil, false, fmt.Errorf("%w: %q is not canonical (%q)", errBadName, name, canonical)
	}
	return part, dir, nil
}

// plainRune reports whether r may stand for itself in a znode name: it is
// neither '%' (the escape) nor '/' (the separator), and ZooKeeper accepts
// it in paths (PathUtils refuses controls, U+007F–U+009F, U+D800–U+F8FF,
// which covers the surrogates that runes above U+FFFF would need in
// Java's strings, and U+FFF0–U+FFFF).
func plainRune(r rune) bool {
	switch {
	case r == '%' || r == '/':
		return false
	case r >= 0x20 && r <= 0x7e:
		return true
	case r >= 0xa0 && r <= 0xd7ff, r >= 0xf900 && r <= 0xffef:
		return true
	}
	return false
}

const hexDigits = "0123456789ABCDEF"

// escape writes b's plain runes as they are and every other byte as %XX
// (upper-case hex): invalid UTF-8, '%', '/' and what ZooKeeper refuses.
func escape(b []byte) string {
	var s strings.Builder
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		if (r != utf8.RuneError || size > 1) && plainRune(r) {
			s.Write(b[:size])
		} else {
			for _, c := range b[:size] {
				s.WriteByte('%')
				s.WriteByte(hexDigits[c>>4])
				s.WriteByte(hexDigits[c&0xf])
			}
		}
		b = b[size:]
	}
	return s.String()
}

// unescape decodes %XX (upper-case hex only) and copies the rest.
func unescape(name string) ([]byte, error) {
	out := make([]byte, 0, len(name))
	for i := 0; i < len(name); i++ {
		if name[i] != '%' {
			out = append(out, name[i])
			continue
		}
		if i+2 >= len(name) {
			return nil, fmt.Errorf("%w: %q ends inside an escape", errBadName, name)
		}
		hi, lo := strings.IndexByte(hexDigits, name[i+1]), strings.IndexByte(hexDigits, name[i+2])
		if hi < 0 || lo < 0 {
			return nil, fmt.Errorf("%w: %q has a bad escape at %d", errBadName, name, i)
		}
		out = append(out, byte(hi<<4|lo))
		i += 2
	}
	return out, nil
}

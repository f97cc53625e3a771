package tests

import (
	"testing"

	"github.com/heraldproj/herald/tests/harness"
)

// TestConformanceKV: put, get with every option etcdctl has, and del.
func TestConformanceKV(t *testing.T) {
	conformance(t, harness.EtcdOptions{}, func(s *session) {
		for _, kv := range [][2]string{{"foo", "bar"}, {"foo1", "v1"}, {"foo2", "a2"}, {"foo3", "z3"}, {"goo", "g"}, {"zoo", "last"}} {
			s.run("put", kv[0], kv[1])
		}
		s.run("put", "foo1", "v1-new", "--prev-kv")
		s.run("put", "foo2", "--ignore-value", "--prev-kv")
		s.run("put", "nolease", "x", "--ignore-lease")
		s.run("get", "foo")
		s.run("get", "missing")
		s.run("get", "foo", "foo3")
		s.run("get", "foo", "--prefix")
		s.run("get", "foo", "--from-key")
		s.run("get", "foo", "--prefix", "--limit", "2")
		for _, by := range []string{"KEY", "VALUE", "CREATE", "MODIFY", "VERSION"} {
			s.run("get", "foo", "--prefix", "--sort-by", by, "--order", "DESCEND")
			s.run("get", "foo", "--prefix", "--sort-by", by, "--order", "ASCEND")
		}
		s.run("get", "foo1", "--rev", s.rev(3))
		s.run("get", "foo", "--prefix", "--rev", s.rev(4))
		s.run("get", "foo", "--prefix", "--keys-only")
		s.run("get", "foo", "--prefix", "--count-only")
		s.run("get", "foo", "--prefix", "--count-only", "-w", "json")
		s.run("get", "foo", "--prefix", "--print-value-only")
		s.run("get", "foo", "--prefix", "-w", "json")
		s.run("get", "foo", "--prefix", "--limit", "1", "-w", "json")
		s.run("get", "foo", "--consistency", "s", "--prefix")
		s.run("get", "foo", "--prefix", "--hex")
		s.run("get", "foo", "--prefix", "-w", "fields")
		s.run("get", "", "--prefix", "--max-mod-rev", s.rev(4), "--min-create-rev", s.rev(3))
		s.run("get", "--rev", s.rev(100), "foo")
		s.run("del", "foo1")
		s.run("del", "missing")
		s.run("del", "foo", "--prefix", "--prev-kv")
		s.run("del", "goo", "--from-key", "--prev-kv", "-w", "json")
		s.run("get", "", "--prefix", "-w", "json")
	})
}

// TestConformanceTxn: txn -i with compares, success and failure branches.
func TestConformanceTxn(t *testing.T) {
	conformance(t, harness.EtcdOptions{}, func(s *session) {
		s.run("put", "key1", "v1")
		s.run("put", "key2", "v2")
		s.input("mod(\"key1\") > \"0\"\n\nput key1 \"overwrote-key1\"\nget key2\n\nput key1 \"created-key1\"\nput key2 \"some extra key\"\n\n",
			"txn", "-i")
		s.input("value(\"key1\") = \"nope\"\n\nput key1 \"never\"\n\nput key3 \"failure-branch\"\ndel key2\n\n",
			"txn", "-i", "--write-out", "json")
		s.input("version(\"key1\") = \"2\"\ncreate(\"key3\") > \"0\"\nmod(\"key2\") < \"100\"\n\nget key --prefix\n\n\n",
			"txn", "-i")
		s.input("value(\"key1\") > \"a\"\n\ndel key --prefix --prev-kv\n\n\n", "txn", "-i")
		s.input("garbage(\"key1\") > \"a\"\n\n\n\n", "txn", "-i")
		s.run("get", "", "--prefix", "-w", "json")
	})
}

// TestConformanceCompaction: compaction, reads of compacted revisions, and
// compaction of a future revision.
func TestConformanceCompaction(t *testing.T) {
	conformance(t, harness.EtcdOptions{}, func(s *session) {
		for _, v := range []string{"v1", "v2", "v3", "v4", "v5"} {
			s.run("put", "foo", v)
		}
		s.run("compaction", s.rev(4))
		s.run("get", "foo", "--rev", s.rev(2))
		s.run("get", "foo", "--rev", s.rev(4))
		s.run("get", "foo", "--rev", s.rev(5), "-w", "json")
		s.run("compaction", s.rev(3))
		s.run("compaction", s.rev(100))
		s.run("compaction", s.rev(5), "--physical")
		s.run("get", "foo", "--rev", s.rev(4))
		s.run("watch", "foo", "--rev", s.rev(2))
	})
}

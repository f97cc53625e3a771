package tests

import "testing"

// TestNormaliserKeepsRealDifferences checks that the normaliser only erases
// what differs between two clusters: each pair below differs in a way herald
// must not introduce, and must still differ after normalising.
func TestNormaliserKeepsRealDifferences(t *testing.T) {
	for _, tc := range []struct{ name, a, b string }{
		{"value", "foo\nbar\n", "foo\nbaz\n"},
		{"key", "foo\nbar\n", "fob\nbar\n"},
		{"count", `{"count":2}`, `{"count":3}`},
		{"version", `{"version":1}`, `{"version":2}`},
		{"error message", "Error: etcdserver: requested lease not found\n", "Error: etcdserver: lease not found\n"},
		{"grpc code", `"error":"rpc error: code = NotFound desc = x"`, `"error":"rpc error: code = Unknown desc = x"`},
		{"same lease vs two leases", "lease 3ceea2186f497b06 granted\nlease 3ceea2186f497b06 revoked\n", "lease 3ceea2186f497b06 granted\nlease 3ceea2186f497b07 revoked\n"},
		{"no lease vs a lease", `{"lease":0}`, `{"lease":4390624912562813702}`},
		{"revision order", `{"revision":5},{"mod_revision":5}`, `{"revision":5},{"mod_revision":4}`},
		{"compacted revision", "compacted revision 3\nprogress notify: 3\n", "compacted revision 3\nprogress notify: 4\n"},
		{"granted ttl", "lease 3ceea2186f497b06 granted with TTL(100s)", "lease 3ceea2186f497b06 granted with TTL(60s)"},
		{"exit text", "SUCCESS\n", "FAILURE\n"},
		{"lease keys", "attached keys([k1 k2])", "attached keys([k1 k3])"},
		{"short hex is data", "key/abcdef\n", "key/abcdee\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			na, nb := newNormaliser().normalise(tc.a), newNormaliser().normalise(tc.b)
			if na == nb {
				t.Errorf("normalised both to %q; the difference between %q and %q is lost", na, tc.a, tc.b)
			}
		})
	}
}

// TestNormaliserErasesClusterIdentity checks that outputs which differ only in
// what two clusters legitimately differ in become equal.
func TestNormaliserErasesClusterIdentity(t *testing.T) {
	for _, tc := range []struct{ name, a, b, want string }{
		{
			"json header",
			`{"header":{"cluster_id":13455796455940752355,"member_id":443629905751424238,"revision":3,"raft_term":2},"kvs":[{"key":"Zm9v","create_revision":2,"mod_revision":3,"version":2,"value":"YmFy","lease":4390624912562813702}],"count":1}`,
			`{"header":{"cluster_id":1,"member_id":99,"revision":3,"raft_term":7},"kvs":[{"key":"Zm9v","create_revision":2,"mod_revision":3,"version":2,"value":"YmFy","lease":7587891010101010101}],"count":1}`,
			`{"header":{"cluster_id":<CLUSTER1>,"member_id":<MEMBER1>,"revision":<REV1>,"raft_term":<TERM1>},"kvs":[{"key":"Zm9v","create_revision":<REV2>,"mod_revision":<REV1>,"version":2,"value":"YmFy","lease":<LEASE1>}],"count":1}`,
		},
		{
			"lease hex and decimal are one lease",
			"lease 3ceea2186f497b06 granted with TTL(100s)\n{\"id\":4390624912562813702}\n",
			"lease 694d7c3a4b5c6d7e granted with TTL(100s)\n{\"id\":7587857537003449726}\n",
			"",
		},
		{
			"election key",
			"myelection/3ceea2186f497b06\np1\n",
			"myelection/694d7c3a4b5c6d7e\np1\n",
			"myelection/<LEASE1>\np1\n",
		},
		{
			"election key without padding",
			"myelection/b8ca21872cd7804\np1\n",
			"myelection/6ab6a21872cada04\np1\n",
			"myelection/<LEASE1>\np1\n",
		},
		{
			"lease keys in map order",
			"attached keys([k1 k2 k3])\n{\"keys\":[\"azE=\",\"azI=\"]}",
			"attached keys([k3 k1 k2])\n{\"keys\":[\"azI=\",\"azE=\"]}",
			"attached keys([k1 k2 k3])\n{\"keys\":[\"azE=\",\"azI=\"]}",
		},
		{
			"remaining ttl",
			"lease 3ceea2186f497b06 granted with TTL(100s), remaining(99s), attached keys([k])\n",
			"lease 694d7c3a4b5c6d7e granted with TTL(100s), remaining(97s), attached keys([k])\n",
			"lease <LEASE1> granted with TTL(100s), remaining(<TTL>s), attached keys([k])\n",
		},
		{
			"client log line",
			`{"level":"warn","ts":"2026-11-26T15:17:57.822713Z","target":"etcd-endpoints://0x1f8106ef4e00/127.0.0.1:32379","peer":"Peer{Addr: '127.0.0.1:32379', LocalAddr: '127.0.0.1:50624', AuthInfo: 'insecure'}","attempt":0}`,
			`{"level":"warn","ts":"2026-11-26T15:18:00.1Z","target":"etcd-endpoints://0xc000123456/127.0.0.1:41000","peer":"Peer{Addr: '127.0.0.1:41000', LocalAddr: '127.0.0.1:50999', AuthInfo: 'insecure'}","attempt":0}`,
			`{"level":"warn","ts":"<TS>","target":"etcd-endpoints://<PTR>/127.0.0.1:<PORT1>","peer":"Peer{Addr: '127.0.0.1:<PORT1>', LocalAddr: '127.0.0.1:<ANY>', AuthInfo: 'insecure'}","attempt":0}`,
		},
		{
			"fields output",
			"\"ClusterID\" : 2472858403368126511\n\"MemberID\" : 12898698262300285342\n\"Revision\" : 9\n\"RaftTerm\" : 2\n\"ModRevision\" : 9\n\"Lease\" : 0\n",
			"\"ClusterID\" : 14334602379496524407\n\"MemberID\" : 16815312664476277647\n\"Revision\" : 9\n\"RaftTerm\" : 3\n\"ModRevision\" : 9\n\"Lease\" : 0\n",
			"\"ClusterID\" : <CLUSTER1>\n\"MemberID\" : <MEMBER1>\n\"Revision\" : <REV1>\n\"RaftTerm\" : <TERM1>\n\"ModRevision\" : <REV1>\n\"Lease\" : 0\n",
		},
		{
			"lease zero stays",
			`{"lease":0,"revision":0}`,
			`{"lease":0,"revision":0}`,
			`{"lease":0,"revision":0}`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			na, nb := newNormaliser().normalise(tc.a), newNormaliser().normalise(tc.b)
			if na != nb {
				t.Errorf("normalised differently:\n  %s\n  %s", na, nb)
			}
			if tc.want != "" && na != tc.want {
				t.Errorf("normalise(%q)\n = %s\nwant %s", tc.a, na, tc.want)
			}
		})
	}
}

// TestWithoutRevisions: herald-only revisions are taken out, one at a time,
// and such a revision itself maps to the client revision before it.
func TestWithoutRevisions(t *testing.T) {
	m := withoutRevisions([]int64{5, 9})
	for in, want := range map[uint64]uint64{1: 1, 4: 4, 5: 4, 6: 5, 8: 7, 9: 7, 10: 8} {
		if got := m(in); got != want {
			t.Errorf("map(%d) = %d, want %d", in, got, want)
		}
	}
}

package proxy_test

import (
	"bytes"
	"slices"
	"testing"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/heraldproj/herald/tests/harness"
)

// TestErrorsMatchEtcd sends the same bad requests to etcd and through herald
// and expects the very same error (type, gRPC code, message).
func TestErrorsMatchEtcd(t *testing.T) {
	e := startEnv(t)
	ctx := harness.Context(t, harness.DefaultPatience)
	big := bytes.Repeat([]byte("x"), 1600*1024)  // above --max-request-bytes, below gRPC's limit
	huge := bytes.Repeat([]byte("x"), 2200*1024) // above gRPC's receive limit
	cases := []struct {
		name string
		do   func(c *clientv3.Client) error
	}{
		{"empty key", func(c *clientv3.Client) error { _, err := c.Put(ctx, "", "v"); return err }},
		{"unknown lease", func(c *clientv3.Client) error { _, err := c.Put(ctx, "k", "v", clientv3.WithLease(0x1234)); return err }},
		{"request too large", func(c *clientv3.Client) error { _, err := c.Put(ctx, "k", string(big)); return err }},
		{"above grpc limit", func(c *clientv3.Client) error { _, err := c.Put(ctx, "k", string(huge)); return err }},
		{"revoke unknown lease", func(c *clientv3.Client) error { _, err := c.Revoke(ctx, 0x99); return err }},
		{"future revision", func(c *clientv3.Client) error { _, err := c.Get(ctx, "k", clientv3.WithRev(1<<40)); return err }},
		{"duplicate key in txn", func(c *clientv3.Client) error {
			_, err := c.Txn(ctx).Then(clientv3.OpPut("d", "1"), clientv3.OpPut("d", "2")).Commit()
			return err
		}},
		{"compact future revision", func(c *clientv3.Client) error { _, err := c.Compact(ctx, 1<<40); return err }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			direct, herald := tc.do(e.direct), tc.do(e.viaHerald)
			if direct == nil {
				t.Fatalf("etcd accepted the request; the case tests nothing")
			}
			if errString(direct) != errString(herald) {
				t.Errorf("etcd said %s\nherald said %s", errString(direct), errString(herald))
			}
		})
	}
	// herald still serves after all that.
	if _, err := e.viaHerald.Put(ctx, "after", "ok"); err != nil {
		t.Fatalf("put after bad requests: %v", err)
	}
}

// TestMemberListShowsHerald: MemberList through herald is etcd's member
// list (IDs, names, peer URLs) with herald's advertised URL as the client
// URL, so clients that sync endpoints keep using herald, and a member
// update by an ID taken from the list works.
func TestMemberListShowsHerald(t *testing.T) {
	e := startEnv(t)
	ctx := harness.Context(t, harness.DefaultPatience)
	resp, err := e.viaHerald.MemberList(ctx)
	if err != nil {
		t.Fatal(err)
	}
	direct, err := e.direct.MemberList(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Members) != len(direct.Members) {
		t.Fatalf("%d members through herald, etcd has %d", len(resp.Members), len(direct.Members))
	}
	for i, m := range resp.Members {
		d := direct.Members[i]
		if m.ID != d.ID || m.Name != d.Name || !slices.Equal(m.PeerURLs, d.PeerURLs) {
			t.Errorf("member %d through herald %+v, etcd's %+v", i, m, d)
		}
		if !slices.Equal(m.ClientURLs, []string{"http://" + e.proxyAddr}) {
			t.Errorf("member %s shows client URLs %v, want herald's http://%s", m.Name, m.ClientURLs, e.proxyAddr)
		}
	}
	if resp.Header.ClusterId != direct.Header.ClusterId {
		t.Errorf("cluster id %x, want etcd's %x", resp.Header.ClusterId, direct.Header.ClusterId)
	}

	m := resp.Members[0]
	upd, err := e.viaHerald.MemberUpdate(ctx, m.ID, m.PeerURLs)
	if err != nil {
		t.Fatalf("member update by the listed ID %x: %v", m.ID, err)
	}
	if len(upd.Members) != 1 || !slices.Equal(upd.Members[0].ClientURLs, []string{"http://" + e.proxyAddr}) {
		t.Errorf("member update answered members %+v, want herald's client URL", upd.Members)
	}
}

// TestHeadersFromEtcd checks that a response header through herald is etcd's.
func TestHeadersFromEtcd(t *testing.T) {
	e := startEnv(t)
	ctx := harness.Context(t, harness.DefaultPatience)
	put, err := e.viaHerald.Put(ctx, "h", "1")
	if err != nil {
		t.Fatal(err)
	}
	get, err := e.direct.Get(ctx, "h")
	if err != nil {
		t.Fatal(err)
	}
	want := &pb.ResponseHeader{ClusterId: get.Header.ClusterId, MemberId: get.Header.MemberId, Revision: put.Header.Revision, RaftTerm: get.Header.RaftTerm}
	if put.Header.ClusterId != want.ClusterId || put.Header.MemberId != want.MemberId || put.Header.RaftTerm != want.RaftTerm || get.Header.Revision != want.Revision {
		t.Fatalf("header through herald %+v, etcd's %+v", put.Header, get.Header)
	}
}

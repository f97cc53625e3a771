package proxy_test

import (
	"bytes"
	"testing"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// TestErrorsMatchEtcd sends the same bad requests to etcd and through herald
// and expects the very same error (type, gRPC code, message).
func TestErrorsMatchEtcd(t *testing.T) {
	e := startEnv(t)
	ctx := ctxT(t)
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

// TestMemberListShowsHerald checks that herald answers MemberList with its
// own advertised URL, so clients that sync endpoints keep using herald.
func TestMemberListShowsHerald(t *testing.T) {
	e := startEnv(t)
	resp, err := e.viaHerald.MemberList(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Members) != 1 || resp.Members[0].Name != "herald-test" ||
		len(resp.Members[0].ClientURLs) != 1 || resp.Members[0].ClientURLs[0] != "http://"+e.proxyAddr {
		t.Fatalf("members = %+v, want herald-test at http://%s", resp.Members, e.proxyAddr)
	}
	direct, err := e.direct.MemberList(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	if resp.Header.ClusterId != direct.Header.ClusterId {
		t.Errorf("cluster id %x, want etcd's %x", resp.Header.ClusterId, direct.Header.ClusterId)
	}
}

// TestHeadersFromEtcd checks that a response header through herald is etcd's.
func TestHeadersFromEtcd(t *testing.T) {
	e := startEnv(t)
	ctx := ctxT(t)
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

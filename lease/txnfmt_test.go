package lease

import (
	"fmt"
	"strings"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
)

// fmtKey prints a key for test output: reserved keys of testKS by what they
// record (record(42), attach(42,/a), carrier(1001), session(h1)), other keys
// quoted only when they need it.
func fmtKey(k []byte) string {
	if p, ok := testKS.Parse(k); ok {
		switch p.Kind {
		case KindSession:
			return fmt.Sprintf("session(%s)", p.Name)
		case KindCarrier:
			return fmt.Sprintf("carrier(%d)", p.ID)
		case KindRecord:
			return fmt.Sprintf("record(%d)", p.ID)
		case KindAttachment:
			return fmt.Sprintf("attach(%d,%s)", p.ID, p.Key)
		}
		return fmt.Sprintf("%q", k)
	}
	s := string(k)
	if strings.ContainsFunc(s, func(r rune) bool { return r <= ' ' || r >= 0x7f }) {
		return fmt.Sprintf("%q", s)
	}
	return s
}

func fmtCompare(c *pb.Compare) string {
	var target, val string
	switch c.Target {
	case pb.Compare_VERSION:
		target, val = "version", fmt.Sprint(c.GetVersion())
	case pb.Compare_CREATE:
		target, val = "create", fmt.Sprint(c.GetCreateRevision())
	case pb.Compare_MOD:
		target, val = "mod", fmt.Sprint(c.GetModRevision())
	case pb.Compare_VALUE:
		target, val = "value", fmt.Sprintf("%q", c.GetValue())
	case pb.Compare_LEASE:
		target, val = "lease", fmt.Sprint(c.GetLease())
	}
	op := map[pb.Compare_CompareResult]string{pb.Compare_EQUAL: "=", pb.Compare_GREATER: ">", pb.Compare_LESS: "<", pb.Compare_NOT_EQUAL: "!="}[c.Result]
	key := fmtKey(c.Key)
	if len(c.RangeEnd) > 0 {
		key += ".." + fmtKey(c.RangeEnd)
	}
	return fmt.Sprintf("%s(%s) %s %s", target, key, op, val)
}

// fmtTxn prints a TxnRequest one operation a line, nested txns indented.
func fmtTxn(r *pb.TxnRequest) string {
	if r == nil {
		return "(none)\n"
	}
	var b strings.Builder
	writeTxn(&b, r, "")
	return b.String()
}

func writeTxn(b *strings.Builder, r *pb.TxnRequest, indent string) {
	if len(r.Compare) > 0 {
		cmps := make([]string, len(r.Compare))
		for i, c := range r.Compare {
			cmps[i] = fmtCompare(c)
		}
		fmt.Fprintf(b, "%sif %s\n", indent, strings.Join(cmps, " && "))
	}
	fmt.Fprintf(b, "%sthen\n", indent)
	writeOps(b, r.Success, indent+"  ")
	if len(r.Failure) > 0 {
		fmt.Fprintf(b, "%selse\n", indent)
		writeOps(b, r.Failure, indent+"  ")
	}
}

func writeOps(b *strings.Builder, ops []*pb.RequestOp, indent string) {
	for _, op := range ops {
		switch u := op.Request.(type) {
		case *pb.RequestOp_RequestPut:
			p := u.RequestPut
			fmt.Fprintf(b, "%sput %s", indent, fmtKey(p.Key))
			if len(p.Value) > 0 {
				fmt.Fprintf(b, " value=%q", p.Value)
			}
			if p.Lease != 0 {
				fmt.Fprintf(b, " lease=%d", p.Lease)
			}
			if p.IgnoreLease {
				b.WriteString(" ignore_lease")
			}
			if p.PrevKv {
				b.WriteString(" prev_kv")
			}
			b.WriteString("\n")
		case *pb.RequestOp_RequestDeleteRange:
			d := u.RequestDeleteRange
			fmt.Fprintf(b, "%sdelete %s", indent, fmtKey(d.Key))
			if len(d.RangeEnd) > 0 {
				fmt.Fprintf(b, " end=%s", fmtKey(d.RangeEnd))
			}
			if d.PrevKv {
				b.WriteString(" prev_kv")
			}
			b.WriteString("\n")
		case *pb.RequestOp_RequestRange:
			r := u.RequestRange
			fmt.Fprintf(b, "%srange %s", indent, fmtKey(r.Key))
			if len(r.RangeEnd) > 0 {
				fmt.Fprintf(b, " end=%s", fmtKey(r.RangeEnd))
			}
			if r.Limit != 0 {
				fmt.Fprintf(b, " limit=%d", r.Limit)
			}
			b.WriteString("\n")
		case *pb.RequestOp_RequestTxn:
			fmt.Fprintf(b, "%stxn\n", indent)
			writeTxn(b, u.RequestTxn, indent+"  ")
		default:
			fmt.Fprintf(b, "%s?\n", indent)
		}
	}
}

// etcdOpCount applies etcd's --max-txn-ops rule (checkTxnRequest in
// server/etcdserver/api/v3rpc/key.go, v3.7.3): a txn may hold at most
// maxOps compares, success or failure operations, and a nested txn gets
// maxOps minus its parent's count.
func etcdOpCount(r *pb.TxnRequest, maxOps int) error {
	opc := max(len(r.Compare), len(r.Success), len(r.Failure))
	if opc > maxOps {
		return fmt.Errorf("too many operations in txn request: %d > %d", opc, maxOps)
	}
	for _, op := range append(append([]*pb.RequestOp{}, r.Success...), r.Failure...) {
		if n := op.GetRequestTxn(); n != nil {
			if err := etcdOpCount(n, maxOps-opc); err != nil {
				return err
			}
		}
	}
	return nil
}

package lease

import (
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/cockroachdb/datadriven"
	"go.etcd.io/etcd/api/v3/mvccpb"
)

// TestIndexScripts runs testdata/index/*.txt against an Index of testKS.
// Rewrite expectations with go test ./lease -run TestIndexScripts -rewrite.
//
// Commands:
//
//	new [max-tombs=N]          a fresh index
//	load rev=N                 Load a snapshot; one KV a line (below)
//	apply rev=N                Apply events; one "put KV" or "delete KEY" a line
//	put KV / delete KEY        Apply that one event, at its rev
//	owner carrier=C | orphans | carriers | sessions | leases | leases-on carrier=C
//	attachments-on carrier=C | attached-to key=K
//	virtual-lease key=K mod=R carrier=C
//	dump
//
// A KV or KEY names a reserved key by kind (the value is built and encoded
// for it; "bad" writes an undecodable value instead):
//
//	session NAME lease=L [url=U] [bad] rev=R
//	carrier C owner=NAME session=S [bad] rev=R      (hangs on C itself)
//	record ID carrier=C ttl=T [id=OTHER] [bad] rev=R
//	attach ID KEY carrier=C rev=R
//	unknown REST rev=R                              (prefix + REST)
//	outside KEY rev=R                               (a key outside the prefix)
func TestIndexScripts(t *testing.T) {
	paths, err := filepath.Glob("testdata/index/*.txt")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no scripts: %v", err)
	}
	for _, path := range paths {
		t.Run(filepath.Base(path), func(t *testing.T) {
			ix := NewIndex(testKS, 0)
			datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
				out, err := runIndexCmd(t, &ix, d)
				if err != nil {
					d.Fatalf(t, "%v", err)
				}
				return out
			})
		})
	}
}

func runIndexCmd(t *testing.T, ixp **Index, d *datadriven.TestData) (string, error) {
	ix := *ixp
	var carrier, rev, mod int64
	var key string
	if d.Cmd != "put" && d.Cmd != "delete" { // their arguments are a KV
		d.MaybeScanArgs(t, "carrier", &carrier)
		d.MaybeScanArgs(t, "rev", &rev)
		d.MaybeScanArgs(t, "mod", &mod)
		d.MaybeScanArgs(t, "key", &key)
	}
	switch d.Cmd {
	case "new":
		var maxTombs int
		d.MaybeScanArgs(t, "max-tombs", &maxTombs)
		*ixp = NewIndex(testKS, maxTombs)
		return "ok", nil
	case "load":
		var kvs []*mvccpb.KeyValue
		for _, line := range nonEmptyLines(d.Input) {
			cmd, args, err := datadriven.ParseLine(line)
			if err != nil {
				return "", err
			}
			kv, err := scriptKV(cmd, args)
			if err != nil {
				return "", fmt.Errorf("%q: %w", line, err)
			}
			kvs = append(kvs, kv)
		}
		ix.Load(rev, kvs)
		return fmt.Sprintf("rev=%d bad=%d", ix.Rev(), ix.Bad()), nil
	case "apply":
		var events []*mvccpb.Event
		for _, line := range nonEmptyLines(d.Input) {
			cmd, args, err := datadriven.ParseLine(line)
			if err != nil {
				return "", err
			}
			ev, err := scriptEvent(cmd, args)
			if err != nil {
				return "", fmt.Errorf("%q: %w", line, err)
			}
			events = append(events, ev)
		}
		ix.Apply(rev, events)
		return fmt.Sprintf("rev=%d bad=%d", ix.Rev(), ix.Bad()), nil
	case "put", "delete":
		ev, err := scriptEvent(d.Cmd, d.CmdArgs)
		if err != nil {
			return "", err
		}
		ix.Apply(ev.Kv.ModRevision, []*mvccpb.Event{ev})
		return fmt.Sprintf("rev=%d bad=%d", ix.Rev(), ix.Bad()), nil
	case "owner":
		owner, live, ok := ix.OwnerOf(ID(carrier))
		if !ok {
			return "unknown", nil
		}
		return fmt.Sprintf("owner=%s live=%v", owner, live), nil
	case "orphans":
		return fmt.Sprint(ix.Orphans()), nil
	case "carriers":
		return fmt.Sprint(ix.Carriers()), nil
	case "sessions":
		return fmt.Sprint(ix.Sessions()), nil
	case "leases":
		return fmt.Sprintf("%v n=%d", ix.Leases(), ix.NumLeases()), nil
	case "leases-on":
		return fmt.Sprint(ix.LeasesOn(ID(carrier))), nil
	case "attachments-on":
		on := ix.AttachmentsOn(ID(carrier))
		ids := make([]ID, 0, len(on))
		for id := range on {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		var b strings.Builder
		for _, id := range ids {
			fmt.Fprintf(&b, "%d: %s\n", id, fmtKeys(on[id]))
		}
		if b.Len() == 0 {
			return "none", nil
		}
		return b.String(), nil
	case "attached-to":
		a, ok := ix.AttachedTo(key)
		if !ok {
			return "none", nil
		}
		return fmt.Sprintf("lease=%d carrier=%d rev=%d", a.Lease, a.Carrier, a.Rev), nil
	case "virtual-lease":
		id, ok := ix.VirtualLeaseOf(key, mod, ID(carrier))
		if !ok {
			return "none", nil
		}
		return fmt.Sprint(id), nil
	case "dump":
		return dumpIndex(ix), nil
	}
	return "", fmt.Errorf("unknown command %q", d.Cmd)
}

func nonEmptyLines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return out
}

// scriptEvent builds a watch event from "put KV" or "delete KEY".
func scriptEvent(verb string, args []datadriven.CmdArg) (*mvccpb.Event, error) {
	if len(args) == 0 {
		return nil, fmt.Errorf("%s of what?", verb)
	}
	kv, err := scriptKV(args[0].Key, args[1:])
	if err != nil {
		return nil, err
	}
	switch verb {
	case "put":
		return &mvccpb.Event{Type: mvccpb.PUT, Kv: kv}, nil
	case "delete":
		// A DELETE event's kv is the tombstone: key and deletion revision.
		return &mvccpb.Event{Type: mvccpb.DELETE, Kv: &mvccpb.KeyValue{Key: kv.Key, ModRevision: kv.ModRevision}}, nil
	}
	return nil, fmt.Errorf("unknown event %q", verb)
}

// scriptKV builds a reserved KeyValue: kind, then positional names, then
// key=value settings (see TestIndexScripts).
func scriptKV(kind string, args []datadriven.CmdArg) (*mvccpb.KeyValue, error) {
	var pos []string
	set := map[string]string{}
	for _, a := range args {
		if len(a.Vals) == 0 {
			pos = append(pos, a.Key)
		} else {
			set[a.Key] = a.Vals[0]
		}
	}
	num := func(name string) int64 {
		v, _ := strconv.ParseInt(set[name], 0, 64)
		return v
	}
	arg := func(i int) string {
		if i < len(pos) {
			return pos[i]
		}
		return ""
	}
	bad := slices.Contains(pos, "bad")
	kv := &mvccpb.KeyValue{ModRevision: num("rev"), CreateRevision: num("rev"), Version: 1}
	id, _ := strconv.ParseInt(arg(0), 0, 64)
	switch kind {
	case "session":
		kv.Key = testKS.SessionKey(arg(0))
		kv.Lease = num("lease")
		kv.Value = SessionInfo{Name: arg(0), URL: set["url"]}.Encode()
	case "carrier":
		kv.Key = testKS.CarrierKey(ID(id))
		kv.Lease = id
		kv.Value = CarrierRecord{Owner: set["owner"], Session: ID(num("session"))}.Encode()
	case "record":
		kv.Key = testKS.RecordKey(ID(id))
		kv.Lease = num("carrier")
		recID := ID(id)
		if _, ok := set["id"]; ok {
			recID = ID(num("id"))
		}
		kv.Value = Record{ID: recID, TTL: num("ttl"), Owner: set["owner"]}.Encode()
	case "attach":
		kv.Key = testKS.AttachKey(ID(id), []byte(arg(1)))
		kv.Lease = num("carrier")
	case "unknown":
		kv.Key = []byte(testPrefix + arg(0))
		kv.Value = []byte("?")
	case "outside":
		kv.Key = []byte(arg(0))
		kv.Value = []byte("v")
	default:
		return nil, fmt.Errorf("unknown kind %q", kind)
	}
	if bad {
		kv.Value = []byte{0xff}
	}
	return kv, nil
}

// dumpIndex prints everything the index holds, sorted.
func dumpIndex(ix *Index) string {
	var b strings.Builder
	fmt.Fprintf(&b, "rev=%d bad=%d\n", ix.Rev(), ix.Bad())
	for _, name := range ix.Sessions() {
		s, _ := ix.Session(name)
		fmt.Fprintf(&b, "session %s lease=%d url=%s rev=%d\n", name, s.Lease, s.Info.URL, s.Rev)
	}
	for _, c := range ix.Carriers() {
		rec, _ := ix.Carrier(c)
		_, live, _ := ix.OwnerOf(c)
		fmt.Fprintf(&b, "carrier %d owner=%s session=%d rev=%d live=%v\n", c, rec.Owner, rec.Session, rec.Rev, live)
	}
	for _, id := range ix.Leases() {
		r, _ := ix.Lease(id)
		fmt.Fprintf(&b, "record %d carrier=%d ttl=%d rev=%d\n", id, r.Carrier, r.TTL, r.Rev)
	}
	dumpAttachments(&b, "attach", ix.byKey.lists())
	dumpAttachments(&b, "tomb", ix.tombs)
	if len(ix.tombFIFO) > 0 {
		fmt.Fprintf(&b, "tombs remembered=%d of %d\n", len(ix.tombFIFO), ix.maxTombs)
	}
	return b.String()
}

func dumpAttachments(b *strings.Builder, what string, m map[string][]Attachment) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		for _, a := range m[k] {
			fmt.Fprintf(b, "%s %s lease=%d carrier=%d rev=%d", what, k, a.Lease, a.Carrier, a.Rev)
			if a.Deleted != 0 {
				fmt.Fprintf(b, " deleted=%d", a.Deleted)
			}
			b.WriteString("\n")
		}
	}
}

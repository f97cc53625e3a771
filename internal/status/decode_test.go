package status

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

func encode(t testing.TB, r Report) []byte {
	t.Helper()
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestReportRoundTrip: what a herald encodes, Decode reads back the same,
// for a fleet report and a local one.
func TestReportRoundTrip(t *testing.T) {
	fleet := sampleFleet()
	local := Report{Version: Version, Scope: Local, From: "h0", Time: fleet.Time, Heralds: fleet.Heralds[:1]}
	for _, r := range []Report{fleet, local} {
		got, err := Decode(bytes.NewReader(encode(t, r)), r.Scope)
		if err != nil {
			t.Fatalf("%s: %v", r.Scope, err)
		}
		if !reflect.DeepEqual(got, r) {
			t.Fatalf("%s: decoded\n%+v\nwant\n%+v", r.Scope, got, r)
		}
	}
}

// TestHeraldJSONNames pins the JSON shape of version 1: renaming a field
// breaks every reader of it (other heralds, `herald status`, scripts).
func TestHeraldJSONNames(t *testing.T) {
	b, err := json.Marshal(sampleHerald("h0", true))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"name":"h0","url":"http://h0.rack:2379","upstream":{"healthy":true},"ready":{"offload":true,"fanout":true},` +
		`"offload":{"active":true,"virtual_leases":1200,"carriers":2,"fleet_leases":3600,"index_rev":812},` +
		`"fanout":{"feeding":true,"rev":812,"window_start":3,"compact_rev":2,"window_events":809,"window_bytes":3145728,` +
		`"held_batches":1,"streams":4,"watchers":17,"slow_cancels":5,"gaps":6,"seen_rev":815,"lag_revisions":3,"since_advance_seconds":1.25}}`
	if string(b) != want {
		t.Fatalf("herald encodes as\n%s\nwant\n%s", b, want)
	}
	b, err = json.Marshal(Herald{Name: "h2", URL: "http://h2:2379", Error: "refused"})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"name":"h2","url":"http://h2:2379","error":"refused"}`; string(b) != want {
		t.Fatalf("unreachable herald encodes as %s, want %s", b, want)
	}
}

// TestDecodeIgnoresUnknownFields: a newer herald of the same version may
// add fields; an older one still reads its report.
func TestDecodeIgnoresUnknownFields(t *testing.T) {
	b := encode(t, sampleFleet())
	b = bytes.Replace(b, []byte(`{"version":1,`), []byte(`{"version":1,"build":{"commit":"f00"},`), 1)
	b = bytes.Replace(b, []byte(`"healthy":true`), []byte(`"healthy":true,"member":"m1"`), 1)
	if _, err := Decode(bytes.NewReader(b), Fleet); err != nil {
		t.Fatal(err)
	}
}

// TestDecodeRefuses: what breaks the shape is refused with an error that
// says what is wrong.
func TestDecodeRefuses(t *testing.T) {
	local := func(f func(*Report)) func(*Report) {
		return func(r *Report) {
			r.Scope, r.Heralds = Local, r.Heralds[:1]
			if f != nil {
				f(r)
			}
		}
	}
	for _, tc := range []struct {
		name   string
		scope  Scope
		mutate func(*Report) // of sampleFleet, encoded
		raw    string        // instead
		want   string
	}{
		{name: "empty", raw: "", want: "EOF"},
		{name: "array", raw: "[]", want: "cannot unmarshal array"},
		{name: "string for a number", raw: `{"version":"1"}`, want: "cannot unmarshal string"},
		{name: "truncated", raw: `{"version":1,"scope":"fleet"`, want: "unexpected EOF"},
		{name: "trailing data", raw: string(encode(t, sampleFleet())) + `{}`, want: "data after the report"},
		{name: "null", raw: "null", want: "version 0"},
		{name: "other version", mutate: func(r *Report) { r.Version = 2 }, want: "version 2, this herald reads version 1"},
		{name: "other scope", mutate: local(nil), want: `scope "local", want "fleet"`},
		{name: "no from", mutate: func(r *Report) { r.From = "" }, want: "no answering herald"},
		{name: "no heralds", mutate: func(r *Report) { r.Heralds = nil }, want: "no heralds"},
		{name: "no name", mutate: func(r *Report) { r.Heralds[1].Name = "" }, want: "no name"},
		{name: "twice", mutate: func(r *Report) { r.Heralds[1].Name = "h0" }, want: `"h0" listed twice`},
		{name: "unreachable with figures", mutate: func(r *Report) { r.Heralds[2].Ready = &Ready{} }, want: "unreachable, yet with figures"},
		{name: "reachable without upstream", mutate: func(r *Report) { r.Heralds[0].Upstream = nil }, want: "without upstream or ready"},
		{name: "negative leases", mutate: func(r *Report) { r.Heralds[0].Offload.VirtualLeases = -1 }, want: "negative offload figure"},
		{name: "negative watchers", mutate: func(r *Report) { r.Heralds[0].Fanout.Watchers = -1 }, want: "negative fan-out figure"},
		{name: "negative age", mutate: func(r *Report) { r.Heralds[0].Fanout.SinceAdvanceSeconds = -1 }, want: "since_advance_seconds"},
		{name: "local of two", scope: Local, mutate: local(func(r *Report) { r.Heralds = sampleFleet().Heralds[:2] }), want: "must list that herald alone"},
		{name: "local of another", scope: Local, mutate: local(func(r *Report) { r.From = "h1" }), want: "must list that herald alone"},
		{name: "local unreachable", scope: Local, mutate: local(func(r *Report) { r.Heralds[0] = Herald{Name: "h0", Error: "x"} }), want: "must list that herald alone"},
		{name: "local too large", scope: Local, mutate: local(func(r *Report) {
			r.Heralds[0].Upstream.Reason = strings.Repeat("x", MaxLocalBytes)
		}), want: "larger than 65536 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			scope := tc.scope
			if scope == "" {
				scope = Fleet
			}
			in := []byte(tc.raw)
			if tc.mutate != nil {
				r := sampleFleet()
				tc.mutate(&r)
				in = encode(t, r)
			}
			_, err := Decode(bytes.NewReader(in), scope)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Decode: %v; want an error with %q", err, tc.want)
			}
			if !strings.HasPrefix(err.Error(), "status: ") {
				t.Fatalf("error %q lacks the package prefix", err)
			}
		})
	}
}

// FuzzDecode: whatever a peer sends, Decode returns without panicking,
// and what it accepts encodes to a report it accepts again, unchanged.
func FuzzDecode(f *testing.F) {
	fleet := sampleFleet()
	f.Add(encode(f, fleet), false)
	f.Add(encode(f, Report{Version: Version, Scope: Local, From: "h0", Time: fleet.Time, Heralds: fleet.Heralds[:1]}), true)
	f.Add([]byte(`{"version":1,"scope":"fleet","from":"a","heralds":[{"name":"a","upstream":{},"ready":{}}]}`), false)
	f.Add([]byte(`{"version":1,"scope":"local","from":"a","heralds":[{"name":"a","error":"x"}]}`), true)
	f.Add([]byte(`{"version":1,"heralds":[{"fanout":{"since_advance_seconds":1e400}}]}`), false)
	f.Add([]byte(`null`), false)
	f.Fuzz(func(t *testing.T, in []byte, local bool) {
		scope := Fleet
		if local {
			scope = Local
		}
		r, err := Decode(bytes.NewReader(in), scope)
		if err != nil {
			return
		}
		again, err := Decode(bytes.NewReader(encode(t, r)), scope)
		if err != nil {
			t.Fatalf("accepted %q, but not its encoding: %v", in, err)
		}
		if !reflect.DeepEqual(again, r) {
			t.Fatalf("round trip changed the report:\n%+v\n%+v", r, again)
		}
	})
}

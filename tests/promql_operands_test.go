package tests

import (
	"slices"
	"strings"
	"testing"
)

// TestAlertOperands: an alerting rule's expression loses its comparisons
// (and their modifiers) and keeps every operand that is not a number; what
// cannot be taken apart is an error.
func TestAlertOperands(t *testing.T) {
	cases := []struct {
		expr string
		want []string
		err  string
	}{
		{expr: `up{job="herald"} == 0`, want: []string{`up{job="herald"}`}},
		{expr: `herald_ready==0`, want: []string{`herald_ready`}},
		{expr: `herald_fleet_members < max_over_time(herald_fleet_members[30m]) * 0.9`,
			want: []string{`herald_fleet_members`, `max_over_time(herald_fleet_members[30m]) * 0.9`}},
		{expr: `increase(x_total[10m]) >= 1`, want: []string{`increase(x_total[10m])`}},
		{expr: `a > 0 and b > 60`, want: []string{`a`, `b`}},
		{expr: `(a > 0) and on (instance) (b > bool 60)`, want: []string{`a`, `b`}},
		{expr: `a_and_b > 0 unless c_or_d < 1`, want: []string{`a_and_b`, `c_or_d`}},
		{expr: `sum by (job) (x{code=~"A|B", y!="z>"}) != 0`, want: []string{`sum by (job) (x{code=~"A|B", y!="z>"})`}},
		{expr: `(a) > (b)`, want: []string{`a`, `b`}},
		{expr: `rate(x_total[5m])`, err: "no comparison"},
		{expr: `a > b > c`, err: "chain"},
		{expr: `1 > 0`, err: "numbers only"},
		{expr: `a > 0 or rate(x[5m])`, err: "no comparison"},
	}
	for _, tc := range cases {
		got, err := alertOperands(tc.expr)
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%s: %q, %v; want an error about %q", tc.expr, got, err, tc.err)
		case tc.err == "" && (err != nil || !slices.Equal(got, tc.want)):
			t.Errorf("%s: %q, %v; want %q", tc.expr, got, err, tc.want)
		}
	}
}

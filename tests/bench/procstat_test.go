package bench

import "testing"

func TestParseStatTicks(t *testing.T) {
	for _, tc := range []struct {
		name, stat string
		want       uint64
		wantErr    bool
	}{
		{
			name: "plain",
			stat: "1234 (etcd) S 1 1234 1234 0 -1 4194560 5000 0 0 0 250 75 0 0 20 0 12 0 100 0 0",
			want: 325,
		},
		{
			name: "command with spaces and parentheses",
			stat: "42 (a (b) c) R 1 42 42 0 -1 0 0 0 0 0 7 3 0 0 20 0 1 0 5 0 0",
			want: 10,
		},
		{name: "truncated", stat: "42 (x) R 1 2 3", wantErr: true},
		{name: "no command", stat: "garbage", wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseStatTicks(tc.stat)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
			if got != tc.want {
				t.Fatalf("ticks = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestParseVmRSS(t *testing.T) {
	got, err := parseVmRSS("Name:\tetcd\nVmPeak:\t  999 kB\nVmRSS:\t   27648 kB\nThreads:\t12\n")
	if err != nil || got != 27648<<10 {
		t.Fatalf("parseVmRSS = %d, %v; want %d", got, err, 27648<<10)
	}
	for _, bad := range []string{"Name:\tx\n", "VmRSS:\t12 MB\n", "VmRSS:\tmany kB\n"} {
		if _, err := parseVmRSS(bad); err == nil {
			t.Errorf("parseVmRSS(%q): no error", bad)
		}
	}
}

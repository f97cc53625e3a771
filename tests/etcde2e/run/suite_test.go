package main

import "testing"

func TestFirstError(t *testing.T) {
	tests := []struct{ name, out, want string }{
		{
			name: "testify, with a failed etcdctl's error line",
			out: "    auth_test.go:762: \n        \tError Trace:\t/x/auth_test.go:762\n        \tError:      \tReceived unexpected error:\n" +
				"        \t            \tmatch not found. Set EXPECT_DEBUG for more info\n        \t            \tError: etcdserver: member not found\n" +
				"        \tTest:       \tTestAuthMemberRemove\n",
			want: "Error: etcdserver: member not found",
		},
		{
			name: "testify, a failed etcdctl whose error is in its JSON log",
			out: "        \tError:      \tError \"match not found. Errs: [unexpected exit code [1] after running [/b/etcdctl --endpoints=http://x member remove ca6f -w json]], last lines:\\n{\\\"error\\\":\\\"rpc error: code = NotFound desc = etcdserver: member not found\\\"}\"\n" +
				"        \t            \tshould not be nil\n",
			want: "[etcdctl member remove ca6f] etcdserver: member not found",
		},
		{
			name: "t.Fatalf",
			out:  "    logger.go:146: 2026 INFO failed to frob\n    ctl_v3_test.go:12: failed to put: timed out\n",
			want: "ctl_v3_test.go:12: failed to put: timed out",
		},
		{
			name: "panic",
			out:  "=== RUN   TestX\npanic: test timed out after 3m0s\n",
			want: "panic: test timed out after 3m0s",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := firstError(tt.out); got != tt.want {
				t.Errorf("firstError = %q, want %q", got, tt.want)
			}
		})
	}
}

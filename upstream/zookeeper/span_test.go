package zookeeper

import "testing"

func TestTopPrefix(t *testing.T) {
	for _, tc := range []struct{ key, end, want string }{
		{"/svc/web/", "/svc/web0", "/svc/web/"},
		{"/svc/web/n1", "/svc/web/n2", "/svc/web/"},
		{"/svc/web/", "/svc/wec", "/svc/"},
		{"/svc/a", "/svd", "/"},
		{"/svc/a", "1", ""},
		{"a/b/c", "", ""}, // no end: the whole tree
		{"a/\xff", "a0", "a/"},
		{"k", "k\x00", ""},
		{"/one/k/", "/one/k/\x00", "/one/k/"},
	} {
		var end []byte
		if tc.end != "" {
			end = []byte(tc.end)
		}
		if got := string(topPrefix([]byte(tc.key), end)); got != tc.want {
			t.Errorf("topPrefix(%q, %q) = %q, want %q", tc.key, tc.end, got, tc.want)
		}
	}
}

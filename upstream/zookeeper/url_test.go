package zookeeper

import (
	"reflect"
	"testing"
)

func TestParseURL(t *testing.T) {
	for _, tc := range []struct {
		raw  string
		want Target
	}{
		{"zk://127.0.0.1:2181", Target{Servers: []string{"127.0.0.1:2181"}}},
		{"zk://h1:1,h2:2/app", Target{Servers: []string{"h1:1", "h2:2"}, Chroot: "/app"}},
		{"zk://h1/a/b/", Target{Servers: []string{"h1:2181"}, Chroot: "/a/b"}},
		{"zk://[::1]:3000,[::2]", Target{Servers: []string{"[::1]:3000", "[::2]:2181"}}},
		{"zk://h1:2181/", Target{Servers: []string{"h1:2181"}}},
	} {
		got, err := ParseURL(tc.raw)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParseURL(%q) = %+v, %v; want %+v", tc.raw, got, err, tc.want)
		}
	}
	for _, raw := range []string{
		"", "http://h:2181", "zk://", "zk://h1,,h2", "zk://h:0", "zk://h:x", "zk://:2181",
		"zk://::1", "zk://h/a//b", "zk://h/a/./b", "zk://h/a/../b", "zk://u@h", "zk://h?x=1", "zk://h/a%b",
		"zk://h//",
	} {
		if got, err := ParseURL(raw); err == nil {
			t.Errorf("ParseURL(%q) = %+v; want an error", raw, got)
		}
	}
}

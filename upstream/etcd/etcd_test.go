package etcd

import (
	"strings"
	"testing"
)

func TestDialErrors(t *testing.T) {
	if _, err := Dial(Config{}); err == nil || !strings.HasPrefix(err.Error(), "etcd: ") {
		t.Fatalf("no endpoints: %v", err)
	}
	_, err := Dial(Config{Endpoints: []string{"127.0.0.1:1"}, CACert: "/does/not/exist.pem"})
	if err == nil || !strings.Contains(err.Error(), "upstream TLS") {
		t.Fatalf("missing CA file: %v", err)
	}
}

package etcd

import (
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/heraldproj/herald/internal/embedetcd"
	"github.com/heraldproj/herald/tests/harness"
)

// TestAutoSyncIntervalRefreshesEndpoints: as with etcd grpc-proxy's
// --endpoints-auto-sync-interval, the endpoints become the members' client
// URLs from the member list. The endpoint is given as a bare host:port, so
// the refreshed list (http://host:port) differs from it.
func TestAutoSyncIntervalRefreshesEndpoints(t *testing.T) {
	emb, err := embedetcd.Start(embedetcd.Config{DataDir: filepath.Join(t.TempDir(), "d"), ClientAddr: harness.FreeAddr(t), PeerAddr: harness.FreeAddr(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer emb.Close()
	bare := emb.Endpoint()[len("http://"):]

	still, err := Dial(Config{Endpoints: []string{bare}, DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer still.Close()
	var logged harness.SyncBuffer
	log := slog.New(slog.NewTextHandler(&logged, nil))
	syncing, err := Dial(Config{Endpoints: []string{bare}, DialTimeout: 5 * time.Second, AutoSyncInterval: 50 * time.Millisecond, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	defer syncing.Close()

	err = harness.Await(time.Minute, func() error {
		if eps := syncing.cli.Endpoints(); !slices.Equal(eps, []string{emb.Endpoint()}) {
			return fmt.Errorf("endpoints %v, want the member list's %s", eps, emb.Endpoint())
		}
		// The new endpoints are logged, as grpc-proxy logs them.
		if !strings.Contains(logged.String(), "endpoints synced") || !strings.Contains(logged.String(), emb.Endpoint()) {
			return fmt.Errorf("log %q names no synced endpoint", logged.String())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// By now the syncing client has refreshed its list; the other, dialled
	// before it with 0, keeps the list it was given.
	if eps := still.cli.Endpoints(); !slices.Equal(eps, []string{bare}) {
		t.Fatalf("endpoints %v without auto sync, want %s as given", eps, bare)
	}
}

// TestInsecureSkipVerifyAloneMeansTLS follows etcd grpc-proxy: the flag
// alone turns TLS towards etcd on, and it overrides a CA bundle.
func TestInsecureSkipVerifyAloneMeansTLS(t *testing.T) {
	c, err := clientTLS(Config{})
	if err != nil || c != nil {
		t.Fatalf("no TLS settings: %v, %v; want plain text", c, err)
	}
	c, err = clientTLS(Config{InsecureSkipVerify: true})
	if err != nil || c == nil || !c.InsecureSkipVerify {
		t.Fatalf("--insecure-skip-tls-verify alone: %+v, %v; want TLS without verification", c, err)
	}
}

package main

import (
	"bytes"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/heraldproj/herald/internal/status"
)

// fleetReport is what the fake herald of these tests answers: h0 feeding,
// h1 unreachable.
func fleetReport() status.Report {
	h0 := heraldStatus(sampleStatus("h0"), "http://h0:2379")
	return status.Report{
		Version: status.Version, Scope: status.Fleet, From: "h0", Time: time.Date(2025, 1, 2, 15, 4, 5, 0, time.UTC),
		Heralds: []status.Herald{h0, {Name: "h1", URL: "http://h1:2379", Error: "connection refused"}},
	}
}

// fleetHandler answers /status.json with rep (the fleet scope).
func fleetHandler(rep status.Report) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != status.Path || r.URL.Query().Get("scope") != "" {
			http.NotFound(w, r)
			return
		}
		_ = json.NewEncoder(w).Encode(rep)
	}
}

// runCLI runs herald with args and returns what it printed and its error.
func runCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := newRootCommand()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(args)
	err := cmd.Execute()
	return out.String(), err
}

// TestStatusCommandPrintsTheFleet: herald status asks the first endpoint
// that answers and prints its fleet report as the table, or as JSON that
// decodes to the same report.
func TestStatusCommandPrintsTheFleet(t *testing.T) {
	rep := fleetReport()
	srv := httptest.NewServer(fleetHandler(rep))
	defer srv.Close()
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	endpoints := strings.TrimPrefix(dead.URL, "http://") + "," + strings.TrimPrefix(srv.URL, "http://")

	out, err := runCLI(t, "status", "--endpoints", endpoints, "-w", "json")
	if err != nil {
		t.Fatal(err)
	}
	got, err := status.Decode(strings.NewReader(out), status.Fleet)
	if err != nil || !reflect.DeepEqual(got, rep) {
		t.Fatalf("-w json printed\n%s\n(%v); want the report\n%s", out, err, jsonOf(t, rep))
	}

	out, err = runCLI(t, "status", "--endpoints", endpoints)
	if err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	if err := status.Table(&want, rep); err != nil {
		t.Fatal(err)
	}
	if out != want.String() || !strings.HasPrefix(out, "HERALD  FEEDER") || !strings.Contains(out, "\nh0      feeder  unhealthy") {
		t.Fatalf("table:\n%s\nwant:\n%s", out, want.String())
	}
}

// TestStatusCommandOverTLS: an endpoint without a scheme is https when a
// TLS flag is given, verified with --cacert; without it the certificate is
// refused.
func TestStatusCommandOverTLS(t *testing.T) {
	srv := httptest.NewTLSServer(fleetHandler(fleetReport()))
	defer srv.Close()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	hostPort := strings.TrimPrefix(srv.URL, "https://")
	if out, err := runCLI(t, "status", "--endpoints", hostPort, "--cacert", ca, "-w", "json"); err != nil || !strings.Contains(out, `"from": "h0"`) {
		t.Fatalf("with --cacert: %v\n%s", err, out)
	}
	if out, err := runCLI(t, "status", "--endpoints", hostPort, "--insecure-skip-tls-verify"); err != nil || !strings.Contains(out, "h0") {
		t.Fatalf("with --insecure-skip-tls-verify: %v\n%s", err, out)
	}
	_, err := runCLI(t, "status", "--endpoints", srv.URL)
	if err == nil || !strings.Contains(err.Error(), "certificate") || exitCode(err) != 1 {
		t.Fatalf("without --cacert: %v; want a certificate error", err)
	}
}

// TestStatusCommandErrors: one line, naming the flag with exit code 2 for
// a bad command line, naming every endpoint with exit code 1 when none
// answers.
func TestStatusCommandErrors(t *testing.T) {
	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(`{"version":7}`))
	}))
	defer bad.Close()
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	pemFile := filepath.Join(t.TempDir(), "not.pem")
	if err := os.WriteFile(pemFile, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		exit int
		want []string
	}{
		{[]string{"-w", "yaml"}, 2, []string{`--write-out "yaml"`, "table"}},
		{[]string{"--endpoints", ""}, 2, []string{"--endpoints"}},
		{[]string{"--key", "k.pem"}, 2, []string{"--key", "needs --cert"}},
		{[]string{"--cert", "missing.pem", "--key", "k.pem"}, 2, []string{"--cert", "missing.pem"}},
		{[]string{"--cacert", pemFile}, 2, []string{"--cacert", "no PEM certificate"}},
		{[]string{"--cacert", "missing.pem"}, 2, []string{"--cacert", "no such file"}},
		{[]string{"--dial-timeout", "soon"}, 2, []string{"--dial-timeout"}},
		{[]string{"--endpoints", dead.URL + "," + bad.URL}, 1, []string{
			"no endpoint answered", dead.URL + ": ", "connection refused", bad.URL + ": ", "version 7, this herald reads version 1"}},
	} {
		_, err := runCLI(t, append([]string{"status"}, tc.args...)...)
		if err == nil || exitCode(err) != tc.exit || strings.Contains(err.Error(), "\n") {
			t.Errorf("%v: err %v, exit %d; want one line and exit %d", tc.args, err, exitCode(err), tc.exit)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%v: %q lacks %q", tc.args, err, w)
			}
		}
	}
}

// TestStatusHelp: herald --help lists the status command, and herald
// status --help its own flags, not start's groups.
func TestStatusHelp(t *testing.T) {
	out, err := runCLI(t, "--help")
	if err != nil || !strings.Contains(out, "\n  status ") {
		t.Fatalf("herald --help (%v) lacks the status command:\n%s", err, out)
	}
	out, err = runCLI(t, "status", "--help")
	if err != nil || !strings.Contains(out, "--endpoints") || !strings.Contains(out, "-w, --write-out") || strings.Contains(out, "Upstream etcd:") || strings.Contains(out, "HERALD_") {
		t.Fatalf("herald status --help (%v):\n%s", err, out)
	}
}

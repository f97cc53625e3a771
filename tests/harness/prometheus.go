package harness

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// Prometheus is a `prometheus` server process (Debian's prometheus
// package), for tests of herald's dashboard and alerting rules.
type Prometheus struct {
	*Proc
	url string
}

// StartPrometheus runs prometheus with config (its configuration file's
// YAML; name the files it loads by absolute path) on a free 127.0.0.1 port, with its storage in the test's temporary directory, and
// waits until /-/ready answers 200. It skips the test where prometheus is
// not installed (fails it under HERALD_CI=1), and stops it by PID when t
// ends.
func StartPrometheus(t testing.TB, config string) *Prometheus {
	t.Helper()
	bin := Tool(t, "prometheus", "prometheus")
	tmp := t.TempDir()
	cfg := filepath.Join(tmp, "prometheus.yml")
	if err := os.WriteFile(cfg, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	listen := FreeAddr(t)
	p := &Prometheus{url: "http://" + listen}
	args := []string{
		"--config.file", cfg,
		"--storage.tsdb.path", filepath.Join(tmp, "data"),
		"--web.listen-address", listen,
		"--log.level", "warn",
	}
	p.Proc = newProc(t, "prometheus", bin, args, filepath.Join(tmp, "prometheus.log"))
	if err := waitHealthy(p.Proc, p.url+"/-/ready"); err != nil {
		t.Fatalf("harness: %v", err)
	}
	return p
}

// URL is the server's base URL (http://127.0.0.1:PORT).
func (p *Prometheus) URL() string { return p.url }

// Series is one element of an instant vector that Query returns.
type Series struct {
	Metric map[string]string `json:"metric"`
	// Value is [unix time, "value as text"], as Prometheus's API gives it.
	Value [2]any `json:"value"`
}

// Query evaluates expr now through /api/v1/query. It returns the series of
// an instant vector; any other kind of result is an error, as is a query
// that Prometheus refuses.
func (p *Prometheus) Query(expr string) ([]Series, error) {
	var r struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			ResultType string          `json:"resultType"`
			Result     json.RawMessage `json:"result"`
		} `json:"data"`
	}
	if err := p.api("/api/v1/query?query="+url.QueryEscape(expr), &r); err != nil {
		return nil, err
	}
	if r.Status != "success" {
		return nil, fmt.Errorf("prometheus: query %s: %s", expr, r.Error)
	}
	if r.Data.ResultType != "vector" {
		return nil, fmt.Errorf("prometheus: query %s: a %s, not a vector", expr, r.Data.ResultType)
	}
	var out []Series
	if err := json.Unmarshal(r.Data.Result, &out); err != nil {
		return nil, fmt.Errorf("prometheus: query %s: %w", expr, err)
	}
	return out, nil
}

// Rule is a rule that Prometheus loaded, as /api/v1/rules lists it.
type Rule struct {
	Name      string `json:"name"`
	Query     string `json:"query"`
	Health    string `json:"health"`
	LastError string `json:"lastError"`
	Type      string `json:"type"`
}

// Rules lists the rules of every rule group Prometheus loaded.
func (p *Prometheus) Rules() ([]Rule, error) {
	var r struct {
		Status string `json:"status"`
		Data   struct {
			Groups []struct {
				Rules []Rule `json:"rules"`
			} `json:"groups"`
		} `json:"data"`
	}
	if err := p.api("/api/v1/rules", &r); err != nil {
		return nil, err
	}
	var out []Rule
	for _, g := range r.Data.Groups {
		out = append(out, g.Rules...)
	}
	return out, nil
}

// api GETs path from the server's HTTP API and decodes its JSON into v.
func (p *Prometheus) api(path string, v any) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.url+path, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("prometheus: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return fmt.Errorf("prometheus: %w", err)
	}
	// The API answers errors (400, 422) with the same JSON envelope.
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("prometheus: GET %s: HTTP %d: %.200s", path, resp.StatusCode, body)
	}
	return nil
}

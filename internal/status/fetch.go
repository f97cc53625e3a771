package status

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// Path is where a herald serves its reports over HTTP.
const Path = "/status.json"

// Fetch asks the herald at base (an http or https URL: its client URL or
// its --metrics-addr) for its report of the given scope, over client, and
// decodes it (Decode). It returns when ctx ends at the latest.
func Fetch(ctx context.Context, client *http.Client, base string, scope Scope) (Report, error) {
	u, err := url.Parse(base)
	if err != nil {
		return Report{}, fmt.Errorf("status: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return Report{}, fmt.Errorf("status: %q is not an http or https URL", base)
	}
	u = u.JoinPath(Path)
	if scope == Local {
		u.RawQuery = "scope=local"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return Report{}, fmt.Errorf("status: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return Report{}, fmt.Errorf("status: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		// A herald that predates the status page answers 404.
		line, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
		return Report{}, fmt.Errorf("status: GET %s: %s: %s", u.Redacted(), resp.Status, strings.TrimSpace(string(line)))
	}
	return Decode(resp.Body, scope)
}

package harness

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"
)

// startTimeout bounds how long a server may take to become healthy. It only
// turns a hang into a failure with the server's log; no test passes or fails
// on how fast a server starts.
const startTimeout = 60 * time.Second

var healthClient = &http.Client{Timeout: 5 * time.Second}

// waitHealthy polls url until it answers 200, the process exits, or
// startTimeout passes.
func waitHealthy(p *Proc, url string) error {
	deadline := time.Now().Add(startTimeout)
	var last string
	for {
		status, body, err := httpGet(url, 4096)
		switch {
		case err != nil:
			last = err.Error()
		case status == http.StatusOK:
			return nil
		default:
			last = fmt.Sprintf("HTTP %d: %s", status, body)
		}
		select {
		case <-p.Exited():
			return fmt.Errorf("%s exited (code %d) before %s answered 200 (last: %s)", p.Name(), p.ExitCode(), url, last)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: %s did not answer 200 within %v (last: %s)", p.Name(), url, startTimeout, last)
		}
	}
}

func httpGet(url string, limit int64) (int, string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, "", err
	}
	resp, err := healthClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit))
	return resp.StatusCode, string(body), err
}

// Metrics returns the body of GET url (a /metrics page), for tests and
// benchmarks that read counters.
func Metrics(url string) (string, error) {
	status, body, err := httpGet(url, 64<<20)
	if err != nil {
		return "", err
	}
	if status != http.StatusOK {
		return "", fmt.Errorf("GET %s: HTTP %d", url, status)
	}
	return body, nil
}

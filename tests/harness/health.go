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
	return waitReady(p, url+" answering 200", func() error {
		status, body, err := httpGet(url, 4096)
		switch {
		case err != nil:
			return err
		case status != http.StatusOK:
			return fmt.Errorf("HTTP %d: %s", status, body)
		}
		return nil
	})
}

// waitReady polls probe every 50 ms until it returns nil (the server is
// ready: what says how), the process exits, or startTimeout passes.
func waitReady(p *Proc, what string, probe func() error) error {
	deadline := time.Now().Add(startTimeout)
	for {
		err := probe()
		if err == nil {
			return nil
		}
		select {
		case <-p.Exited():
			return fmt.Errorf("%s exited (code %d) before %s (last: %v)", p.Name(), p.ExitCode(), what, err)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: not %s within %v (last: %v)", p.Name(), what, startTimeout, err)
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

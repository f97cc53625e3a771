package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/heraldproj/herald/internal/status"
)

// statusOptions are herald status's flags, named as etcdctl's.
type statusOptions struct {
	endpoints               []string
	writeOut                string
	cacert, cert, key       string
	insecureSkipVerify      bool
	dialTimeout, cmdTimeout time.Duration
}

// newStatusCommand prints the fleet's status as a herald sees it: what its
// /status page shows, as a table or as the JSON of /status.json.
func newStatusCommand() *cobra.Command {
	var o statusOptions
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Print the fleet's status as a herald sees it (members, feeders, leases, cache, upstream)",
		Long: `Print the fleet's status as a herald sees it: every member, whether it feeds the
fleet, its virtual leases and carriers, its cache window and lag, and its upstream's
health. It asks the first of --endpoints that answers for its /status.json (a herald's
client URL, or its --metrics-addr), which asks every member of its fleet.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runStatus(cmd.Context(), cmd.OutOrStdout(), o)
		},
	}
	fs := cmd.Flags()
	fs.SortFlags = false
	fs.StringSliceVar(&o.endpoints, "endpoints", []string{"127.0.0.1:2379"}, "heralds to ask, comma-separated: client URLs or --metrics-addr (host:port is http, or https with a TLS flag)")
	fs.StringVarP(&o.writeOut, "write-out", "w", "table", "output format: table or json (the fleet's /status.json)")
	fs.StringVar(&o.cacert, "cacert", "", "CA bundle to verify herald's certificate (https)")
	fs.StringVar(&o.cert, "cert", "", "client certificate, for a herald with --client-cert-auth")
	fs.StringVar(&o.key, "key", "", "key of --cert")
	fs.BoolVar(&o.insecureSkipVerify, "insecure-skip-tls-verify", false, "do not verify herald's certificate (CAUTION: for testing only)")
	fs.DurationVar(&o.dialTimeout, "dial-timeout", 2*time.Second, "how long connecting to one endpoint may take")
	fs.DurationVar(&o.cmdTimeout, "command-timeout", 5*time.Second, "how long one endpoint may take to answer")
	return cmd
}

// runStatus asks o's endpoints in turn and prints the first answer.
func runStatus(ctx context.Context, out io.Writer, o statusOptions) error {
	if o.writeOut != "table" && o.writeOut != "json" {
		return &configError{"write-out", o.writeOut, `want "table" or "json"`}
	}
	if len(o.endpoints) == 0 {
		return &configError{"endpoints", "", "name at least one herald"}
	}
	tlsCfg, err := statusTLS(o)
	if err != nil {
		return err
	}
	if ctx == nil {
		ctx = context.Background()
	}
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: o.dialTimeout}).DialContext,
		TLSClientConfig:     tlsCfg,
		TLSHandshakeTimeout: o.dialTimeout,
		DisableKeepAlives:   true, // one request per endpoint
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	var errs []string
	for _, ep := range o.endpoints {
		base := statusURL(ep, tlsCfg != nil)
		actx, cancel := context.WithTimeout(ctx, o.cmdTimeout)
		rep, err := status.Fetch(actx, client, base, status.Fleet)
		cancel()
		if err != nil {
			errs = append(errs, fmt.Sprintf("%s: %s", ep, strings.TrimPrefix(err.Error(), "status: ")))
			continue
		}
		return printStatus(out, rep, o.writeOut)
	}
	return fmt.Errorf("status: no endpoint answered: %s", strings.Join(errs, "; "))
}

// printStatus writes rep as format says.
func printStatus(out io.Writer, rep status.Report, format string) error {
	if format == "json" {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	return status.Table(out, rep)
}

// statusURL is an endpoint as a URL: host:port gets http://, or https://
// when TLS flags are given (as etcdctl reads its endpoints).
func statusURL(ep string, tls bool) string {
	ep = strings.TrimSuffix(ep, "/")
	if strings.Contains(ep, "://") {
		return ep
	}
	if tls {
		return "https://" + ep
	}
	return "http://" + ep
}

// statusTLS is the TLS herald status speaks: nil (Go's defaults for an
// https endpoint) when no TLS flag is given.
func statusTLS(o statusOptions) (*tls.Config, error) {
	if o.cacert == "" && o.cert == "" && o.key == "" && !o.insecureSkipVerify {
		return nil, nil
	}
	c := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: o.insecureSkipVerify}
	switch {
	case o.cert == "" && o.key != "":
		return nil, &configError{"key", o.key, "needs --cert"}
	case o.cert != "":
		pair, err := tls.LoadX509KeyPair(o.cert, o.key)
		if err != nil {
			return nil, &configError{"cert", o.cert, "cannot load the certificate and its key: " + err.Error()}
		}
		c.Certificates = []tls.Certificate{pair}
	}
	if o.cacert != "" {
		pem, err := os.ReadFile(o.cacert)
		if err == nil {
			c.RootCAs = x509.NewCertPool()
			if !c.RootCAs.AppendCertsFromPEM(pem) {
				err = errors.New("no PEM certificate in it")
			}
		}
		if err != nil {
			return nil, &configError{"cacert", o.cacert, err.Error()}
		}
	}
	return c, nil
}

package main

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseHelpFlags(t *testing.T) {
	help := "Flags:\n      --advertise-client-url strings   client URLs\n  -h, --help   help for start\n      --auto-tls   TLS\nUsage:\n  herald start [flags]\n"
	got := parseHelpFlags(help)
	want := map[string]bool{"advertise-client-url": true, "help": true, "auto-tls": true}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("parseHelpFlags = %v, want %v", got, want)
	}
}

func TestTranslate(t *testing.T) {
	herald := map[string]bool{"listen-addr": true, "endpoints": true, "advertise-client-url": true,
		"data-dir": true, "cert-file": true, "cacert": true, "metrics-addr": true}
	tests := []struct {
		name        string
		in          []string
		kept, dropd string
	}{
		{
			name: "plain, as cluster_proxy.go starts it",
			in:   []string{"--listen-addr", "localhost:20003", "--endpoints", "http://localhost:20000", "--advertise-client-url", "", "--data-dir", "/d"},
			kept: "--listen-addr=localhost:20003 --endpoints=http://localhost:20000 --advertise-client-url= --data-dir=/d",
		},
		{
			name:  "flags herald lacks, booleans among them",
			in:    []string{"--auto-tls", "--insecure-skip-tls-verify", "--listen-addr=a:1", "--client-crl-file", "/c", "--client-crl-file", "/c"},
			kept:  "--listen-addr=a:1 --endpoints=127.0.0.1:2379",
			dropd: "--auto-tls --insecure-skip-tls-verify --client-crl-file=/c --client-crl-file=/c",
		},
		{
			name: "a repeated flag with the same value goes once",
			in:   []string{"--cacert", "/ca", "--cacert=/ca", "--cert-file", "/s"},
			kept: "--cacert=/ca --cert-file=/s --endpoints=127.0.0.1:2379 --listen-addr=127.0.0.1:23790",
		},
		{
			name:  "grpc-proxy's defaults where herald's differ",
			in:    []string{"--listen-cipher-suites", ""},
			kept:  "--endpoints=127.0.0.1:2379 --listen-addr=127.0.0.1:23790",
			dropd: "--listen-cipher-suites=",
		},
		{
			name:  "a stray argument is reported",
			in:    []string{"stray", "--metrics-addr", "http://localhost:20004"},
			kept:  "--metrics-addr=http://localhost:20004 --endpoints=127.0.0.1:2379 --listen-addr=127.0.0.1:23790",
			dropd: "--=stray",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := translate(tt.in, herald)
			if got := strings.Join(tr.args(), " "); got != tt.kept {
				t.Errorf("kept %q, want %q", got, tt.kept)
			}
			var d []string
			for _, f := range tr.dropped {
				d = append(d, f.String())
			}
			if got := strings.Join(d, " "); got != tt.dropd {
				t.Errorf("dropped %q, want %q", got, tt.dropd)
			}
		})
	}
}

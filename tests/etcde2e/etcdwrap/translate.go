package main

import (
	"regexp"
	"strings"
)

// proxyBoolFlags are the flags of `etcd grpc-proxy start` that take no
// value; every other flag of it takes one (as "--f v" or "--f=v").
var proxyBoolFlags = map[string]bool{
	"auto-tls":                           true,
	"debug":                              true,
	"enable-pprof":                       true,
	"experimental-enable-grpc-logging":   true,
	"experimental-serializable-ordering": true,
	"insecure-discovery":                 true,
	"insecure-skip-tls-verify":           true,
	"permit-without-stream":              true,
}

// flagArg is one flag of a command line with its value, if it has one.
type flagArg struct {
	name     string
	value    string
	hasValue bool
}

// String renders the flag as one argument, "--name=value" or "--name".
func (f flagArg) String() string {
	if !f.hasValue {
		return "--" + f.name
	}
	return "--" + f.name + "=" + f.value
}

// parseProxyArgs splits grpc-proxy's arguments into flags. An argument that
// is not a flag is kept as a flag with an empty name, so that it is
// reported rather than lost.
func parseProxyArgs(args []string) []flagArg {
	var out []flagArg
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") {
			out = append(out, flagArg{value: a, hasValue: true})
			continue
		}
		name := strings.TrimLeft(a, "-")
		if k, v, ok := strings.Cut(name, "="); ok {
			out = append(out, flagArg{name: k, value: v, hasValue: true})
			continue
		}
		if proxyBoolFlags[name] || i+1 == len(args) {
			out = append(out, flagArg{name: name})
			continue
		}
		out = append(out, flagArg{name: name, value: args[i+1], hasValue: true})
		i++
	}
	return out
}

// translation is a grpc-proxy command line made into herald's.
type translation struct {
	flags   []flagArg // for herald
	dropped []flagArg // herald has no such flag
}

// lookup returns the value of the last flag called name, as pflag takes it.
func (t translation) lookup(name string) (string, bool) {
	for i := len(t.flags) - 1; i >= 0; i-- {
		if t.flags[i].name == name {
			return t.flags[i].value, true
		}
	}
	return "", false
}

// args renders the flags for herald's command line.
func (t translation) args() []string {
	out := make([]string, len(t.flags))
	for i, f := range t.flags {
		out[i] = f.String()
	}
	return out
}

// translate keeps the flags herald knows (it uses grpc-proxy's names for
// the flags it shares) and drops the others. A flag given twice with the
// same value (the framework repeats --client-crl-file) is passed once.
func translate(args []string, heraldFlags map[string]bool) translation {
	var t translation
	seen := map[string]bool{}
	for _, f := range parseProxyArgs(args) {
		switch {
		case f.name == "" || !heraldFlags[f.name]:
			t.dropped = append(t.dropped, f)
		case seen[f.String()]:
		default:
			seen[f.String()] = true
			t.flags = append(t.flags, f)
		}
	}
	// grpc-proxy's defaults where herald's differ: without --endpoints
	// herald would run an embedded etcd, and its --listen-addr default is
	// etcd's own client port.
	for _, d := range []flagArg{
		{name: "endpoints", value: "127.0.0.1:2379", hasValue: true},
		{name: "listen-addr", value: "127.0.0.1:23790", hasValue: true},
	} {
		if _, given := t.lookup(d.name); !given {
			t.flags = append(t.flags, d)
		}
	}
	return t
}

var helpFlag = regexp.MustCompile(`^\s+(?:-\w, )?--([a-z0-9-]+)`)

// parseHelpFlags lists the flag names in `herald start --help`, so that
// flags herald gains later pass through without a change here.
func parseHelpFlags(help string) map[string]bool {
	out := map[string]bool{}
	for _, line := range strings.Split(help, "\n") {
		if m := helpFlag.FindStringSubmatch(line); m != nil {
			out[m[1]] = true
		}
	}
	return out
}

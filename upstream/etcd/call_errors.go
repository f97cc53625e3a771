package etcd

import (
	"context"
	"errors"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// callErrors counts herald's calls to etcd that failed, by gRPC code:
// herald_upstream_errors_total{code}. A call whose caller cancelled it (a
// client that went away, a watch herald closed) is not a failure of etcd's
// and is not counted.
type callErrors struct {
	vec *prometheus.CounterVec
	// byCode holds the vector's child of each code that gRPC defines, made
	// at the start: every code is exported from 0 on (so that rate() sees
	// its first error), and a failed call costs no label lookup.
	byCode [codes.Unauthenticated + 1]prometheus.Counter
}

func newCallErrors() *callErrors {
	e := &callErrors{vec: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "herald_upstream_errors_total",
		Help: "Calls herald made to etcd that failed, by gRPC code (calls that their caller cancelled are not counted).",
	}, []string{"code"})}
	for c := codes.Canceled; c <= codes.Unauthenticated; c++ {
		e.byCode[c] = e.vec.WithLabelValues(c.String())
	}
	return e
}

// observe counts err, the outcome of a call made with ctx.
func (e *callErrors) observe(ctx context.Context, err error) {
	if err == nil || errors.Is(ctx.Err(), context.Canceled) {
		return
	}
	code := status.Code(err)
	switch {
	case code == codes.OK:
	case int(code) < len(e.byCode):
		e.byCode[code].Inc()
	default:
		e.vec.WithLabelValues(code.String()).Inc()
	}
}

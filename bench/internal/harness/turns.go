package harness

import (
	"net/http"
	"time"

	"tollgate.dev/tollgate/bench/internal/fleet"
	"tollgate.dev/tollgate/bench/internal/load"
	"tollgate.dev/tollgate/bench/internal/report"
)

// The targets' names, in progress lines and in the order they take turns.
const (
	nameDirect  = "direct"
	nameRP      = "reverseproxy"
	nameSidecar = "sidecar"
)

// target is one way of reaching the mock.
type target struct {
	name string
	req  load.Request
	proc *fleet.Process // the proxy; nil for the direct call
}

// targetList returns the three targets with body as their request.
func (b *bench) targetList(body string) []target {
	t := b.targets(body)
	return []target{
		{name: nameDirect, req: t.Direct},
		{name: nameRP, req: t.ReverseProxy, proc: b.rp},
		{name: nameSidecar, req: t.Sidecar, proc: b.sidecar},
	}
}

// inTurns runs fn against each target in turn, direct then ReverseProxy
// then sidecar, rounds times over, so that a change in the machine's other
// load falls on all three alike. Each target keeps its own client, with up
// to conns connections, over the rounds. What fn returns is pooled per
// target with merge. The CPU time each proxy process used during its own
// turns is measured too.
func inTurns[T any](b *bench, body string, conns, rounds int,
	fn func(round int, client *http.Client, t target) T, merge func(dst *T, src T),
) (report.Trio[T], report.Proxies[time.Duration], error) {
	targets := b.targetList(body)
	clients := make([]*http.Client, len(targets))
	for i := range clients {
		clients[i] = load.NewClient(conns)
		defer clients[i].CloseIdleConnections()
	}
	pooled := make([]T, len(targets))
	cpu := make([]time.Duration, len(targets))
	for round := range rounds {
		for i, t := range targets {
			var before time.Duration
			if t.proc != nil {
				var err error
				if before, err = t.proc.CPUTime(); err != nil {
					return report.Trio[T]{}, report.Proxies[time.Duration]{}, err
				}
			}
			merge(&pooled[i], fn(round, clients[i], t))
			if t.proc != nil {
				after, err := t.proc.CPUTime()
				if err != nil {
					return report.Trio[T]{}, report.Proxies[time.Duration]{}, err
				}
				cpu[i] += after - before
			}
		}
	}
	return report.Trio[T]{Direct: pooled[0], ReverseProxy: pooled[1], Sidecar: pooled[2]},
		report.Proxies[time.Duration]{ReverseProxy: cpu[1], Sidecar: cpu[2]}, nil
}

// results summarises pooled samples.
func results(s report.Trio[load.Samples]) report.Trio[load.Result] {
	return report.Trio[load.Result]{Direct: s.Direct.Result(), ReverseProxy: s.ReverseProxy.Result(), Sidecar: s.Sidecar.Result()}
}

// namedValue is one target's value with the target's name.
type namedValue[T any] struct {
	name string
	v    T
}

// named lists a Trio's values in turn order with their names.
func named[T any](t report.Trio[T]) []namedValue[T] {
	return []namedValue[T]{{nameDirect, t.Direct}, {nameRP, t.ReverseProxy}, {nameSidecar, t.Sidecar}}
}

func micros(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

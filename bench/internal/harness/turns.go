package harness

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"tollgate.dev/tollgate/bench/internal/fleet"
	"tollgate.dev/tollgate/bench/internal/load"
	"tollgate.dev/tollgate/bench/internal/report"
)

// The targets' names, in progress lines and in the order they take turns;
// the peer, when there is one, comes last.
const (
	nameDirect  = "direct"
	nameRP      = "reverseproxy"
	nameSidecar = "sidecar"
	namePortkey = "portkey"
)

// target is one way of reaching the mock.
type target struct {
	name string
	req  load.Request
	proc *fleet.Process // the proxy; nil for the direct call
	peer bool           // the peer, whose failures do not stop the run
}

// targetList returns the targets with body as their request: the three,
// and the peer while it runs.
func (b *bench) targetList(body string) []target {
	t := b.targets(body)
	list := []target{
		{name: nameDirect, req: t.Direct},
		{name: nameRP, req: t.ReverseProxy, proc: b.rp},
		{name: nameSidecar, req: t.Sidecar, proc: b.sidecar},
	}
	if t.Portkey != nil {
		list = append(list, target{name: namePortkey, req: *t.Portkey, proc: b.peerProc, peer: true})
	}
	return list
}

// inTurns runs fn against each target in turn, direct then ReverseProxy
// then sidecar then the peer, rounds times over, so that a change in the
// machine's other load falls on all alike. Each target keeps its own
// client, with up to conns connections, over the rounds. What fn returns
// is pooled per target with merge. The CPU time each proxy process used
// during its own turns is measured too.
//
// A peer whose CPU time cannot be read (it has exited) is lost: what it
// was measured at before stays, without its CPU time, and it takes no
// more turns.
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
	turns := make([]int, len(targets))
	for round := range rounds {
		for i, t := range targets {
			if t.peer && b.peer == nil {
				continue // lost in an earlier turn
			}
			b.settle(targets)
			before, err := cpuTime(t.proc)
			if err != nil {
				if t.peer {
					b.losePeer(err)
					continue
				}
				return report.Trio[T]{}, report.Proxies[time.Duration]{}, err
			}
			merge(&pooled[i], fn(round, clients[i], t))
			turns[i]++
			if t.peer {
				b.peerMeasured = true
			}
			after, err := cpuTime(t.proc)
			if err != nil {
				if t.peer {
					b.losePeer(err)
					continue
				}
				return report.Trio[T]{}, report.Proxies[time.Duration]{}, err
			}
			cpu[i] += after - before
		}
	}
	res := report.Trio[T]{Direct: pooled[0], ReverseProxy: pooled[1], Sidecar: pooled[2]}
	cpus := report.Proxies[time.Duration]{ReverseProxy: cpu[1], Sidecar: cpu[2]}
	if len(targets) > 3 && turns[3] > 0 {
		res.Portkey = &pooled[3]
		if b.peer != nil {
			cpus.Portkey = &cpu[3] // only if it lasted every turn
		}
	}
	return res, cpus, nil
}

// Settling: before each turn, the proxies (which share one core) must have
// stopped working on the turn before: a Node.js process in particular
// goes on collecting garbage and compiling after its requests are done,
// and would take the core from the next target's turn.
const (
	// settleBusy is the CPU time in Options.TurnSettle above which a
	// process is still at work: two 10 ms clock ticks.
	settleBusy = 20 * time.Millisecond
	// settleMax bounds the wait; a line says when it ran out.
	settleMax = 10 * time.Second
)

// settle waits until none of the targets' processes used more than
// settleBusy of CPU time in the last Options.TurnSettle, for at most
// settleMax.
func (b *bench) settle(targets []target) {
	window := b.o.TurnSettle
	if window <= 0 {
		return
	}
	last := make([]time.Duration, len(targets))
	read := func() {
		for i, t := range targets {
			last[i], _ = cpuTime(t.proc) // a process gone is idle
		}
	}
	read()
	for deadline := time.Now().Add(settleMax); ; {
		time.Sleep(window)
		busy := ""
		for i, t := range targets {
			now, _ := cpuTime(t.proc)
			if now-last[i] > settleBusy {
				busy = t.name
			}
			last[i] = now
		}
		if busy == "" {
			return
		}
		if time.Now().After(deadline) {
			b.logf("settle      %s still busy after %s; measuring anyway\n", busy, settleMax)
			return
		}
	}
}

// cpuTime is the CPU time the process has used; none for no process.
func cpuTime(p *fleet.Process) (time.Duration, error) {
	if p == nil {
		return 0, nil
	}
	return p.CPUTime()
}

// results summarises pooled samples.
func results(s report.Trio[load.Samples]) report.Trio[load.Result] {
	summary := func(s load.Samples) load.Result { return s.Result() }
	return report.Trio[load.Result]{Direct: summary(s.Direct), ReverseProxy: summary(s.ReverseProxy), Sidecar: summary(s.Sidecar), Portkey: peerValue(s.Portkey, summary)}
}

// perProxy is each proxy's CPU time in unit divided by what it served,
// served(r) of its results r.
func perProxy[R any](cpu report.Proxies[time.Duration], unit time.Duration, res report.Trio[R], served func(R) float64) report.Proxies[float64] {
	per := func(d time.Duration, r R) float64 {
		n := served(r)
		if n <= 0 {
			return 0 // nothing served: no figure, not a division by zero
		}
		return float64(d) / float64(unit) / n
	}
	out := report.Proxies[float64]{ReverseProxy: per(cpu.ReverseProxy, res.ReverseProxy), Sidecar: per(cpu.Sidecar, res.Sidecar)}
	if cpu.Portkey != nil && res.Portkey != nil {
		out.Portkey = peerValue(cpu.Portkey, func(d time.Duration) float64 { return per(d, *res.Portkey) })
	}
	return out
}

// peerValue is f of p's value, or nil for a nil p: a value of the peer's,
// which has none when it was not measured.
func peerValue[T, U any](p *T, f func(T) U) *U {
	if p == nil {
		return nil
	}
	v := f(*p)
	return &v
}

// namedValue is one target's value with the target's name.
type namedValue[T any] struct {
	name string
	v    T
}

// named lists a Trio's values in turn order with their names, the peer's
// when it has one.
func named[T any](t report.Trio[T]) []namedValue[T] {
	out := []namedValue[T]{{nameDirect, t.Direct}, {nameRP, t.ReverseProxy}, {nameSidecar, t.Sidecar}}
	if t.Portkey != nil {
		out = append(out, namedValue[T]{namePortkey, *t.Portkey})
	}
	return out
}

// proxiesLine says each proxy's value for a progress line, e.g.
// "reverseproxy 40 µs, sidecar 52 µs".
func proxiesLine(p report.Proxies[float64], format string) string {
	parts := []string{nameRP + " " + fmt.Sprintf(format, p.ReverseProxy), nameSidecar + " " + fmt.Sprintf(format, p.Sidecar)}
	if p.Portkey != nil {
		parts = append(parts, namePortkey+" "+fmt.Sprintf(format, *p.Portkey))
	}
	return strings.Join(parts, ", ")
}

// mibs is f of each proxy's memory, in MiB.
func mibs(p report.Proxies[fleet.Memory], f func(fleet.Memory) int64) report.Proxies[float64] {
	mib := func(m fleet.Memory) float64 { return fleet.MiB(f(m)) }
	return report.Proxies[float64]{ReverseProxy: mib(p.ReverseProxy), Sidecar: mib(p.Sidecar), Portkey: peerValue(p.Portkey, mib)}
}

func rss(m fleet.Memory) int64 { return m.RSS }
func hwm(m fleet.Memory) int64 { return m.HWM }

package policy

import (
	"slices"
	"sync"

	"github.com/failsafe-go/failsafe-go/circuitbreaker"

	"tollgate.dev/tollgate/pkg/proxyconfig"
)

// breakers holds one circuit breaker per target, created on first use. A
// registry outlives the Set that made it when a reload keeps its settings.
type breakers struct {
	cfg      proxyconfig.CircuitBreaker
	failures []Failure
	onChange func(t Target, from, to circuitbreaker.State)

	mu sync.RWMutex // guards byTarget
	// byTarget grows with the models requests name, up to maxTargets.
	byTarget map[Target]circuitbreaker.CircuitBreaker[*outcome]
}

// maxTargets bounds the breakers (and executors) one policy keeps, so that
// an app naming endless distinct models cannot grow the sidecar's memory.
// Targets beyond it share one breaker per provider.
const maxTargets = 1024

// overflow is the shared target of models past maxTargets.
func overflow(t Target) Target { return Target{Provider: t.Provider, Model: "*"} }

func newBreakers(cfg proxyconfig.CircuitBreaker, failures []Failure, onChange func(Target, circuitbreaker.State, circuitbreaker.State)) *breakers {
	return &breakers{cfg: cfg, failures: failures, onChange: onChange, byTarget: map[Target]circuitbreaker.CircuitBreaker[*outcome]{}}
}

func (b *breakers) peek(t Target) circuitbreaker.CircuitBreaker[*outcome] {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.byTarget[t]
}

func (b *breakers) get(t Target) circuitbreaker.CircuitBreaker[*outcome] {
	if cb := b.peek(t); cb != nil {
		return cb
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if cb, ok := b.byTarget[t]; ok {
		return cb
	}
	if len(b.byTarget) >= maxTargets {
		t = overflow(t)
		if cb, ok := b.byTarget[t]; ok {
			return cb
		}
	}
	cb := b.build(t)
	b.byTarget[t] = cb
	return cb
}

// counts reports whether an attempt's result counts as a failure against
// a breaker: one of the failures retries act on, or a timeout the timeout
// policy inside it raised.
func (b *breakers) counts(o *outcome, err error) bool {
	return slices.Contains(b.failures, failureOf(o, err))
}

// record tells cb the result of an attempt it admitted, as its own
// policy does after an execution (see Set.observe).
func (b *breakers) record(cb circuitbreaker.CircuitBreaker[*outcome], o *outcome, err error) {
	if b.counts(o, err) {
		cb.RecordFailure()
		return
	}
	cb.RecordSuccess()
}

// build makes t's breaker: it counts the failures retries act on (and
// timeouts, which the timeout policy inside it reports), opens on a failure
// rate over a window or on consecutive failures, stays open for
// openDuration, then lets halfOpenRequests trials through, all of which must
// succeed for it to close.
func (b *breakers) build(t Target) circuitbreaker.CircuitBreaker[*outcome] {
	c := b.cfg
	builder := circuitbreaker.NewBuilder[*outcome]().
		HandleIf(b.counts).
		WithDelay(c.OpenDuration.D()).
		WithSuccessThreshold(uint(c.HalfOpenRequests))
	if c.ConsecutiveFailures > 0 {
		builder = builder.WithFailureThreshold(uint(c.ConsecutiveFailures))
	} else {
		builder = builder.WithFailureRateThreshold(float64(c.FailureRateThreshold)/100, uint(c.MinimumRequests), c.Window.D())
	}
	if b.onChange != nil {
		builder = builder.OnStateChanged(func(e circuitbreaker.StateChangedEvent) {
			b.onChange(t, e.OldState, e.NewState)
		})
	}
	return builder.Build()
}

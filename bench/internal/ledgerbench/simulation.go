package ledgerbench

import (
	"context"
	"math/rand/v2"
	"time"

	"tollgate.dev/tollgate/pkg/proxyconfig"
)

// sample is one sync as a simulated sidecar saw it.
type sample struct {
	// at is when the sync was sent.
	at time.Time
	// took is how long its answer took.
	took time.Duration
	// result is "" for an answer, else the refusal's code or
	// "unreachable".
	result string
}

// spend is spend the ledger acknowledged.
type spend struct {
	usd      proxyconfig.USD
	requests int64
}

func (s *spend) add(usd proxyconfig.USD, requests int64) {
	s.usd = s.usd.Add(usd)
	s.requests += requests
}

// simulation is a fleet of simulated sidecars, one per pod.
type simulation interface {
	// start starts the sidecars, each at a random moment within the first
	// interval; they sync until stop.
	start(ctx context.Context) error
	// stop ends the load and waits until every sidecar has reported what
	// it spent and stopped.
	stop(ctx context.Context) error
	// samples are the syncs of every sidecar, complete once stopped.
	samples() []sample
	// acknowledged is the spend the ledger acknowledged, by policy,
	// complete once stopped.
	acknowledged() map[string]spend
	// notes says what a reader of the numbers should know, e.g. requests
	// the sidecars' gates blocked.
	notes() []string
}

// The spend of a simulated request: what a short gpt-4o-mini chat costs,
// with 2 requests per sidecar per second.
var (
	requestCost    = proxyconfig.MustUSD("0.000421")
	requestMaxCost = proxyconfig.MustUSD("0.01")
)

const requestsPerInterval = 2

// sleep waits d, or until done closes; it reports whether d passed.
func sleep(d time.Duration, done <-chan struct{}) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-done:
		return false
	}
}

// jitter is a random duration in [0, d), spreading the sidecars' starts as
// pods that started at different times spread theirs.
func jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return rand.N(d)
}

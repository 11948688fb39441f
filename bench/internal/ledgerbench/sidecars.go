package ledgerbench

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"time"

	"go.uber.org/zap"

	sidecarledger "tollgate.dev/tollgate/internal/sidecar/ledger"
	"tollgate.dev/tollgate/internal/translate"
	"tollgate.dev/tollgate/pkg/budget"
	"tollgate.dev/tollgate/pkg/proxyconfig"
)

// sidecars is the simulation with the sidecar's own ledger client per pod
// (internal/sidecar/ledger): its state directory, its transport, its token
// file read at every request, its bundle long poll, and requests admitted
// through its Gate and settled, as the proxy does.
type sidecars struct {
	interval time.Duration
	bundles  bool
	pods     []*sidecarPod

	halt   chan struct{} // closed by stop: no more requests
	spends sync.WaitGroup
}

// sidecarPod is one pod's sidecar.
type sidecarPod struct {
	pod    benchPod
	ledger *sidecarledger.Ledger
	gate   budget.Gate
	cancel context.CancelFunc // ends Run, which reports what is left
	done   chan struct{}      // closed when Run has returned

	mu sync.Mutex // guards every field below: Observe runs on Run's goroutine, spending on another
	// last is when the previous sync ended.
	last    time.Time
	samples []sample
	settled spend
	blocked int64
}

func newSidecars(w *workload, ledgerURL, caFile, dir string, interval time.Duration, bundles bool) (*sidecars, error) {
	gates := map[string]proxyconfig.Budget{}
	for _, p := range w.policies {
		file, err := translate.File(p.DeepCopy())
		if err != nil {
			return nil, fmt.Errorf("translate LLMPolicy %s: %w", p.Name, err)
		}
		gates[p.Name] = *file.Budget
	}
	s := &sidecars{interval: interval, bundles: bundles, halt: make(chan struct{})}
	for _, bp := range w.pods {
		sp := &sidecarPod{pod: bp}
		led, err := sidecarledger.New(sidecarledger.Options{
			URLs: []string{ledgerURL}, CAFile: caFile, TokenFile: bp.tokenFile,
			StateDir: filepath.Join(dir, "state", bp.name), PodUID: bp.uid,
			Interval: interval, Log: zap.NewNop(), Observe: sp.observe(interval),
		})
		if err != nil {
			return nil, fmt.Errorf("sidecar of pod %s: %w", bp.name, err)
		}
		sp.ledger, sp.gate = led, led.Gate(bp.policy, gates[bp.policy])
		s.pods = append(s.pods, sp)
	}
	return s, nil
}

// observe returns the ledger's Observe hook: the client cannot be timed
// from outside, so a sync's time is taken as the time since the previous
// sync ended, less the interval it waited. That counts its own work too
// (sealing the batch, saving its state) and the timer's delay; a sync
// kicked early (the allowance ran low) would count as less.
func (p *sidecarPod) observe(interval time.Duration) func(string, proxyconfig.USD) {
	return func(result string, _ proxyconfig.USD) {
		now := time.Now()
		p.mu.Lock()
		defer p.mu.Unlock()
		if result == "success" {
			result = ""
		}
		if !p.last.IsZero() {
			at := p.last.Add(interval)
			p.samples = append(p.samples, sample{at: at, took: max(now.Sub(at), 0), result: result})
		}
		p.last = now
	}
}

func (s *sidecars) start(ctx context.Context) error {
	for _, p := range s.pods {
		runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		p.cancel, p.done = cancel, make(chan struct{})
		go func() {
			defer close(p.done)
			if !sleep(jitter(s.interval), s.halt) {
				return
			}
			_ = p.ledger.Run(runCtx)
		}()
		if s.bundles {
			go p.ledger.RunBundles(runCtx, func([]byte) {})
		}
		s.spends.Add(1)
		go func() { defer s.spends.Done(); s.spend(p) }()
	}
	return nil
}

// spend admits and settles requestsPerInterval requests an interval
// through the pod's gate, as the proxy does around each call.
func (s *sidecars) spend(p *sidecarPod) {
	if !sleep(jitter(s.interval), s.halt) {
		return
	}
	for {
		for range requestsPerInterval {
			r, d := p.gate.Reserve(requestMaxCost)
			if d.Action != budget.Allow {
				p.mu.Lock()
				p.blocked++
				p.mu.Unlock()
				continue
			}
			r.Settle(requestCost)
			p.mu.Lock()
			p.settled.add(requestCost, 1)
			p.mu.Unlock()
		}
		if !sleep(s.interval, s.halt) {
			return
		}
	}
}

// stop ends the requests and then the ledgers' Run, which releases the
// allowance held and reports what is left (within its own 5 s).
func (s *sidecars) stop(ctx context.Context) error {
	close(s.halt)
	s.spends.Wait()
	// A sync cycle or two so that the last spend is reported while the
	// clients still run, rather than in their 5 s at shutdown.
	if !sleep(2*s.interval+time.Second, ctx.Done()) {
		return ctx.Err()
	}
	for _, p := range s.pods {
		p.cancel()
	}
	var err error
	for _, p := range s.pods {
		select {
		case <-p.done:
		case <-ctx.Done():
			err = errors.Join(err, fmt.Errorf("sidecar of pod %s did not stop: %w", p.pod.name, ctx.Err()))
		}
	}
	return err
}

func (s *sidecars) samples() []sample {
	var out []sample
	for _, p := range s.pods {
		p.mu.Lock()
		out = append(out, p.samples...)
		p.mu.Unlock()
	}
	return out
}

// acknowledged is what the gates settled: the sidecars report all of it,
// unless a batch is lost, which the check against status shows.
func (s *sidecars) acknowledged() map[string]spend {
	out := map[string]spend{}
	for _, p := range s.pods {
		p.mu.Lock()
		sp := out[p.pod.policy]
		sp.add(p.settled.usd, p.settled.requests)
		out[p.pod.policy] = sp
		p.mu.Unlock()
	}
	return out
}

func (s *sidecars) notes() []string {
	var blocked int64
	for _, p := range s.pods {
		p.mu.Lock()
		blocked += p.blocked
		p.mu.Unlock()
	}
	if blocked > 0 {
		return []string{fmt.Sprintf("sidecar clients: their gates did not admit %d requests (not spent; before a pod's first answer, its allowance is none)", blocked)}
	}
	return nil
}

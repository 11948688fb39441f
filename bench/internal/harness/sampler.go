package harness

import (
	"time"

	"tollgate.dev/tollgate/bench/internal/fleet"
)

// sampleEvery is how often a sampler reads a process's memory.
const sampleEvery = 50 * time.Millisecond

// sampler reads a process's VmRSS every sampleEvery from its own goroutine
// until stopped, keeping the highest.
type sampler struct {
	p    *fleet.Process // nil samples nothing
	quit chan struct{}
	done chan struct{} // closed when the goroutine has ended; peak and err are set then
	peak int64
	err  error
}

// startSampler starts sampling p; p may be nil (the direct call has no
// process of its own).
func startSampler(p *fleet.Process) *sampler {
	s := &sampler{p: p, quit: make(chan struct{}), done: make(chan struct{})}
	go s.loop()
	return s
}

func (s *sampler) loop() {
	defer close(s.done)
	if s.p == nil {
		<-s.quit
		return
	}
	tick := time.NewTicker(sampleEvery)
	defer tick.Stop()
	for {
		m, err := s.p.Memory()
		if err != nil {
			s.err = err
			return
		}
		s.peak = max(s.peak, m.RSS)
		select {
		case <-s.quit:
			return
		case <-tick.C:
		}
	}
}

// stop ends the sampling and returns the highest VmRSS sampled with the
// process's VmHWM now.
func (s *sampler) stop() (fleet.Memory, error) {
	close(s.quit)
	<-s.done
	if s.p == nil || s.err != nil {
		return fleet.Memory{}, s.err
	}
	m, err := s.p.Memory()
	if err != nil {
		return fleet.Memory{}, err
	}
	return fleet.Memory{RSS: max(s.peak, m.RSS), HWM: m.HWM}, nil
}

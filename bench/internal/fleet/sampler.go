package fleet

import "time"

// SampleEvery is how often a Sampler reads a process's memory.
const SampleEvery = 50 * time.Millisecond

// Sampler reads a process's VmRSS every SampleEvery from its own goroutine
// until stopped, keeping the highest.
type Sampler struct {
	p    *Process // nil samples nothing
	quit chan struct{}
	done chan struct{} // closed when the goroutine has ended; peak and err are set then
	peak int64
	err  error
}

// StartSampler starts sampling p; p may be nil (the direct call has no
// process of its own).
func StartSampler(p *Process) *Sampler {
	s := &Sampler{p: p, quit: make(chan struct{}), done: make(chan struct{})}
	go s.loop()
	return s
}

func (s *Sampler) loop() {
	defer close(s.done)
	if s.p == nil {
		<-s.quit
		return
	}
	tick := time.NewTicker(SampleEvery)
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

// Stop ends the sampling and returns the highest VmRSS sampled with the
// process's VmHWM now.
func (s *Sampler) Stop() (Memory, error) {
	close(s.quit)
	<-s.done
	if s.p == nil || s.err != nil {
		return Memory{}, s.err
	}
	m, err := s.p.Memory()
	if err != nil {
		return Memory{}, err
	}
	return Memory{RSS: max(s.peak, m.RSS), HWM: m.HWM}, nil
}

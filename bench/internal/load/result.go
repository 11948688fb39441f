package load

import (
	"time"

	"tollgate.dev/tollgate/bench/internal/stats"
)

// Result is what one run of requests against one target measured.
type Result struct {
	// Latency is the distribution of the measured requests' latencies,
	// failed ones included (a failure's latency is the time it took to
	// fail).
	Latency stats.Summary `json:"latency"`
	// Sent counts the measured requests (warm-up excluded).
	Sent int `json:"sent"`
	// OK counts the measured requests answered 200 and read whole.
	OK int `json:"ok"`
	// Errors counts the measured requests that failed.
	Errors int `json:"errors"`
	// FirstError describes one failure, to tell what went wrong.
	FirstError string `json:"first_error,omitempty"`
	// Rate is OK requests per second over the measured window.
	Rate float64 `json:"rate_per_s"`
	// Seconds is the length of the measured window.
	Seconds float64 `json:"seconds"`
}

// outcome is one request's measurement.
type outcome struct {
	latency time.Duration
	err     error
}

// Samples are the raw measurements of a run, to be pooled with those of
// other runs against the same target before they are summarised.
type Samples struct {
	outs   []outcome
	window time.Duration
	// all counts every request the run sent, warm-up and those ending
	// outside the window included, where the run counts them (a closed
	// loop): what a process's CPU time over the whole run is divided by.
	all int
}

// Merge pools o into s.
func (s *Samples) Merge(o Samples) {
	s.outs = append(s.outs, o.outs...)
	s.window += o.window
	s.all += o.all
}

// All counts every request the run sent, the unmeasured ones included: a
// closed loop's warm-up and the requests that ended outside its window. It
// is zero for runs that do not count them (an open loop's are known from
// its rate).
func (s Samples) All() int { return s.all }

// Result summarises the samples.
func (s Samples) Result() Result { return summarize(s.outs, s.window) }

// summarize turns outcomes into a Result over a window of the given
// length.
func summarize(outs []outcome, window time.Duration) Result {
	r := Result{Sent: len(outs), Seconds: window.Seconds()}
	lat := make([]time.Duration, 0, len(outs))
	for _, o := range outs {
		lat = append(lat, o.latency)
		if o.err != nil {
			r.Errors++
			if r.FirstError == "" {
				r.FirstError = o.err.Error()
			}
			continue
		}
		r.OK++
	}
	r.Latency = stats.Summarize(lat)
	if window > 0 {
		r.Rate = float64(r.OK) / window.Seconds()
	}
	return r
}

package ledgerbench

import (
	"context"
	"fmt"
	"math"
	"os"
	"time"

	"tollgate.dev/tollgate/bench/internal/fleet"
	"tollgate.dev/tollgate/bench/internal/stats"
)

// reading is what is read at each end of the measured window.
type reading struct {
	at time.Time
	// operator, apiserver, etcd and self (this process: the simulated
	// sidecars) are CPU times.
	operator, apiserver, etcd, self time.Duration
	metrics                         ledgerMetrics
}

// controlPlane are the pids of the kube-apiserver and etcd testenv runs.
type controlPlane struct{ apiserver, etcd []int }

func findControlPlane() (controlPlane, error) {
	kids, err := children()
	if err != nil {
		return controlPlane{}, err
	}
	cp := controlPlane{apiserver: kids["kube-apiserver"], etcd: kids["etcd"]}
	if len(cp.apiserver) == 0 || len(cp.etcd) == 0 {
		return cp, fmt.Errorf("no kube-apiserver or etcd among this process's children (found %v)", kids)
	}
	return cp, nil
}

func cpuOf(pids []int) (time.Duration, error) {
	var sum time.Duration
	for _, pid := range pids {
		d, err := fleet.CPUTime(pid)
		if err != nil {
			return 0, err
		}
		sum += d
	}
	return sum, nil
}

// read takes a reading of the operator and the control plane.
func read(ctx context.Context, op *operator, cp controlPlane) (reading, error) {
	exposition, err := op.scrape(ctx)
	if err != nil {
		return reading{}, err
	}
	r := reading{at: time.Now()}
	if r.metrics, err = parseMetrics(exposition); err != nil {
		return reading{}, err
	}
	if r.operator, err = op.p.CPUTime(); err != nil {
		return reading{}, err
	}
	if r.apiserver, err = cpuOf(cp.apiserver); err != nil {
		return reading{}, err
	}
	if r.etcd, err = cpuOf(cp.etcd); err != nil {
		return reading{}, err
	}
	if r.self, err = fleet.CPUTime(os.Getpid()); err != nil {
		return reading{}, err
	}
	return r, nil
}

// account fills the scenario's server-side and CPU figures from the
// readings at the start and the end of its window.
func account(s *Scenario, r0, r1 reading) {
	secs := r1.at.Sub(r0.at).Seconds()
	m := r1.metrics.sub(r0.metrics)
	s.Server = Server{
		Syncs:                m.SyncsOK + m.SyncsRefused,
		MeanMs:               1000 * m.SyncSeconds.mean(),
		ProcessingMeanMs:     1000 * m.Processing.mean(),
		APIRequestsPerSecond: map[string]float64{},
	}
	if p99 := m.Processing.quantileBound(0.99); math.IsInf(p99, +1) {
		s.Server.ProcessingP99Beyond = true
		if n := len(m.Processing.Bounds); n > 0 {
			s.Server.ProcessingP99BoundMs = 1000 * m.Processing.Bounds[n-1]
		}
	} else {
		s.Server.ProcessingP99BoundMs = 1000 * p99
	}
	for method, n := range m.APIRequests {
		s.Server.APIRequestsPerSecond[method] = n / secs
	}
	usage := func(d time.Duration) Usage {
		u := Usage{CPUSeconds: d.Seconds(), Cores: d.Seconds() / secs}
		if s.Server.Syncs > 0 {
			u.CPUSecondsPer1000Syncs = 1000 * d.Seconds() / s.Server.Syncs
		}
		return u
	}
	s.Operator = usage(r1.operator - r0.operator)
	s.APIServer = usage(r1.apiserver - r0.apiserver)
	s.Etcd = usage(r1.etcd - r0.etcd)
	s.Sidecars = usage(r1.self - r0.self)
	s.StatusWrites.Commits, s.StatusWrites.Errors = m.StatusWrites, m.StatusWriteErrors
}

// summarize counts the samples sent in [from, to) by result, and returns
// the latency of the answered ones with a timeline, second by second.
func summarize(samples []sample, from, to time.Time) (results map[string]int, latency stats.Summary, timeline []Second) {
	results = map[string]int{}
	var ok []time.Duration
	secs := int(math.Ceil(to.Sub(from).Seconds()))
	perSecond := make([][]time.Duration, secs)
	counts := make([]int, secs)
	for _, s := range samples {
		if s.at.Before(from) || !s.at.Before(to) {
			continue
		}
		i := int(s.at.Sub(from) / time.Second)
		counts[i]++
		if s.result != "" {
			results[s.result]++
			continue
		}
		results[resultOK]++
		ok = append(ok, s.took)
		perSecond[i] = append(perSecond[i], s.took)
	}
	for i := range secs {
		sum := stats.Summarize(perSecond[i])
		timeline = append(timeline, Second{At: i, Syncs: counts[i], P99Ms: sum.P99, MaxMs: sum.Max})
	}
	return results, stats.Summarize(ok), timeline
}

package ledgerbench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"tollgate.dev/tollgate/bench/internal/fleet"
	"tollgate.dev/tollgate/bench/internal/report"
)

// settleWait bounds how long the check waits for status to show what the
// stopped sidecars reported last.
const settleWait = 30 * time.Second

// bench is one run: the control plane, the operator binary and where
// files go.
type bench struct {
	o       Options
	log     io.Writer
	dir     string // temporary: the binary, certificates, tokens, state, logs
	bin     string
	cluster *cluster
	cp      controlPlane
}

// Run runs the benchmark as o says, writing progress to progress, and
// returns the finished report. It stops every process it started before
// it returns.
func Run(ctx context.Context, o Options, progress io.Writer) (*Report, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	root, err := fleet.FindRoot(o.Repo)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "tollgate-ledger-bench-")
	if err != nil {
		return nil, err
	}
	b := &bench{o: o, log: progress, dir: dir}
	rep, err := b.run(ctx, root)
	if b.cluster != nil {
		if serr := b.cluster.stop(); serr != nil && err == nil {
			err = fmt.Errorf("stop the control plane: %w", serr)
		}
	}
	if err != nil {
		// The logs stay for a look at what went wrong.
		return nil, fmt.Errorf("%w\n(the operator's logs are in %s)", err, dir)
	}
	_ = os.RemoveAll(dir)
	return rep, nil
}

func (b *bench) run(ctx context.Context, root string) (*Report, error) {
	rep := &Report{Header: report.Header{StartedAt: time.Now().UTC(), Machine: fleet.DescribeMachine(false)}, Settings: Settings{
		Quick: b.o.Quick, Pods: b.o.Pods, Interval: b.o.Interval.Seconds(), Commit: b.o.Commit.Seconds(),
		Warmup: b.o.Warmup.Seconds(), Duration: b.o.Duration.Seconds(),
		RequestsPerInterval: requestsPerInterval, RequestCost: requestCost.String(), Bundles: b.o.Bundles,
	}}
	b.logf("building the operator\n")
	var err error
	if b.bin, err = buildOperator(ctx, root, b.dir); err != nil {
		return nil, err
	}
	b.logf("starting kube-apiserver and etcd\n")
	if b.cluster, err = startCluster(); err != nil {
		return nil, err
	}
	if b.cp, err = findControlPlane(); err != nil {
		return nil, err
	}
	for _, client := range b.o.Clients {
		for _, n := range b.o.Policies {
			s, err := b.scenario(ctx, client, n)
			if err != nil {
				return nil, err
			}
			rep.Scenarios = append(rep.Scenarios, *s)
			if err := ctx.Err(); err != nil {
				return nil, fmt.Errorf("benchmark interrupted: %w (%v)", err, context.Cause(ctx))
			}
		}
	}
	rep.Finish()
	return rep, nil
}

// scenario measures the ledger with n policies and the kind of client.
func (b *bench) scenario(ctx context.Context, client string, n int) (*Scenario, error) {
	name := fmt.Sprintf("%s, %d %s", client, n, plural(n, "policy", "policies"))
	s := &Scenario{Name: name, Client: client, Policies: n, Pods: b.o.Pods}
	tag := fmt.Sprintf("%s-%dp", client, n)
	dir := filepath.Join(b.dir, tag)
	if err := mkdir(dir); err != nil {
		return nil, err
	}
	b.logf("%s: creating %d policies, %d pods and their tokens\n", name, n, b.o.Pods)
	w, err := b.cluster.create(ctx, "bench-"+tag, n, b.o.Pods, dir)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err := b.cluster.remove(context.WithoutCancel(ctx), w); err != nil {
			b.logf("%s: %v\n", name, err)
		}
	}()
	op, err := startOperator(ctx, b.bin, b.cluster.env.Kubeconfig, b.dir, "operator-"+tag, b.o.Commit)
	if err != nil {
		return nil, err
	}
	defer op.stop()
	writes, err := watchWrites(ctx, b.cluster.c, w.ns)
	if err != nil {
		return nil, err
	}
	defer writes.stop()

	var sim simulation
	switch client {
	case ClientLean:
		sim, err = newLean(w.pods, op.ledgerURL, op.caFile, b.o.Interval, b.o.Bundles)
		s.LatencyHow = "each sync timed from its request to its answer"
	default:
		sim, err = newSidecars(w, op.ledgerURL, op.caFile, dir, b.o.Interval, b.o.Bundles)
		s.LatencyHow = "the time between two syncs of a sidecar less the interval (its own state writes and timer delay included)"
	}
	if err != nil {
		return nil, err
	}
	b.logf("%s: %d sidecars syncing; %s of warm-up\n", name, b.o.Pods, b.o.Warmup)
	if err := sim.start(ctx); err != nil {
		return nil, err
	}
	stopped := false
	defer func() {
		if !stopped {
			_ = sim.stop(context.WithoutCancel(ctx))
		}
	}()
	if !sleep(b.o.Warmup, ctx.Done()) {
		return nil, ctx.Err()
	}
	sampler := fleet.StartSampler(op.p)
	r0, err := read(ctx, op, b.cp)
	if err != nil {
		_, _ = sampler.Stop()
		return nil, err
	}
	b.logf("%s: measuring for %s\n", name, b.o.Duration)
	if !sleep(b.o.Duration, ctx.Done()) {
		_, _ = sampler.Stop()
		return nil, ctx.Err()
	}
	r1, err := read(ctx, op, b.cp)
	mem, merr := sampler.Stop()
	if err != nil {
		return nil, err
	}
	if merr != nil {
		return nil, merr
	}
	s.Operator.Memory = &mem
	account(s, r0, r1)
	s.Operator.Memory = &mem

	b.logf("%s: stopping the sidecars\n", name)
	stopped = true
	stopErr := sim.stop(ctx)
	s.Seconds = r1.at.Sub(r0.at).Seconds()
	s.Results, s.Latency, s.Timeline = summarize(sim.samples(), r0.at, r1.at)
	for _, c := range s.Results {
		s.Syncs += c
	}
	s.SyncsPerSecond = float64(s.Syncs) / s.Seconds
	for _, n := range writes.count(r0.at, r1.at) {
		s.StatusWrites.Watched += n
		s.StatusWrites.MostOfAPolicy = max(s.StatusWrites.MostOfAPolicy, n)
	}
	s.StatusWrites.PerSecond = float64(s.StatusWrites.Watched) / s.Seconds
	s.StatusWrites.PerPolicyPerSecond = s.StatusWrites.PerSecond / float64(n)
	if stopErr != nil {
		b.logf("%s: %v\n", name, stopErr)
	}
	if err := b.check(ctx, s, w, sim.acknowledged()); err != nil {
		return nil, err
	}
	b.logf("%s: %.0f syncs/s, p50 %.1f ms, p99 %.1f ms; ledger %.3f ms per sync without the wait; operator %.2f cores, %.3f CPU-s per 1000 syncs, VmHWM %.1f MiB; %.2f status writes/s; spent matches: %v\n",
		name, s.SyncsPerSecond, s.Latency.P50, s.Latency.P99, s.Server.ProcessingMeanMs, s.Operator.Cores, s.Operator.CPUSecondsPer1000Syncs,
		fleet.MiB(mem.HWM), s.StatusWrites.PerSecond, s.Check.Match)
	return s, nil
}

// check compares each policy's status.budget with what its sidecars had
// acknowledged, waiting up to settleWait for the last reports, and reads
// the size of the largest policy's status.
func (b *bench) check(ctx context.Context, s *Scenario, w *workload, reported map[string]spend) error {
	start := time.Now()
	for {
		s.Check = Check{Match: true}
		for _, p := range w.policies {
			got, err := b.cluster.policy(ctx, w.ns, p.Name)
			if err != nil {
				return err
			}
			want := reported[p.Name]
			pc := PolicyCheck{Policy: p.Name, Reported: want.usd.String(), ReportedRequests: want.requests}
			if st := got.Status.Budget; st != nil {
				pc.Spent, pc.Requests = st.Spent, st.Requests
			}
			s.Check.Match = s.Check.Match && pc.Spent == pc.Reported && pc.Requests == pc.ReportedRequests
			s.Check.Policies = append(s.Check.Policies, pc)
			status, _ := json.Marshal(got.Status)
			object, _ := json.Marshal(got)
			s.StatusBytes, s.ObjectBytes = max(s.StatusBytes, len(status)), max(s.ObjectBytes, len(object))
		}
		s.Check.SettledAfter = time.Since(start).Seconds()
		if s.Check.Match || time.Since(start) > settleWait {
			return nil
		}
		if !sleep(time.Second, ctx.Done()) {
			return ctx.Err()
		}
	}
}

func (b *bench) logf(format string, args ...any) {
	fmt.Fprintf(b.log, format, args...)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func mkdir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	return nil
}

package harness

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"tollgate.dev/tollgate/bench/internal/fleet"
	"tollgate.dev/tollgate/bench/internal/load"
	"tollgate.dev/tollgate/bench/internal/report"
	"tollgate.dev/tollgate/internal/testkit/mockprovider"
)

// bench is one run: the processes and where their files are.
type bench struct {
	o       Options
	log     io.Writer
	dir     string // temporary: binaries, policy file, logs
	bins    fleet.Binaries
	taskset string // "" when processes are not pinned

	mock       *fleet.Process
	rp         *fleet.Process
	sidecar    *fleet.Process
	sidecarURL string
	policyPath string

	phase string // the phase running, for what a loss of the peer says

	// The peer: nil, and no process, when none was asked for, or once it
	// is skipped or lost.
	peer         *peer
	peerProc     *fleet.Process
	peerURL      string
	peerMeasured bool        // whether it has had a turn
	peerStatus   report.Peer // what became of it, for the report
}

// Run runs the benchmark as o says, writing progress to progress, and
// returns the finished report. It stops every process it started before
// it returns.
func Run(ctx context.Context, o Options, progress io.Writer) (*report.Report, error) {
	return run(ctx, o, progress, installPortkey)
}

// run is Run with the peer that setup makes.
func run(ctx context.Context, o Options, progress io.Writer, setup peerSetup) (*report.Report, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	root, err := fleet.FindRoot(o.Repo)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "tollgate-bench-")
	if err != nil {
		return nil, err
	}
	b := &bench{o: o, log: progress, dir: dir}
	defer b.stopAll()
	rep, err := b.run(ctx, root, setup)
	if err != nil {
		// The logs stay for a look at what went wrong.
		return nil, fmt.Errorf("%w\n(the processes' logs are in %s)", err, dir)
	}
	_ = os.RemoveAll(dir)
	return rep, nil
}

func (b *bench) run(ctx context.Context, root string, setup peerSetup) (*report.Report, error) {
	rep := &report.Report{Header: report.Header{StartedAt: time.Now().UTC()}, Settings: b.settings()}
	if b.o.Pin && runtime.NumCPU() >= 2 {
		b.taskset = fleet.Taskset()
	}
	rep.Machine = fleet.DescribeMachine(b.taskset != "")

	b.logf("building the sidecar, the mock provider and the plain ReverseProxy\n")
	bins, err := fleet.Build(ctx, root, b.dir)
	if err != nil {
		return nil, err
	}
	b.bins = bins
	b.phase = "start"
	b.setUpPeer(ctx, setup)
	b.mock, err = fleet.Start(ctx, fleet.Spec{
		Name: "mock-provider", Path: bins.Mock, Args: []string{"--listen", "127.0.0.1:0", "--history", "0"},
		CPU: cpuLoad, Taskset: b.taskset, LogDir: b.dir, PrintsURL: true,
	})
	if err != nil {
		return nil, err
	}
	rep.Settings.Policy = Policy(b.mock.URL)
	b.policyPath = filepath.Join(b.dir, "policy.yaml")
	if err := os.WriteFile(b.policyPath, []byte(rep.Settings.Policy), 0o600); err != nil {
		return nil, err
	}
	if err := b.startProxies(ctx); err != nil {
		return nil, err
	}

	phases := []struct {
		name string
		run  func(context.Context, *report.Report) error
	}{{"latency", b.latency}, {"answers", b.answers}, {"throughput", b.throughput}, {"idle", b.idle}, {"streams", b.streams}}
	for _, phase := range phases {
		b.phase = phase.name
		if err := phase.run(ctx, rep); err != nil {
			return nil, err
		}
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("benchmark interrupted: %w", err)
		}
	}
	rep.Peer = b.peerStatus
	rep.Finish()
	return rep, nil
}

func (b *bench) settings() report.Settings {
	lats := make([]float64, len(b.o.UpstreamLatencies))
	for i, d := range b.o.UpstreamLatencies {
		lats[i] = millis(d)
	}
	return report.Settings{
		Quick: b.o.Quick, Warmup: b.o.Warmup.Seconds(), Duration: b.o.Duration.Seconds(), Rounds: b.o.Rounds,
		Rates: b.o.Rates, AnswerSizes: b.o.AnswerSizes, AnswerRate: b.o.AnswerRate, Concurrency: b.o.Concurrency, UpstreamLatencies: lats,
		Streams: b.o.Streams, StreamRounds: b.o.StreamRounds, StreamChunks: b.o.StreamChunks, ChunkDelay: millis(b.o.ChunkDelay),
		Ramp: b.o.Ramp.Seconds(), StallGap: millis(b.o.StallGap),
	}
}

// latency runs the open-loop rates against each target.
func (b *bench) latency(ctx context.Context, rep *report.Report) error {
	if err := b.setMockDefault(ctx, mockprovider.Step{}); err != nil {
		return err
	}
	for _, rate := range b.o.Rates {
		results, cpu, err := b.openLoop(ctx, rate)
		if err != nil {
			return err
		}
		run := report.LatencyRun{Rate: rate, Results: results, CPU: cpu}
		for _, t := range named(run.Results) {
			b.logf("latency     %5d req/s  %-12s p50 %8.3f ms  p99 %8.3f ms  errors %d\n", rate, t.name, t.v.Latency.P50, t.v.Latency.P99, t.v.Errors)
		}
		b.logf("latency     %5d req/s  CPU per request: %s\n", rate, proxiesLine(run.CPU, "%.0f µs"))
		rep.Latency = append(rep.Latency, run)
	}
	return nil
}

// answers runs the open loop at AnswerRate once per answer size: what
// moving an answer's bytes costs each proxy.
func (b *bench) answers(ctx context.Context, rep *report.Report) error {
	for _, size := range b.o.AnswerSizes {
		if err := b.setMockDefault(ctx, mockprovider.Step{ContentBytes: size}); err != nil {
			return err
		}
		results, cpu, err := b.openLoop(ctx, b.o.AnswerRate)
		if err != nil {
			return err
		}
		run := report.AnswerRun{Bytes: size, Rate: b.o.AnswerRate, Results: results, CPU: cpu}
		for _, t := range named(run.Results) {
			b.logf("answers  %8s  %-12s p50 %8.3f ms  p99 %8.3f ms  errors %d\n", report.Size(size), t.name, t.v.Latency.P50, t.v.Latency.P99, t.v.Errors)
		}
		b.logf("answers  %8s  CPU per request: %s\n", report.Size(size), proxiesLine(run.CPU, "%.0f µs"))
		rep.Answers = append(rep.Answers, run)
	}
	return b.setMockDefault(ctx, mockprovider.Step{})
}

// openLoop sends chat completions at rate to each target in turns, as
// the mock answers now, and returns the results and each proxy's CPU time
// per request in microseconds.
func (b *bench) openLoop(ctx context.Context, rate int) (report.Trio[load.Result], report.Proxies[float64], error) {
	ol := load.OpenLoop{Rate: float64(rate), Warmup: b.o.Warmup, Duration: b.o.Duration / time.Duration(b.o.Rounds), Timeout: b.o.Timeout}
	samples, cpu, err := inTurns(b, chatBody, 1024, b.o.Rounds, func(round int, client *http.Client, t target) load.Samples {
		o := ol
		if round > 0 {
			o.Warmup = 0 // the connections are warm already
		}
		return o.Sample(ctx, client, t.req)
	}, (*load.Samples).Merge)
	if err != nil {
		return report.Trio[load.Result]{}, report.Proxies[float64]{}, err
	}
	res := results(samples)
	sent := func(r load.Result) float64 { return float64(r.Sent) + b.o.Warmup.Seconds()*float64(rate) }
	return res, perProxy(cpu, time.Microsecond, res, sent), nil
}

// throughput runs the closed-loop workers at each upstream latency.
func (b *bench) throughput(ctx context.Context, rep *report.Report) error {
	for _, lat := range b.o.UpstreamLatencies {
		if err := b.setMockDefault(ctx, mockprovider.Step{FirstByteDelay: lat}); err != nil {
			return err
		}
		cl := load.ClosedLoop{Concurrency: b.o.Concurrency, Warmup: b.o.Warmup, Duration: b.o.Duration / time.Duration(b.o.Rounds), Timeout: b.o.Timeout}
		samples, cpu, err := inTurns(b, chatBody, b.o.Concurrency, b.o.Rounds, func(round int, client *http.Client, t target) load.Samples {
			c := cl
			if round > 0 {
				c.Warmup = 0
			}
			return c.Sample(ctx, client, t.req)
		}, (*load.Samples).Merge)
		if err != nil {
			return err
		}
		all := func(s load.Samples) float64 { return float64(s.All()) }
		run := report.ThroughputRun{UpstreamLatency: millis(lat), Concurrency: b.o.Concurrency, Results: results(samples),
			CPU: perProxy(cpu, time.Microsecond, samples, all)}
		for _, t := range named(run.Results) {
			b.logf("throughput  %5s upstream, %d concurrent  %-12s %8.0f req/s  errors %d\n", lat, b.o.Concurrency, t.name, t.v.Rate, t.v.Errors)
		}
		b.logf("throughput  %5s upstream  CPU per request: %s\n", lat, proxiesLine(run.CPU, "%.0f µs"))
		rep.Throughput = append(rep.Throughput, run)
	}
	return b.setMockDefault(ctx, mockprovider.Step{})
}

// idle restarts the proxies, so that the memory the earlier phases left
// behind is gone, sends each one request, lets them rest, and reads their
// memory.
func (b *bench) idle(ctx context.Context, rep *report.Report) error {
	b.stopProxies()
	if err := b.startProxies(ctx); err != nil {
		return err
	}
	client := load.NewClient(4)
	defer client.CloseIdleConnections()
	proxies := b.targetList(chatBody)[1:]
	for _, t := range proxies {
		if err := b.send(ctx, client, t.req); err != nil {
			if !t.peer {
				return fmt.Errorf("the first request: %w", err)
			}
			// Its memory says what it holds all the same.
			b.logf("idle        %s: the first request failed: %v\n", t.name, err)
		}
	}
	time.Sleep(b.o.IdleSettle)
	mem := make([]fleet.Memory, len(proxies))
	for i, t := range proxies {
		var err error
		if mem[i], err = t.proc.Memory(); err != nil {
			if !t.peer {
				return err
			}
			b.losePeer(err)
		}
	}
	rep.Idle = report.Proxies[fleet.Memory]{ReverseProxy: mem[0], Sidecar: mem[1]}
	if len(proxies) > 2 && b.peer != nil {
		rep.Idle.Portkey = &mem[2]
	}
	b.logf("idle        VmRSS  %s\n", proxiesLine(mibs(rep.Idle, rss), "%.1f MiB"))
	return nil
}

// streams opens the concurrent SSE streams against each target, sampling
// the proxy's memory meanwhile.
func (b *bench) streams(ctx context.Context, rep *report.Report) error {
	if err := b.setMockDefault(ctx, mockprovider.Step{Chunks: b.o.StreamChunks, ChunkDelay: b.o.ChunkDelay}); err != nil {
		return err
	}
	st := load.Streams{Count: b.o.Streams, Ramp: b.o.Ramp, StallGap: b.o.StallGap, Timeout: b.o.Timeout}
	var memErr error
	mem := map[string]fleet.Memory{}
	res, cpu, err := inTurns(b, streamBody, b.o.Streams+16, b.o.StreamRounds, func(_ int, client *http.Client, t target) load.StreamResult {
		sampler := fleet.StartSampler(t.proc)
		res := st.Run(ctx, client, t.req)
		m, err := sampler.Stop()
		switch {
		case err != nil && t.peer:
			b.losePeer(err)
		case err != nil && memErr == nil:
			memErr = err
		}
		mem[t.name] = fleet.Memory{RSS: max(m.RSS, mem[t.name].RSS), HWM: max(m.HWM, mem[t.name].HWM)}
		return res
	}, (*load.StreamResult).Merge)
	if err != nil {
		return err
	}
	if memErr != nil {
		return memErr
	}
	rep.Streams = report.StreamsRun{Results: res, Memory: report.Proxies[fleet.Memory]{ReverseProxy: mem[nameRP], Sidecar: mem[nameSidecar]}}
	if m, ok := mem[namePortkey]; ok && b.peer != nil {
		rep.Streams.Memory.Portkey = &m
	}
	rep.Streams.CPU = perProxy(cpu, time.Millisecond, res, func(r load.StreamResult) float64 { return float64(r.Streams) })
	for _, t := range named(res) {
		b.logf("streams     %d  %-12s TTFT p50 %8.3f ms  p99 %8.3f ms  stalls %d  failed %d  peak open %d\n",
			b.o.Streams, t.name, t.v.TTFT.P50, t.v.TTFT.P99, t.v.Stalls, t.v.Failed, t.v.PeakOpen)
	}
	b.logf("streams     %d  VmHWM %s; CPU per stream %s\n", b.o.Streams,
		proxiesLine(mibs(rep.Streams.Memory, hwm), "%.1f MiB"), proxiesLine(rep.Streams.CPU, "%.2f ms"))
	return nil
}

// targets returns the request with body for each way of reaching the
// mock: the same request, with the headers the peer routes by for the
// peer while it runs.
func (b *bench) targets(body string) report.Trio[load.Request] {
	t := report.Trio[load.Request]{
		Direct:       load.Request{URL: b.mock.URL + chatPath, Body: []byte(body)},
		ReverseProxy: load.Request{URL: b.rp.URL + providerPath + chatPath, Body: []byte(body)},
		Sidecar:      load.Request{URL: b.sidecarURL + providerPath + chatPath, Body: []byte(body)},
	}
	if b.peer != nil && b.peerProc != nil {
		t.Portkey = &load.Request{URL: b.peerURL + b.peer.path, Body: []byte(body), Header: b.peer.header(b.mock.URL)}
	}
	return t
}

// startProxies starts the ReverseProxy, the sidecar and the peer, if any,
// and waits until they serve. A peer that does not is lost.
func (b *bench) startProxies(ctx context.Context) error {
	var err error
	b.rp, err = fleet.Start(ctx, fleet.Spec{
		Name: nameRP, Path: b.bins.PlainProxy,
		Args: []string{"--listen", "127.0.0.1:0", "--upstream", b.mock.URL, "--strip-prefix", providerPath},
		CPU:  cpuProxy, Taskset: b.taskset, LogDir: b.dir, PrintsURL: true,
	})
	if err != nil {
		return err
	}
	listen, err := fleet.FreeAddr()
	if err != nil {
		return err
	}
	admin, err := fleet.FreeAddr()
	if err != nil {
		return err
	}
	b.sidecar, err = fleet.Start(ctx, fleet.Spec{
		Name: nameSidecar, Path: b.bins.Sidecar,
		Args: []string{"--policy", b.policyPath, "--listen", listen, "--admin", admin, "--shutdown-grace", "2s"},
		CPU:  cpuProxy, Taskset: b.taskset, LogDir: b.dir,
	})
	if err != nil {
		return err
	}
	b.sidecarURL = "http://" + listen
	if err := b.sidecar.WaitReady(ctx, "http://"+admin+"/readyz", 30*time.Second); err != nil {
		return err
	}
	if b.peer != nil {
		if err := b.startPeer(ctx); err != nil {
			b.losePeer(err)
		}
	}
	return nil
}

func (b *bench) stopProxies() {
	for _, p := range []**fleet.Process{&b.peerProc, &b.sidecar, &b.rp} {
		if *p != nil {
			(*p).Stop()
			*p = nil
		}
	}
}

func (b *bench) stopAll() {
	b.stopProxies()
	if b.mock != nil {
		b.mock.Stop()
		b.mock = nil
	}
}

// setMockDefault sets how the mock answers every request.
func (b *bench) setMockDefault(ctx context.Context, step mockprovider.Step) error {
	body, err := json.Marshal(step)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, b.mock.URL+"/_mock/default", bytes.NewReader(body))
	if err != nil {
		return err
	}
	client := load.NewClient(1)
	defer client.CloseIdleConnections()
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("script the mock provider: %w", err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusNoContent {
		return fmt.Errorf("script the mock provider with %s: status %d: %s", body, resp.StatusCode, msg)
	}
	return nil
}

// send sends r once, within the run's bound on a request.
func (b *bench) send(ctx context.Context, client *http.Client, r load.Request) error {
	ctx, cancel := context.WithTimeout(ctx, b.o.Timeout)
	defer cancel()
	return load.Send(ctx, client, r)
}

func (b *bench) logf(format string, args ...any) {
	fmt.Fprintf(b.log, format, args...)
}

func millis(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"k8s.io/client-go/kubernetes"

	"tollgate.dev/tollgate/internal/testkit/mockprovider"
	"tollgate.dev/tollgate/internal/testkit/proc"
	"tollgate.dev/tollgate/internal/testkit/testenv"
	"tollgate.dev/tollgate/pkg/pricing"
)

// Options are the demo's settings. The zero value builds the binaries and
// keeps the processes' logs to itself, showing their last lines when a step
// fails.
type Options struct {
	// BinDir holds prebuilt "operator" and "sidecar" binaries (`go build -o
	// DIR/ ./cmd/operator ./cmd/sidecar`). Empty builds them into the
	// demo's temporary directory.
	BinDir string
	// Race builds the binaries with the race detector, and fails the demo
	// when one of them reports a race. Ignored with BinDir.
	Race bool
	// Logs, when set, receives every line the operator and the sidecar log,
	// prefixed with the process's name.
	Logs io.Writer
	// Keep leaves everything running once every step behaved, prints how
	// to use it, and cleans up only when ctx ends (Ctrl-C): `make demo
	// KEEP=1`. Ending a kept demo so is not a failure.
	Keep bool
}

// Step timeouts: building the binaries on a cold cache takes minutes;
// everything else takes seconds when it works.
const (
	buildStepTimeout = 10 * time.Minute
	stepTimeout      = 90 * time.Second
	cleanupTimeout   = 60 * time.Second
)

// step is one row of the demo.
type step struct {
	title    string
	expected string
	run      func(ctx context.Context) (observed string, err error)
	// essential steps are what the later ones stand on: when one fails,
	// the others are skipped.
	essential bool
	timeout   time.Duration
}

// demo is the state of one Run: what was started, for the steps after it
// and for the cleanup.
type demo struct {
	opts Options
	say  *narrator
	root string
	// work is the temporary directory holding the binaries, the pods'
	// files and the ledger's certificate; removed by cleanup.
	work string
	sink *proc.Sink

	// built delivers the binaries, built while the control plane starts;
	// buildDone is closed once the build has ended.
	built     chan buildResult
	buildDone chan struct{}
	bins      binaries

	env       *testenv.WebhookEnv
	clientset kubernetes.Interface
	mock      *mockprovider.Server
	operator  *proc.Process
	// ledgerAddr is where the operator serves the budget ledger.
	ledgerAddr string

	manifests manifests
	// pods are the demo's pods (demoPods), as they are created.
	pods []*runningPod
	// prices price the apps' answers as the sidecars do: the policy's
	// spec.pricing over the built-in list.
	prices *pricing.Table
	// bundleHash is the rendered bundle's hash annotation the sidecars
	// were started with.
	bundleHash string
	// apiServer is the control plane's host:port, checked closed at the end.
	apiServer string
}

// buildResult is the outcome of building the binaries.
type buildResult struct {
	bins binaries
	err  error
	took time.Duration
}

// Run plays the demo, narrating it on out, and returns an error naming the
// steps that did not behave. Everything it starts is stopped before it
// returns, also when ctx is cancelled (Ctrl-C).
func Run(ctx context.Context, out io.Writer, opts Options) error {
	root, err := repoRoot()
	if err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "tollgate-demo-")
	if err != nil {
		return fmt.Errorf("create the demo's temporary directory: %w", err)
	}
	d := &demo{opts: opts, say: &narrator{out: out}, root: root, work: work,
		built: make(chan buildResult, 1), buildDone: make(chan struct{})}
	if opts.Logs != nil {
		d.sink = proc.NewSink(opts.Logs)
	}
	fmt.Fprintln(out, "Tollgate demo: a local control plane, the operator with its budget ledger, the mock provider, and two pods")
	fmt.Fprintln(out, "of one policy with their injected sidecars, driven by their apps' openai-go clients. Each step says what")
	fmt.Fprintln(out, "should happen, then checks that it did.")

	buildCtx, stopBuild := context.WithCancel(ctx)
	defer stopBuild()
	go func() {
		defer close(d.buildDone)
		start := time.Now()
		bins, err := findBinaries(buildCtx, opts.BinDir, work, root, opts.Race)
		d.built <- buildResult{bins: bins, err: err, took: time.Since(start)}
	}()

	results := d.play(ctx, d.steps())
	stopBuild()
	interrupted := ctx.Err()
	if opts.Keep && interrupted == nil && passed(results) {
		d.keep(ctx)
	}
	cleanup := d.cleanupStep()
	results = append(results, d.runStep(context.WithoutCancel(ctx), len(results)+1, cleanup))

	if err := writeTable(out, results); err != nil {
		return err
	}
	if err := outcome(results, interrupted); err != nil {
		return err
	}
	fmt.Fprintln(out, "\nEvery step behaved. Read config/samples/demo/ for the manifests, and run the $ commands above to do it by hand.")
	return nil
}

// passed reports whether every step behaved.
func passed(results []result) bool {
	for _, r := range results {
		if r.outcome != markPassed {
			return false
		}
	}
	return true
}

// keep says how to use what the demo started, and waits for ctx to end.
func (d *demo) keep(ctx context.Context) {
	fmt.Fprintln(d.say.out, "\n[kept running]")
	d.say.say("the control plane, the operator with its ledger, the mock provider and both pods' sidecars keep running; in another shell:")
	d.say.command("export KUBECONFIG=%s", d.env.Kubeconfig)
	d.say.command(`export PATH="$PWD/%s:$PATH"   # a kubectl of the server's version`, filepath.Dir(d.relative(d.env.Kubectl)))
	d.say.command("kubectl -n %s get llmpolicies,pods,configmaps", demoNamespace)
	for _, p := range d.pods {
		d.say.command(`curl -s http://%s/openai/v1/chat/completions -H 'content-type: application/json' -d '{"model":"%s","messages":[{"role":"user","content":"hi"}]}'   # %s's sidecar`,
			p.proxyAddr, primaryModel, p.name)
	}
	d.say.command("curl -s http://%s/metrics | grep ^tollgate_   # %s's sidecar's metrics", d.pods[0].adminAddr, d.pods[0].name)
	d.say.say("press Ctrl-C to stop everything and remove the demo's files")
	<-ctx.Done()
}

// outcome is Run's error: nil when every step passed, else which steps
// failed (the ones skipped after them are implied) or where it was
// interrupted, and whether the cleanup failed too.
func outcome(results []result, interrupted error) error {
	var failed []error
	for _, r := range results {
		if r.outcome == markFailed && interrupted == nil {
			failed = append(failed, fmt.Errorf("step %d (%s): %s", r.number, r.title, oneLine(r.observed, 300)))
		}
	}
	if interrupted != nil {
		for _, r := range results[:len(results)-1] {
			if r.outcome != markPassed {
				failed = append(failed, fmt.Errorf("interrupted during step %d (%s): %w", r.number, r.title, interrupted))
				break
			}
		}
		if last := results[len(results)-1]; last.outcome != markPassed {
			failed = append(failed, fmt.Errorf("step %d (%s): %s", last.number, last.title, oneLine(last.observed, 300)))
		}
	}
	if len(failed) == 0 && interrupted != nil {
		failed = append(failed, fmt.Errorf("interrupted: %w", interrupted))
	}
	if len(failed) > 0 {
		return fmt.Errorf("the demo did not behave: %w", errors.Join(failed...))
	}
	return nil
}

// steps are the demo's steps before the cleanup, in order.
func (d *demo) steps() []step {
	return []step{
		{title: "control plane + mock provider up", expected: "apiserver, etcd, CRD, webhook config; mock up",
			run: d.startControlPlane, essential: true},
		{title: "operator running & ready", expected: "ready; the API server calls its webhook",
			run: d.startOperator, essential: true, timeout: buildStepTimeout},
		{title: "namespace + LLMPolicy applied", expected: "Ready=True; ConfigMap tollgate-config rendered",
			run: d.applyPolicy, essential: true},
		{title: "pods created → injected", expected: "2 pods: native sidecar, OPENAI_BASE_URL, ledger token",
			run: d.createPods, essential: true},
		{title: "sidecars started from the bundle", expected: "each on its ConfigMap, labels, token files; ready",
			run: d.startSidecars, essential: true},
		{title: "a normal chat completion", expected: "HTTP 200 via the sidecar, 1 attempt",
			run: d.normalCompletion},
		{title: "two 503s, then success", expected: "retried; HTTP 200, x-tollgate-attempts: 3",
			run: d.retries},
		{title: "503 burst → breaker → fallback", expected: "breaker opens; gpt-4o answers; breaker closes",
			run: d.breakerAndFallback},
		{title: "one budget, two pods", expected: "both pods' spend in one status; then 429 for either",
			run: d.sharedBudget},
		{title: "policy edit hot-reloaded", expected: "re-rendered; both sidecars reload via the ledger",
			run: d.hotReload},
	}
}

// play runs steps in order until an essential one fails or ctx ends; the
// steps not run are reported as skipped.
func (d *demo) play(ctx context.Context, steps []step) []result {
	var results []result
	blocked := ""
	for i, s := range steps {
		n := i + 1
		if blocked == "" && ctx.Err() != nil {
			blocked = "interrupted"
		}
		if blocked != "" {
			results = append(results, result{number: n, title: s.title, expected: s.expected, observed: "skipped: " + blocked, outcome: markSkipped})
			continue
		}
		r := d.runStep(ctx, n, s)
		results = append(results, r)
		if r.outcome == markFailed && s.essential {
			blocked = fmt.Sprintf("step %d failed", n)
		}
	}
	return results
}

// runStep runs one step within its timeout and narrates its outcome; when
// it fails, the last lines of the running processes' logs follow.
func (d *demo) runStep(ctx context.Context, n int, s step) result {
	d.say.heading(n, s.title, s.expected)
	timeout := s.timeout
	if timeout == 0 {
		timeout = stepTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	start := time.Now()
	observed, err := s.run(ctx)
	r := result{number: n, title: s.title, expected: s.expected, observed: observed, outcome: markPassed, took: time.Since(start)}
	if err != nil {
		r.outcome, r.observed = markFailed, strings.TrimSpace(err.Error())
	}
	d.say.outcome(r)
	if err != nil {
		for _, p := range d.processes() {
			if !p.Stopped() {
				d.say.say("last lines of the %s's log:", p.Name())
				d.say.block(p.Tail(12))
			}
		}
	}
	return r
}

// processes are the programs the demo started, the operator first.
func (d *demo) processes() []*proc.Process {
	var out []*proc.Process
	if d.operator != nil {
		out = append(out, d.operator)
	}
	for _, p := range d.pods {
		if p.sidecar != nil {
			out = append(out, p.sidecar)
		}
	}
	return out
}

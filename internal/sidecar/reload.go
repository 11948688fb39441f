package sidecar

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/failsafe-go/failsafe-go/circuitbreaker"
	"go.uber.org/zap"

	"tollgate.dev/tollgate/internal/sidecar/dryrun"
	"tollgate.dev/tollgate/internal/sidecar/failures"
	"tollgate.dev/tollgate/internal/sidecar/ledger"
	"tollgate.dev/tollgate/internal/sidecar/loader"
	"tollgate.dev/tollgate/internal/sidecar/metrics"
	"tollgate.dev/tollgate/internal/sidecar/telemetry"
	"tollgate.dev/tollgate/pkg/budget"
	"tollgate.dev/tollgate/pkg/llmclient"
	"tollgate.dev/tollgate/pkg/policy"
	"tollgate.dev/tollgate/pkg/proxyconfig"
)

// state is one loaded configuration. It is replaced whole, never changed.
type state struct {
	// transport enforces policy; nil when no policy applies to this pod.
	transport *llmclient.Transport
	policy    *proxyconfig.Policy
	source    string
	reason    string // why no policy applies, when transport is nil
	loadedAt  time.Time
}

// reloader loads the policy files into a state, keeping the last good one
// when a new file is refused.
type reloader struct {
	opts    Options
	log     *zap.Logger
	metrics *metrics.Sidecar
	// telemetry exports over OTLP; nil when the OTEL_* variables ask for
	// nothing.
	telemetry *telemetry.Telemetry
	// tally counts what a policy in DryRun mode let through.
	tally  *dryrun.Tally
	onDone func(*llmclient.Report)
	// buffers is shared by the Transports of every reload: the memory it
	// bounds is the process's.
	buffers *llmclient.BufferBudget

	current atomic.Pointer[state]
	// ledger shares budgets with the pod's other sidecars; nil keeps them
	// local.
	ledger *ledger.Ledger
	// records keeps the failure records; nil keeps none.
	records *failures.Store

	mu       sync.Mutex // serialises reloads; guards lastHash and refusedHash
	lastHash [sha256.Size]byte
	// refusedHash is the fingerprint of the last refused inputs: they are
	// refused (logged, counted) once, not again on every file event.
	refusedHash [sha256.Size]byte
	// fromLedger is when the ledger last delivered the bundle. While it
	// does, it is newer than the mounted file, which the kubelet updates
	// late: file events do not take the sidecar back to an older bundle.
	fromLedger time.Time
}

// ledgerFresh is how long a bundle from the ledger outranks the file.
const ledgerFresh = time.Minute

// load reads the files and, when they changed, compiles and swaps in the
// new state. In-flight requests keep the Transport they started with.
func (r *reloader) load() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.fromLedger.IsZero() && time.Since(r.fromLedger) < ledgerFresh {
		return nil
	}

	data, err := os.ReadFile(r.opts.PolicyFile)
	if errors.Is(err, fs.ErrNotExist) && r.opts.AllowMissingPolicy {
		r.metrics.PolicyInForce() // nothing refused: no policy yet
		if cur := r.current.Load(); cur == nil || cur.transport != nil || cur.reason == "" {
			r.configure(nil)
			r.tally.Configure(nil)
			r.swap(&state{reason: fmt.Sprintf("the policy file %s does not exist yet: no LLMPolicy of this namespace has been rendered", r.opts.PolicyFile), loadedAt: time.Now()})
			r.log.Info("no policy file yet; refusing LLM requests until one appears", zap.String("file", r.opts.PolicyFile))
		}
		return nil
	}
	if err != nil {
		return r.refuse(fmt.Errorf("read policy file: %w", err))
	}
	return r.apply(data, r.opts.PolicyFile)
}

// loadBundle applies a bundle the ledger delivered.
func (r *reloader) loadBundle(data []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.apply(data, "the budget ledger") == nil {
		r.fromLedger = time.Now()
	}
}

// apply compiles the policy file content data (from source) for this pod.
// Called with r.mu held.
func (r *reloader) apply(data []byte, source string) error {
	var labels map[string]string
	var err error
	if r.opts.PodLabelsFile != "" {
		if labels, err = loader.ReadLabels(r.opts.PodLabelsFile); err != nil {
			return r.refuse(err)
		}
	}
	h := r.fingerprint(content(data), labels)
	if r.current.Load() != nil {
		switch h {
		case r.lastHash:
			// The policy in force, unchanged; or restored after a refused
			// edit, which no longer stands.
			r.refusedHash = [sha256.Size]byte{}
			r.metrics.PolicyInForce()
			return nil
		case r.refusedHash:
			return nil // refused once already
		}
	}

	res, err := loader.Parse(data, labels)
	if err != nil {
		r.refusedHash = h
		return r.refuse(fmt.Errorf("%s: %w", source, err))
	}
	next := &state{policy: res.Policy, source: res.Source, loadedAt: time.Now()}
	if res.Policy == nil {
		next.reason = fmt.Sprintf("no LLMPolicy in %s selects this pod (labels %v)", res.Source, labels)
	} else {
		var prev *llmclient.Transport
		if cur := r.current.Load(); cur != nil {
			prev = cur.transport
		}
		var gate budget.Gate
		switch {
		case r.ledger == nil:
		case res.Policy.Budget != nil:
			gate = r.ledger.Gate(res.Policy.Name, *res.Policy.Budget)
		case res.Policy.DryRun():
			// No budget to share, but dry-run counts to report.
			r.ledger.FollowDryRun(res.Policy.Name)
		}
		next.transport, err = llmclient.New(*res.Policy, llmclient.Options{
			Budget:          gate,
			CredentialsDir:  r.opts.CredentialsDir,
			MaxRequestBytes: r.opts.MaxRequestBytes,
			Buffers:         r.buffers,
			OnDone:          r.onDone,
			Trace:           r.records != nil,
			Previous:        prev,
			// The model an answer names is an attribute of telemetry only.
			ReadResponseModel: r.telemetry != nil,
			Policy: policy.Options{
				OnBreakerStateChange: func(t policy.Target, from, to circuitbreaker.State) {
					r.metrics.BreakerState(t, to)
					r.log.Warn("circuit breaker changed state", zap.String("provider", t.Provider), zap.String("model", t.Model),
						zap.String("from", from.String()), zap.String("to", to.String()))
				},
				OnRetry: func(t policy.Target, attempt int, f policy.Failure, delay time.Duration) {
					r.metrics.Retry(t, f)
				},
			},
		})
		if err != nil {
			r.refusedHash = h
			return r.refuse(err)
		}
	}
	r.lastHash = h
	// The labels of the new policy are in place before its first request.
	r.configure(next.transport)
	r.tally.Configure(next.policy)
	r.swap(next)
	r.metrics.Reload(nil)
	fields := []zap.Field{zap.String("file", source), zap.String("source", res.Source)}
	if res.Policy != nil {
		fields = append(fields, zap.String("policy", res.Policy.Ref()), zap.Int64("generation", res.Policy.Generation))
		if res.Policy.Budget != nil {
			mode := "ledger"
			if r.ledger == nil {
				mode = "local: this sidecar's own traffic only (no --ledger-url)"
			}
			fields = append(fields, zap.String("budget", mode))
		}
		r.log.Info("policy loaded", fields...)
	} else {
		r.log.Warn("no policy applies to this pod; refusing LLM requests", append(fields, zap.String("reason", next.reason))...)
	}
	return nil
}

func (r *reloader) swap(s *state) { r.current.Store(s) }

// configure tells the metrics and the telemetry the policy t enforces
// (nil: none) before its first request.
func (r *reloader) configure(t *llmclient.Transport) {
	r.metrics.Configure(t)
	if r.telemetry != nil {
		r.telemetry.Configure(t)
	}
}

// refuse logs and counts a file that could not be used; the last good
// state stays in force.
func (r *reloader) refuse(err error) error {
	r.metrics.Reload(err)
	if r.current.Load() != nil {
		r.log.Error("policy file refused; keeping the last good policy", zap.Error(err))
	}
	return err
}

// content is what of a policy file's bytes a reload depends on: a JSON
// bundle compacted, since the ledger delivers the bundle the mounted file
// holds indented, compactly re-encoded; other files (YAML manifests) as
// they are.
func content(data []byte) []byte {
	var b bytes.Buffer
	if json.Compact(&b, data) != nil {
		return data
	}
	return b.Bytes()
}

// fingerprint identifies the inputs of a state: the policy file, the pod's
// labels and the credential files (hashed, never logged), so that a reload
// happens exactly when one of them changed.
func (r *reloader) fingerprint(data []byte, labels map[string]string) [sha256.Size]byte {
	h := sha256.New()
	h.Write(data)
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(h, "\x00%s=%s", k, labels[k])
	}
	if r.opts.CredentialsDir != "" {
		entries, _ := os.ReadDir(r.opts.CredentialsDir)
		for _, e := range entries {
			if b, err := os.ReadFile(filepath.Join(r.opts.CredentialsDir, e.Name())); err == nil {
				fmt.Fprintf(h, "\x00%s\x00", e.Name())
				h.Write(b)
			}
		}
	}
	var sum [sha256.Size]byte
	copy(sum[:], h.Sum(nil))
	return sum
}

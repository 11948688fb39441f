package sidecar

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"tollgate.dev/tollgate/internal/sidecar/dryrun"
	"tollgate.dev/tollgate/internal/sidecar/failures"
	"tollgate.dev/tollgate/internal/sidecar/ledger"
	"tollgate.dev/tollgate/internal/sidecar/metrics"
	"tollgate.dev/tollgate/internal/sidecar/proxy"
	"tollgate.dev/tollgate/internal/sidecar/telemetry"
	"tollgate.dev/tollgate/internal/sidecar/watch"
	"tollgate.dev/tollgate/pkg/llmclient"
	"tollgate.dev/tollgate/pkg/proxyconfig"
)

// Main runs the sidecar with the command line args until SIGINT or SIGTERM
// and returns the process exit code.
func Main(args []string) int {
	opts, err := Parse(args, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "tollgate-sidecar: %v\n", err)
		return 2
	}
	opts.memoryLimit = setMemoryLimit()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := Run(ctx, opts, os.Stderr, nil); err != nil {
		fmt.Fprintf(os.Stderr, "tollgate-sidecar: %v\n", err)
		return 1
	}
	return 0
}

// Run runs the sidecar until ctx ends, logging JSON lines to logOut. When
// ready is not nil, Run sends it the proxy and admin addresses once both
// listen (tests listen on port 0).
func Run(ctx context.Context, opts Options, logOut io.Writer, ready chan<- [2]string) error {
	logs := newLoggers(logOut, opts.LogLevel, opts.LogFlushInterval)
	defer logs.stop() // last: what the shutdown logs is written too
	log := logs.log

	m := metrics.New()
	tally := dryrun.New(log.Named("dryrun"), nil)
	r := &reloader{opts: opts, log: log, metrics: m, tally: tally}
	if opts.MaxBufferedBytes > 0 {
		r.buffers = llmclient.NewBufferBudget(opts.MaxBufferedBytes)
	}
	if opts.Telemetry.Enabled() {
		tel, err := telemetry.New(ctx, opts.Telemetry, telemetry.Options{ModelLabel: m.ModelLabel, Log: log.Named("otel")})
		if err != nil {
			return fmt.Errorf("cannot start: %w", err)
		}
		r.telemetry = tel
		defer func() {
			// After the proxy's shutdown: the last requests' spans too.
			flushCtx, cancel := context.WithTimeout(context.Background(), telemetryFlush)
			defer cancel()
			if err := tel.Shutdown(flushCtx); err != nil {
				log.Warn("OpenTelemetry data still buffered at exit was not all sent", zap.Error(err))
			}
		}()
		log.Info("exporting OpenTelemetry over OTLP/HTTP", zap.Bool("traces", opts.Telemetry.Traces.Enabled), zap.Bool("metrics", opts.Telemetry.Metrics.Enabled),
			zap.String("tracesEndpoint", opts.Telemetry.Traces.Endpoint()), zap.String("metricsEndpoint", opts.Telemetry.Metrics.Endpoint()))
	}
	var records *failures.Store
	if fr := opts.FailureRecords; fr.Dir != "" {
		records = failures.Open(failures.Options{Dir: fr.Dir, MaxBytes: fr.MaxBytes, MaxCount: fr.MaxCount,
			Log: log.Named("failures"), Observe: m.FailureRecord, DiskError: m.FailureRecordDiskError})
		r.records = records
		// Stops the writer on an early return too; a stalled disk holds it
		// a second at most.
		defer func() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			records.Close(ctx)
		}()
	}
	unpriced := &warned{} // unpriced models already warned about
	r.onDone = func(rep *llmclient.Report) {
		if r.telemetry != nil {
			r.telemetry.Observe(rep)
		}
		m.Request(rep)
		tally.Record(rep)
		logRequest(logs.requests, rep)
		logNotices(log, rep, unpriced)
		if records != nil {
			records.Add(rep)
		}
	}
	ledgerCtx, stopLedger := context.WithCancel(context.Background())
	defer stopLedger()
	ledgerDone := make(chan struct{})
	if len(opts.Ledger.URLs) > 0 {
		led, err := ledger.New(ledger.Options{
			URLs: opts.Ledger.URLs, CAFile: opts.Ledger.CAFile, TokenFile: opts.Ledger.TokenFile,
			StateDir: opts.Ledger.StateDir, PodUID: opts.Ledger.PodUID, Interval: opts.Ledger.Interval,
			Unreachable: proxyconfig.LedgerUnreachableAction(opts.Ledger.Unreachable), Log: log.Named("ledger"),
			Observe: m.LedgerSync, OnUnverified: m.Unverified, DryRun: tally.Report,
		})
		if err != nil {
			return fmt.Errorf("cannot start: budget ledger: %w", err)
		}
		r.ledger = led
		go func() { defer close(ledgerDone); _ = led.Run(ledgerCtx) }()
		go led.RunBundles(ledgerCtx, r.loadBundle)
	} else {
		close(ledgerDone)
	}
	if err := r.load(); err != nil {
		return fmt.Errorf("cannot start: %w", err)
	}
	if !loopback(opts.Listen) {
		log.Warn("the proxy listens beyond loopback: anything that reaches it can spend this pod's LLM budget", zap.String("listen", opts.Listen))
	}

	proxyLn, err := net.Listen("tcp", opts.Listen)
	if err != nil {
		return fmt.Errorf("listen on --listen %s: %w", opts.Listen, err)
	}
	adminLn, err := net.Listen("tcp", opts.Admin)
	if err != nil {
		_ = proxyLn.Close()
		return fmt.Errorf("listen on --admin %s: %w", opts.Admin, err)
	}
	current := func() *llmclient.Transport { return r.current.Load().transport }
	var handler http.Handler = proxy.New(current, r.noPolicy)
	if r.telemetry != nil {
		handler = r.telemetry.Handler(handler)
	}
	proxySrv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          zap.NewStdLog(log.Named("http")),
	}
	adminSrv := &http.Server{Handler: r.adminMux(m), ReadHeaderTimeout: 10 * time.Second}

	errc := make(chan error, 3)
	go func() { errc <- serve(proxySrv, proxyLn, "proxy") }()
	go func() { errc <- serve(adminSrv, adminLn, "admin") }()
	watchCtx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	watched := []string{opts.PolicyFile, opts.PodLabelsFile}
	if opts.CredentialsDir != "" {
		watched = append(watched, filepath.Join(opts.CredentialsDir, "key")) // any file: watch.Files watches its directory
	}
	go func() {
		errc <- watch.Files(watchCtx, watched, opts.ReloadInterval, func() { _ = r.load() })
	}()
	// What the packages' initialisation and the first policy load
	// allocated and dropped (the JSON Schema library's compiled
	// metaschemas' scaffolding, the policy's parse) is returned to the
	// system now rather than kept for a heap that an idle sidecar never
	// grows back to: about 1 MiB less resident in every pod.
	debug.FreeOSMemory()
	log.Info("tollgate-sidecar started", zap.String("listen", proxyLn.Addr().String()), zap.String("admin", adminLn.Addr().String()),
		zap.String("policyFile", opts.PolicyFile), zap.Int64("softMemoryLimit", opts.memoryLimit))
	if ready != nil {
		ready <- [2]string{proxyLn.Addr().String(), adminLn.Addr().String()}
	}

	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-errc:
	}
	log.Info("shutting down; letting in-flight requests finish", zap.Duration("grace", opts.ShutdownGrace))
	stopWatch()
	shutdownCtx, cancel := context.WithTimeout(context.Background(), opts.ShutdownGrace)
	defer cancel()
	if err := proxySrv.Shutdown(shutdownCtx); err != nil {
		log.Warn("in-flight requests did not finish within the grace period", zap.Error(err))
	}
	// The requests are done: report what they spent, then stop.
	stopLedger()
	<-ledgerDone
	if records != nil {
		records.Close(shutdownCtx)
	}
	_ = adminSrv.Shutdown(shutdownCtx)
	return runErr
}

// telemetryFlush bounds how long the sidecar waits at exit for buffered
// telemetry to be sent.
const telemetryFlush = 5 * time.Second

func serve(srv *http.Server, ln net.Listener, name string) error {
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("%s server: %w", name, err)
	}
	return nil
}

// noPolicy answers LLM requests while no policy applies to this pod.
func (r *reloader) noPolicy(w http.ResponseWriter, req *http.Request) {
	reason := "no policy loaded"
	if s := r.current.Load(); s != nil && s.reason != "" {
		reason = s.reason
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set(llmclient.HeaderReason, llmclient.CodeNoPolicy)
	w.Header().Set(llmclient.HeaderAttempts, "0")
	w.WriteHeader(http.StatusServiceUnavailable)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{
		"message": "Tollgate has no LLMPolicy for this pod: " + reason + ". Create an LLMPolicy whose podSelector matches this pod's labels.",
		"type":    "server_error", "param": nil, "code": llmclient.CodeNoPolicy,
	}})
}

// adminMux serves /metrics, /healthz, /readyz, /config and /failures.
func (r *reloader) adminMux(m *metrics.Sidecar) *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("GET /failures", failures.Handler(r.records))
	mux.Handle("GET /metrics", promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if r.current.Load() == nil {
			http.Error(w, "no valid policy loaded yet", http.StatusServiceUnavailable)
			return
		}
		_, _ = io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("GET /config", func(w http.ResponseWriter, _ *http.Request) {
		s := r.current.Load()
		// The effective policy holds no secret: providers name their
		// credentials Secret, and the key itself only lives in memory.
		view := map[string]any{"policyFile": r.opts.PolicyFile}
		if s != nil {
			view["source"], view["loadedAt"], view["policy"] = s.source, s.loadedAt, s.policy
			if s.policy != nil && s.policy.Budget != nil {
				if r.ledger != nil {
					view["budget"] = r.ledger.View()
				} else {
					view["budget"] = localBudgetView(s)
				}
			}
			if dry := r.tally.View(); dry != nil {
				view["dryRun"] = dry
			}
			if s.reason != "" {
				view["noPolicyReason"] = s.reason
			}
		}
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		_ = enc.Encode(view)
	})
	return mux
}

// localBudgetView describes a budget this sidecar keeps on its own.
func localBudgetView(s *state) map[string]any {
	view := map[string]any{"mode": "local", "note": "this sidecar enforces the budget on its own traffic only; run it with --ledger-url to share it"}
	if s.transport == nil || s.transport.Budget() == nil {
		return view
	}
	st := s.transport.Budget().Status()
	view["periodStart"], view["periodEnd"] = st.PeriodStart.UTC().Format(time.RFC3339), st.ResetAt.UTC().Format(time.RFC3339)
	view["spent"], view["limit"], view["remaining"], view["state"] = st.Spent.String(), st.Limit.String(), st.Remaining.String(), string(st.State)
	return view
}

// newLogger returns a logger writing each JSON line at level to out at
// once.
func newLogger(out io.Writer, level zapcore.Level) *zap.Logger {
	core := zapcore.NewCore(logEncoder(), zapcore.AddSync(out), level)
	return zap.New(core).Named("sidecar")
}

// logRequest writes the one line each request gets. Bodies are never
// logged.
func logRequest(log *zap.Logger, r *llmclient.Report) {
	line := zap.Inline(requestLine{r})
	if errorType := r.ErrorType(); errorType != "" {
		log.Warn("request", line, zap.String("error_type", errorType))
		return
	}
	log.Info("request", line)
}

// requestLine is the fields of a request's line, which zap encodes
// straight from the report: no list of fields is built for them. A list
// of twenty-odd fields was kilobytes to fill and copy, and the stack it
// took grew most requests' goroutine stacks, once each, at the end of
// their answers.
type requestLine struct{ r *llmclient.Report }

func (l requestLine) MarshalLogObject(enc zapcore.ObjectEncoder) error {
	r := l.r
	enc.AddString("request_id", r.RequestID)
	enc.AddString("policy", r.Policy)
	enc.AddString("provider", r.Provider)
	enc.AddString("model", r.Model)
	enc.AddBool("stream", r.Stream)
	enc.AddInt("status", r.Status)
	enc.AddInt("attempts", r.Attempts)
	enc.AddString("breaker", r.BreakerState)
	enc.AddInt64("latency_ms", r.Latency.Milliseconds())
	enc.AddInt64("ttft_ms", r.TTFT.Milliseconds())
	// usage_known is false when the answer said nothing of its usage (or
	// there was no answer): its tokens below are then not counts.
	enc.AddBool("usage_known", r.Usage.Known)
	enc.AddInt64("input_tokens", r.Usage.InputTokens)
	enc.AddInt64("output_tokens", r.Usage.OutputTokens)
	enc.AddString("end", r.End)
	if r.Priced {
		enc.AddString("cost_usd", r.CostUSD.String())
	}
	if r.Estimated != "" {
		// The cost is a conservative estimate, not the answer's own usage.
		enc.AddString("usage", "estimated")
		enc.AddString("estimate_reason", r.Estimated)
	}
	if r.Cache != "" {
		enc.AddString("cache", r.Cache)
	}
	if s := r.Semantic; s != nil {
		addSemantic(enc, s)
	}
	if r.Validation != "" {
		// Reason codes and schema keywords are fixed sets; the checker's
		// message, which may quote the answer, goes to the app alone.
		enc.AddString("validation", r.Validation)
		if r.ValidationReason != "" {
			enc.AddString("validation_reason", r.ValidationReason)
		}
		if r.ValidationKeyword != "" {
			enc.AddString("validation_keyword", schemaKeyword(r.ValidationKeyword))
		}
	}
	if len(r.Discarded) > 0 {
		// Answers paid for and not given to the app (invalid outputs
		// retried or fallen back from): charged on top of cost_usd.
		var cost proxyconfig.USD
		for _, d := range r.Discarded {
			cost = cost.Add(d.CostUSD)
		}
		enc.AddInt("discarded_answers", len(r.Discarded))
		enc.AddString("discarded_cost_usd", cost.String())
	}
	if r.BudgetState != "" {
		enc.AddString("budget", r.BudgetState)
	}
	if r.DryRun != "" {
		// What Enforce would have done; the request went through.
		enc.AddString("dry_run", string(r.DryRun))
	}
	if r.Usage.CachedInputTokens > 0 {
		enc.AddInt64("cached_input_tokens", r.Usage.CachedInputTokens)
	}
	if r.Usage.CacheWriteTokens > 0 {
		enc.AddInt64("cache_write_tokens", r.Usage.CacheWriteTokens)
	}
	if r.Usage.CacheWrite1hTokens > 0 {
		enc.AddInt64("cache_write_1h_tokens", r.Usage.CacheWrite1hTokens)
	}
	switch {
	case r.Static:
		enc.AddInt("fallback_rung", r.Rung)
		enc.AddString("served_by", llmclient.FallbackStatic)
	case r.Stale:
		// The last good answer to the request, from memory: how old it is.
		enc.AddInt("fallback_rung", r.Rung)
		enc.AddString("served_by", llmclient.FallbackCache)
		enc.AddInt64("cache_age_s", int64(r.StaleAge/time.Second))
	case r.Rung > 0:
		enc.AddInt("fallback_rung", r.Rung)
		enc.AddString("served_by", r.Served.String())
	}
	return nil
}

// addSemantic adds what the semantic cache's lookup and the embedding call
// it took were: never the message or its vector.
func addSemantic(enc zapcore.ObjectEncoder, s *llmclient.SemanticReport) {
	enc.AddString("semantic", s.Result)
	if s.Similarity != 0 {
		// Four decimals, as the threshold is written.
		enc.AddFloat64("similarity", math.Round(s.Similarity*1e4)/1e4)
	}
	if s.Guard != "" {
		enc.AddString("semantic_guard", s.Guard)
	}
	if s.EmbeddingError != "" {
		enc.AddString("embedding_error", s.EmbeddingError)
	}
	if s.Attempts > 0 {
		enc.AddInt("embedding_attempts", s.Attempts)
		enc.AddInt64("embedding_ms", s.Latency.Milliseconds())
	}
	if s.Usage.Known {
		enc.AddInt64("embedding_tokens", s.Usage.InputTokens)
	}
	if s.Priced && (s.Attempts > 0 || s.CostUSD.IsPositive()) {
		enc.AddString("embedding_cost_usd", s.CostUSD.String())
	}
	if s.Estimated != "" {
		enc.AddString("embedding_estimate_reason", s.Estimated)
	}
}

// schemaKeyword is kw if it is a JSON Schema keyword, else "(other)": a
// custom keyword is the app's text.
func schemaKeyword(kw string) string {
	switch kw {
	case "type", "enum", "const", "required", "properties", "additionalProperties", "patternProperties",
		"propertyNames", "minProperties", "maxProperties", "dependentRequired", "dependentSchemas", "dependencies",
		"items", "prefixItems", "additionalItems", "contains", "minContains", "maxContains", "minItems", "maxItems",
		"uniqueItems", "unevaluatedItems", "unevaluatedProperties", "minLength", "maxLength", "pattern", "format",
		"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf", "allOf", "anyOf", "oneOf", "not",
		"if", "then", "else", "$ref", "false", "contentEncoding", "contentMediaType", "contentSchema":
		return kw
	}
	return "(other)"
}

// logNotices logs what deserves a line of its own, once: the first request
// of a budget period past the soft limit or the hard limit, and the first
// answer of a model without a price.
func logNotices(log *zap.Logger, r *llmclient.Report, unpriced *warned) {
	switch {
	case r.BudgetNotice == llmclient.NoticeSoftLimit:
		log.Warn("budget soft limit reached: answers now carry x-tollgate-budget: soft-limit", zap.String("policy", r.Policy), zap.String("budget", r.BudgetState))
	case r.BudgetNotice == llmclient.NoticeExhausted && r.DryRunMode:
		log.Warn("budget exhausted (dry run): Enforce would block or downgrade requests until the period ends; they are let through and their spend counted",
			zap.String("policy", r.Policy), zap.String("budget", r.BudgetState))
	case r.BudgetNotice == llmclient.NoticeExhausted:
		log.Warn("budget exhausted: requests are blocked or downgraded until the period ends", zap.String("policy", r.Policy), zap.String("budget", r.BudgetState))
	}
	if r.Usage.Known && !r.Priced {
		served := r.Served
		if served.Provider == "" {
			served.Provider, served.Model = r.Provider, r.Model
		}
		if served.Model == "" {
			served.Model = r.Model
		}
		switch unpriced.first(served.String()) {
		case firstTime:
			log.Warn("model has no price: its cost is unknown; add it to spec.pricing (under a budget such requests are refused)",
				zap.String("policy", r.Policy), zap.String("provider", served.Provider), zap.String("model", served.Model))
		case firstPastLimit:
			log.Warn("more models have no price; they are not named one by one (tollgate_unpriced_tokens_total counts their tokens)",
				zap.String("policy", r.Policy), zap.Int("named", maxWarned))
		}
	}
}

// maxWarned bounds the models warned about one by one: apps choose model
// names, and remembering (and logging) each would grow without end.
const maxWarned = 100

// warned remembers the keys already warned about, up to maxWarned.
type warned struct {
	mu   sync.Mutex // guards seen and full
	seen map[string]bool
	full bool
}

// Whether a key is to be warned about (warned.first).
const (
	seenBefore = iota
	firstTime
	firstPastLimit // the first key past maxWarned: say that others follow
)

func (w *warned) first(key string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	switch {
	case w.seen[key]:
		return seenBefore
	case len(w.seen) < maxWarned:
		if w.seen == nil {
			w.seen = map[string]bool{}
		}
		w.seen[key] = true
		return firstTime
	case !w.full:
		w.full = true
		return firstPastLimit
	}
	return seenBefore
}

package llmclient

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"tollgate.dev/tollgate/pkg/budget"
	"tollgate.dev/tollgate/pkg/cache"
	"tollgate.dev/tollgate/pkg/outputcheck"
	"tollgate.dev/tollgate/pkg/policy"
	"tollgate.dev/tollgate/pkg/pricing"
	"tollgate.dev/tollgate/pkg/provider"
	"tollgate.dev/tollgate/pkg/proxyconfig"
	"tollgate.dev/tollgate/pkg/semantic"
)

// Memory defaults. They keep the sidecar under the 128 MiB memory limit its
// Helm chart sets, with every buffer full at once: see the README's
// "Limits" and bench/cmd/tollgate-memcheck, which measures it.
const (
	// DefaultMaxRequestBytes caps the request bodies a Transport reads.
	DefaultMaxRequestBytes = 8 << 20
	// DefaultMaxBufferedBytes is the size of a Transport's BufferBudget
	// when Options.Buffers sets none.
	DefaultMaxBufferedBytes = 32 << 20
)

// Options configure a Transport. All fields are optional.
type Options struct {
	// CredentialsDir holds the API keys of providers that name a
	// credentials Secret, one file per provider named after it.
	CredentialsDir string
	// MaxRequestBytes caps request bodies; larger ones are refused with
	// tollgate_bad_request. Default DefaultMaxRequestBytes.
	MaxRequestBytes int64
	// Buffers bounds the memory held for request bodies and answer copies
	// across all requests; it must hold at least MaxRequestBytes. Default:
	// Previous's, or a BufferBudget of DefaultMaxBufferedBytes.
	Buffers *BufferBudget
	// OnDone is called once per request when it is over (for a stream,
	// when the stream ended or was closed), from the goroutine that ended
	// it. The report does not change afterwards: OnDone may hand it to
	// another goroutine.
	OnDone func(*Report)
	// Policy tunes the compiled policy's callbacks.
	Policy policy.Options
	// Previous is the Transport this one replaces, if any: breakers,
	// limiters and upstream connections are taken over when unchanged.
	Previous *Transport
	// Upstream sends requests to providers. Default: an http.Transport
	// with the policy's connect timeout.
	Upstream http.RoundTripper
	// Budget enforces the policy's budget instead of a local gate (for a
	// namespace-wide ledger). Default: a budget.Local, carried over from
	// Previous when it enforced the same policy.
	Budget budget.Gate
	// Now is the clock of the local budget gate. Default: time.Now.
	Now func() time.Time
	// Trace fills Report.Trace for the requests that failed or fell back,
	// for failure records.
	Trace bool
}

// Transport is an http.RoundTripper that enforces a policy on requests to
// LLM providers. A request's URL path starts with the name of a provider of
// the policy, followed by the provider's own path:
// /openai/v1/chat/completions goes to the openai provider's baseURL +
// /v1/chat/completions. The host is ignored.
//
// Answers come back as they arrive; Tollgate's own refusals (rate limited,
// circuit open, timeout, ...) come back as HTTP answers in the provider's
// error shape, so SDKs surface them like the provider's own errors.
type Transport struct {
	set       *policy.Set
	providers map[string]*route
	upstream  http.RoundTripper
	opts      Options
	policyRef string
	prices    *pricing.Table
	buffers   *BufferBudget
	budget    budget.Gate     // nil without a budget
	local     *budget.Local   // budget when it is local, carried over on reload
	cache     *cache.Store    // nil without a cache or a cachedResponse rung
	semantic  *semantic.Store // nil without a semantic cache
	// stale is the policy's cachedResponse rung, nil without one.
	stale *proxyconfig.CachedResponse
	// checker judges structured output; nil when the policy does not
	// validate. Carried over on reload, with its compiled schemas.
	checker *outputcheck.Checker
}

// route is one provider of the policy, served under /<name>, ready for use.
type route struct {
	cfg     proxyconfig.Provider
	adapter provider.Adapter
	base    *url.URL
	key     string // "" when the app's own credentials pass through
	models  map[string]bool
}

// New compiles p into a Transport.
func New(p proxyconfig.Policy, opts Options) (*Transport, error) {
	if opts.MaxRequestBytes <= 0 {
		opts.MaxRequestBytes = DefaultMaxRequestBytes
	}
	if opts.Buffers == nil && opts.Previous != nil {
		opts.Buffers = opts.Previous.buffers
	}
	if opts.Buffers == nil {
		opts.Buffers = NewBufferBudget(max(DefaultMaxBufferedBytes, opts.MaxRequestBytes))
	}
	if opts.Buffers.Limit() < opts.MaxRequestBytes {
		return nil, fmt.Errorf("the buffer budget of %d bytes cannot hold one request body of the maximum %d bytes: raise the budget or lower the maximum", opts.Buffers.Limit(), opts.MaxRequestBytes)
	}
	var prevSet *policy.Set
	if opts.Previous != nil {
		prevSet = opts.Previous.set
	}
	set, err := policy.Compile(p, prevSet, opts.Policy)
	if err != nil {
		return nil, err
	}
	t := &Transport{set: set, opts: opts, policyRef: p.Ref(), providers: map[string]*route{}, buffers: opts.Buffers}
	if t.prices, err = pricing.Builtin().WithOverrides(p.Pricing); err != nil {
		return nil, fmt.Errorf("policy %s: spec.pricing: %w", p.Ref(), err)
	}
	for _, pc := range p.Providers {
		a, err := provider.AdapterFor(pc.Type)
		if err != nil {
			return nil, fmt.Errorf("provider %s: %w", pc.Name, err)
		}
		base, err := url.Parse(strings.TrimSuffix(pc.BaseURL, "/"))
		if err != nil {
			return nil, fmt.Errorf("provider %s: baseURL: %w", pc.Name, err)
		}
		pr := &route{cfg: pc, adapter: a, base: base}
		if pc.Credentials != nil {
			if pr.key, err = readKey(opts.CredentialsDir, pc.Name); err != nil {
				return nil, err
			}
		}
		if len(pc.Models) > 0 {
			pr.models = map[string]bool{}
			for _, m := range pc.Models {
				pr.models[m] = true
			}
		}
		t.providers[pc.Name] = pr
	}
	t.budget, t.local = budgetFor(p, opts)
	t.cache = cacheFor(p, opts.Previous)
	t.semantic = semanticFor(p, opts.Previous)
	t.stale = t.set.Policy().CachedRung()
	if p.Validation != nil {
		if prev := opts.Previous; prev != nil && prev.checker != nil {
			t.checker = prev.checker
		} else {
			t.checker = outputcheck.New(outputcheck.DefaultMaxEntries, outputcheck.DefaultMaxBytes)
		}
	}
	t.upstream = opts.Upstream
	if t.upstream == nil {
		t.upstream = upstreamFor(p.Timeouts.Connect.D(), opts.Previous)
	}
	return t, nil
}

// Policy returns the policy t enforces.
func (t *Transport) Policy() *proxyconfig.Policy { return t.set.Policy() }

// Budget returns the gate of the policy's budget, nil without a budget.
func (t *Transport) Budget() budget.Gate { return t.budget }

// Policies returns the compiled policy.
func (t *Transport) Policies() *policy.Set { return t.set }

// CloseIdleConnections closes idle upstream connections, when the
// upstream RoundTripper supports it.
func (t *Transport) CloseIdleConnections() {
	if c, ok := t.upstream.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// RoundTrip runs one request under the policy.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	rep := &Report{Start: time.Now(), Policy: t.policyRef, RequestID: req.Header.Get(HeaderRequest), DryRunMode: t.set.DryRun()}
	t.keepRequest(rep, req)
	path, pathErr := canonicalPath(requestPath(req.URL))
	if pathErr != nil {
		path = requestPath(req.URL)
	}
	name, rest := splitRoute(path)
	rep.Provider = name
	prov := t.providers[name]
	if prov == nil {
		closeBody(req)
		return t.refuse(rep, fallbackShapeAdapter(), provider.Request{Shape: provider.ShapeOpenAIChat}, refusal{
			status:  http.StatusNotFound,
			code:    CodeUnknownProvider,
			message: fmt.Sprintf("no provider %q in policy %s; the path must start with one of: %s", name, t.policyRef, strings.Join(t.providerNames(), ", ")),
		}), nil
	}
	if pathErr != nil {
		closeBody(req)
		return t.refuse(rep, prov.adapter, provider.Request{Shape: provider.ShapeOther}, refusal{status: http.StatusBadRequest, code: CodeBadRequest, message: pathErr.Error()}), nil
	}

	body, release, refused := t.readBody(req, rep.Start)
	t.keepBody(rep, body)
	if refused != nil {
		return t.refuse(rep, prov.adapter, provider.Request{Shape: provider.ShapeOther}, *refused), nil
	}
	// The body's share of the buffer budget is given back when the request
	// is over: here, unless an answer takes it over to the end of its body.
	answering := false
	defer func() {
		if !answering {
			release()
		}
	}()
	// The adapter reads the query too: Azure's api-version says whether a
	// stream may be asked for its usage.
	pathAndQuery := rest
	if req.URL.RawQuery != "" {
		pathAndQuery += "?" + req.URL.RawQuery
	}
	rq, err := prov.adapter.ParseRequest(req.Method, pathAndQuery, body)
	rep.Shape, rep.Model, rep.Stream = rq.Shape, rq.Model, rq.Stream
	if err != nil {
		return t.refuse(rep, prov.adapter, rq, refusal{status: http.StatusBadRequest, code: CodeBadRequest, message: err.Error()}), nil
	}
	dryRun := t.set.DryRun()
	if prov.models != nil && rq.Model != "" && !prov.models[rq.Model] {
		if dryRun {
			rep.wouldHave(proxyconfig.DryRunModelNotAllowed)
		} else {
			return t.refuse(rep, prov.adapter, rq, refusal{
				status:  http.StatusForbidden,
				code:    CodeModelNotAllowed,
				message: fmt.Sprintf("model %q is not allowed for provider %s by policy %s; allowed: %s", rq.Model, name, t.policyRef, strings.Join(prov.cfg.Models, ", ")),
			}), nil
		}
	}

	ex := &exchange{t: t, in: req, prov: prov, rest: rest, rq: rq, body: body, rep: rep, validation: t.validationFor(rq)}
	// A cached answer costs nothing: it is served before the budget and
	// the rate limits are asked.
	if rq.Shape != provider.ShapeOther {
		ex.cacheKey, ex.freshCache = t.cacheKey(req, prov, rest, body)
	}
	if ex.freshCache {
		if e, ok := t.cache.Within(ex.cacheKey, t.set.Policy().Cache.TTL.D()); ok {
			return t.serveHit(req, rep, e), nil
		}
		rep.Cache = CacheMiss
		if resp := t.semanticLookup(ex); resp != nil {
			return resp, nil
		}
	}
	// Prepared once, in place of the app's body, so that memory holds one
	// body, not one more per attempt.
	if prepared, err := prov.adapter.PrepareBody(rq, body); err == nil {
		ex.body, ex.prepared = prepared, true
	}
	reservation, refused := t.reserve(ex)
	if refused != nil {
		return t.refuse(rep, prov.adapter, rq, *refused), nil
	}

	estimate := provider.EstimateTokens(rq)
	var admission *policy.Admission
	if dryRun {
		admission = t.admitDryRun(rep, estimate)
	} else {
		admission, err = t.set.Limits().Admit(req.Context(), estimate)
	}
	if err != nil {
		reservation.Release()
		var le *policy.LimitError
		if errors.As(err, &le) {
			return t.refuse(rep, prov.adapter, rq, refusal{
				status:     http.StatusTooManyRequests,
				code:       CodeRateLimited,
				message:    fmt.Sprintf("policy %s allows no more %s now (%s); retry after %s", t.policyRef, strings.ReplaceAll(le.Limit, "_", " "), limitValue(t.set.Policy().RateLimit, le.Limit), le.RetryAfter),
				retryAfter: le.RetryAfter,
			}), nil
		}
		return nil, err
	}

	ctx, cancel := context.WithTimeout(req.Context(), t.set.Policy().Timeouts.Total.D())
	ex.ctx = ctx
	res := t.set.Execute(ctx, ex.call())
	t.keepAttempts(rep, res.Trace)
	rep.Attempts, rep.Rung, rep.Static, rep.Served, rep.Failure = res.Attempts, res.Rung, res.Static, res.Target, res.Failure.String()
	if res.BreakerOpen {
		rep.wouldHave(proxyconfig.DryRunCircuitOpen)
	}
	if v := ex.validation; v != nil {
		// Answers read whole to be judged and not given to the app were
		// paid for all the same; their bodies are closed and their room
		// given back now.
		t.chargeDiscarded(rep, rq, v, res.Response)
		v.releaseExcept(t.buffers, res.Response)
		for _, j := range v.judged {
			rep.Checks = append(rep.Checks, Check{Target: j.target, Result: j.result, Reason: j.reason})
		}
	}
	// The breaker of the target the app asked for: the one that explains
	// a fallback.
	rep.BreakerState = t.set.BreakerState(policy.Target{Provider: name, Model: rq.Model}).String()

	if res.Cached {
		// The last good answer, from memory: no spend, no tokens, and
		// nothing held while the app reads it.
		cancel()
		reservation.Release()
		admission.Done(0)
		return ex.serveKept(res), nil
	}
	if res.Response == nil {
		cancel()
		admission.Done(-1)
		if req.Context().Err() != nil {
			rep.End = "client_gone"
			t.settleAbandoned(rep, rq, reservation)
			rep.Latency = time.Since(rep.Start)
			t.done(rep)
			return nil, req.Context().Err()
		}
		reservation.Settle(rep.discardedCost()) // nothing, unless answers were read and discarded
		return t.refuse(rep, prov.adapter, rq, ex.refusalFor(res)), nil
	}
	answering = true
	return ex.answer(res, func(u provider.Usage) {
		cancel()
		ex.validation.releaseExcept(t.buffers, nil)
		release()
		rep.Usage = u
		t.settle(rep, rq, reservation)
		tokens := int64(-1)
		if u.Known {
			tokens = u.InputTokens + u.OutputTokens
		}
		admission.Done(tokens)
	}), nil
}

// refuse answers with one of Tollgate's refusals and reports it.
func (t *Transport) refuse(rep *Report, a provider.Adapter, rq provider.Request, r refusal) *http.Response {
	resp := r.response(a, rq, t.policyRef)
	if rep.RequestID != "" {
		resp.Header.Set(HeaderRequest, rep.RequestID)
	}
	resp.Header.Set(HeaderAttempts, strconv.Itoa(rep.Attempts))
	rep.setDryRunHeader(resp.Header)
	rep.Status, rep.Refusal, rep.End = r.status, r.code, "complete"
	if rep.Failure == "" {
		rep.Failure = policy.NoFailure.String()
	}
	rep.Latency = time.Since(rep.Start)
	rep.TTFT = rep.Latency
	t.done(rep)
	return resp
}

func (t *Transport) done(rep *Report) {
	if t.opts.Trace && rep.FailedOrFellBack() {
		rep.Trace = t.trace(rep)
	}
	rep.in, rep.body, rep.attempts, rep.errorAnswers = nil, nil, nil, nil
	if t.opts.OnDone != nil {
		t.opts.OnDone(rep)
	}
}

func (t *Transport) providerNames() []string {
	names := make([]string, 0, len(t.providers))
	for _, p := range t.set.Policy().Providers {
		names = append(names, "/"+p.Name)
	}
	return names
}

func closeBody(req *http.Request) {
	if req.Body != nil {
		_ = req.Body.Close()
	}
}

func limitValue(rl *proxyconfig.RateLimit, limit string) string {
	if rl == nil {
		return ""
	}
	switch limit {
	case policy.LimitRequests:
		return fmt.Sprintf("limit %d requests/min", rl.RequestsPerMinute)
	case policy.LimitTokens:
		return fmt.Sprintf("limit %d tokens/min", rl.TokensPerMinute)
	default:
		return fmt.Sprintf("limit %d concurrent", rl.MaxConcurrent)
	}
}

// upstreamFor returns the HTTP transport for a connect timeout, reusing
// prev's (and its pooled connections) when the timeout is unchanged.
func upstreamFor(connect time.Duration, prev *Transport) http.RoundTripper {
	if prev != nil {
		if ht, ok := prev.upstream.(*http.Transport); ok && prev.set.Policy().Timeouts.Connect.D() == connect {
			return ht
		}
	}
	dialer := &net.Dialer{Timeout: connect, KeepAlive: 30 * time.Second}
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           dialer.DialContext,
		TLSHandshakeTimeout:   connect,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          1024,
		MaxIdleConnsPerHost:   256,
		IdleConnTimeout:       90 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
}

package llmclient

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"tollgate.dev/tollgate/pkg/cache"
	"tollgate.dev/tollgate/pkg/policy"
	"tollgate.dev/tollgate/pkg/provider"
	"tollgate.dev/tollgate/pkg/proxyconfig"
	"tollgate.dev/tollgate/pkg/wire"
)

// errorPeekBytes is how much of an error answer is read to classify it.
const errorPeekBytes = 64 << 10

// exchange is one request on its way through a Transport.
type exchange struct {
	t    *Transport
	ctx  context.Context // the request's, bounded by the total timeout
	in   *http.Request
	prov *route // the provider the app addressed
	rest string // the path after the route prefix
	rq   provider.Request
	body []byte
	// prepared tells that body went through the app's provider's
	// PrepareBody already (it is idempotent, and kept through WithModel).
	prepared bool
	rep      *Report

	// downgrade replaces the primary target when the budget is exhausted
	// and the policy downgrades.
	downgrade *policy.Target
	// budgetHeader is the X-Tollgate-Budget value of the answer, if any.
	budgetHeader string
	// cacheKey is the key of the answer in the cache, or "" when the
	// request is not cached.
	cacheKey string
	// semantic is where the semantic cache stores the answer, or nil.
	semantic *semanticPending
	// freshCache tells that the response cache serves the request (it is
	// keyed for the cachedResponse rung alone otherwise).
	freshCache bool
	// attempts counts the calls of attempt: the number of the attempt
	// classify judges, as policy.Attempt.N.
	attempts int
	// validation is what the answers are checked for; nil when nothing
	// is (the policy does not validate, or the request asks for no
	// structured output).
	validation *validation
}

// call describes the exchange to the policy: its targets, how to attempt
// and judge each, and the static answer.
func (ex *exchange) call() *policy.Call {
	c := &policy.Call{
		Primary:  policy.Target{Provider: ex.prov.cfg.Name, Model: ex.rq.Model},
		Attempt:  ex.attempt,
		Classify: ex.classify,
	}
	if ex.downgrade != nil {
		c.Primary = *ex.downgrade
	}
	for _, f := range ex.t.set.Policy().Fallbacks {
		switch {
		case f.StaticResponse != "":
			content := f.StaticResponse
			c.Static = func() (*http.Response, error) { return ex.static(content) }
			c.Rungs = append(c.Rungs, nil)
		case f.CachedResponse != nil:
			if ex.cacheKey != "" {
				c.Cached = ex.kept
			}
			c.Rungs = append(c.Rungs, nil)
		default:
			c.Rungs = append(c.Rungs, ex.rung(f))
		}
	}
	return c
}

// rung is the target of a fallback rung, or nil when its provider cannot
// take this request: only OpenAI chat completions cross provider types.
func (ex *exchange) rung(f proxyconfig.Fallback) *policy.Target {
	p := ex.t.providers[f.Provider]
	if p == nil {
		return nil
	}
	if p.adapter.Type() != ex.prov.adapter.Type() && ex.rq.Shape != provider.ShapeOpenAIChat {
		return nil
	}
	model := f.Model
	if model == "" {
		model = ex.rq.Model
	}
	return &policy.Target{Provider: f.Provider, Model: model}
}

// attempt sends the request to target once; for a success it returns after
// the first byte of the body arrived.
func (ex *exchange) attempt(ctx context.Context, target policy.Target) (*http.Response, error) {
	ex.attempts++
	up, err := ex.upstreamRequest(ctx, target)
	if err != nil {
		return nil, err
	}
	span := ex.traceAttempt(ctx, target, up, ex.attempts)
	resp, err := ex.t.upstream.RoundTrip(up)
	if err != nil {
		span.end(ex, ctx, nil, err)
		return nil, err
	}
	if resp.StatusCode >= 300 {
		span.end(ex, ctx, resp, nil)
		return resp, nil
	}
	fb, err := readFirstByte(resp.Body)
	if err != nil {
		_ = resp.Body.Close()
		span.end(ex, ctx, nil, err)
		return nil, fmt.Errorf("read the first byte of the answer from %s: %w", target.Provider, err)
	}
	resp.Body = fb
	span.end(ex, ctx, resp, nil)
	return resp, nil
}

// upstreamRequest builds the request for target: the app's method, path,
// query, headers and body, with the path and model rewritten for a fallback
// or downgrade, the provider's credentials, and hop-by-hop headers dropped.
func (ex *exchange) upstreamRequest(ctx context.Context, target policy.Target) (*http.Request, error) {
	p := ex.t.providers[target.Provider]
	if p == nil {
		return nil, fmt.Errorf("provider %s is not in the policy", target.Provider)
	}
	path, body := ex.rest, ex.body
	if p != ex.prov && p.adapter.Type() != ex.prov.adapter.Type() {
		path = p.adapter.ChatCompletionsPath()
	}
	var err error
	if target.Model != "" && target.Model != ex.rq.Model {
		if path, body, err = p.adapter.WithModel(ex.rq, path, body, target.Model); err != nil {
			return nil, fmt.Errorf("rewrite the request for model %s: %w", target.Model, err)
		}
	}
	if !ex.prepared || p.adapter.Type() != ex.prov.adapter.Type() {
		if body, err = p.adapter.PrepareBody(ex.rq, body); err != nil {
			return nil, fmt.Errorf("prepare the request for %s: %w", target.Provider, err)
		}
	}
	u, err := upstreamURL(p.base, path, ex.in.URL.RawQuery)
	if err != nil {
		return nil, err
	}
	up, err := http.NewRequestWithContext(ctx, ex.in.Method, u.String(), bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	// The URL as built, not as reparsed: its path is sent exactly as the
	// canonical path the policy judged.
	up.URL = u
	copyHeaders(up.Header, ex.in.Header)
	up.Header.Del("Accept-Encoding") // let net/http negotiate gzip and decompress, so usage can be read
	if ex.in.Body == nil || ex.in.Body == http.NoBody || len(body) == 0 {
		up.Body, up.ContentLength = http.NoBody, 0
	}
	if p.key != "" {
		p.adapter.SetCredentials(up.Header, path, p.key)
	}
	if ex.rep.RequestID != "" {
		up.Header.Set(HeaderRequest, ex.rep.RequestID)
	}
	return up, nil
}

// classify judges an answer of target; for an error answer it reads up to
// errorPeekBytes of the body and leaves it readable.
func (ex *exchange) classify(target policy.Target, resp *http.Response) policy.Failure {
	p := ex.t.providers[target.Provider]
	if resp.StatusCode < 400 || p == nil {
		f := p.adapter.Classify(resp.StatusCode, resp.Header, nil)
		if v := ex.validation; f == policy.NoFailure && v != nil && v.skip == "" && resp.StatusCode/100 == 2 {
			return ex.judge(target, resp)
		}
		return f
	}
	peek, err := io.ReadAll(io.LimitReader(resp.Body, errorPeekBytes))
	if ex.t.opts.Trace {
		ex.keepErrorAnswer(ex.attempts, resp, peek, err == nil && len(peek) < errorPeekBytes)
	}
	if err != nil && len(peek) == 0 {
		return policy.ConnectionError
	}
	resp.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(peek), resp.Body), resp.Body}
	return p.adapter.Classify(resp.StatusCode, resp.Header, peek)
}

// static renders the policy's static response for this request.
func (ex *exchange) static(content string) (*http.Response, error) {
	contentType, body, ok := ex.prov.adapter.StaticResponse(ex.rq, content)
	if !ok {
		return nil, errors.New("no static response for this kind of request")
	}
	h := http.Header{}
	h.Set("Content-Type", contentType)
	return &http.Response{StatusCode: http.StatusOK, Header: h, Body: io.NopCloser(bytes.NewReader(body)), ContentLength: int64(len(body))}, nil
}

// refusalFor turns a request no provider answered into a refusal.
func (ex *exchange) refusalFor(res policy.Result) refusal {
	target := res.Target
	if target.Provider == "" {
		target = policy.Target{Provider: ex.prov.cfg.Name, Model: ex.rq.Model}
	}
	switch {
	case errors.Is(res.Err, policy.ErrCircuitOpen):
		wait := ex.t.set.RemainingOpen(target)
		return refusal{status: http.StatusServiceUnavailable, code: CodeCircuitOpen, retryAfter: wait,
			message: fmt.Sprintf("the circuit breaker for %s is open after repeated failures; policy %s sends nothing there for %s", target, ex.t.policyRef, wait.Round(time.Second))}
	case errors.Is(res.Err, policy.ErrRetryBudget):
		return refusal{status: http.StatusServiceUnavailable, code: CodeRetryBudget,
			message: fmt.Sprintf("%s is failing and policy %s's retry budget is spent; not retrying", target, ex.t.policyRef)}
	case res.Failure == policy.Timeout:
		return refusal{status: http.StatusGatewayTimeout, code: CodeTimeout,
			message: fmt.Sprintf("%s sent no answer within the first-token timeout of %s (policy %s)", target, ex.t.set.Policy().Timeouts.FirstToken, ex.t.policyRef)}
	case errors.Is(ex.ctx.Err(), context.DeadlineExceeded):
		return refusal{status: http.StatusGatewayTimeout, code: CodeTimeout,
			message: fmt.Sprintf("no answer within the total timeout of %s (policy %s)", ex.t.set.Policy().Timeouts.Total, ex.t.policyRef)}
	}
	return refusal{status: http.StatusBadGateway, code: CodeUpstreamUnavailable,
		message: fmt.Sprintf("cannot reach %s: %v", target, res.Err)}
}

// answer prepares the answer for the app: Tollgate's headers, and a body
// that reads usage as it passes and finishes the report at its end.
func (ex *exchange) answer(res policy.Result, finish func(provider.Usage)) *http.Response {
	resp := res.Response
	// The answer is to the app's request, not to the upstream one, which
	// would also keep the request body in memory as long as the answer.
	resp.Request = ex.in
	removeHopByHop(resp.Header)
	stripTollgateHeaders(resp.Header)
	if ex.rep.RequestID != "" {
		resp.Header.Set(HeaderRequest, ex.rep.RequestID)
	}
	resp.Header.Set(HeaderPolicy, ex.t.policyRef)
	resp.Header.Set(HeaderAttempts, strconv.Itoa(res.Attempts))
	if ex.budgetHeader != "" {
		resp.Header.Set(HeaderBudget, ex.budgetHeader)
	}
	ex.rep.setDryRunHeader(resp.Header)
	// Only the answer of the target the app asked for is cached, not a
	// fallback's, a downgrade's or the static one.
	// Nor an answer that failed its check.
	cacheable := ex.cacheKey != "" && res.Rung == 0 && !res.Static && ex.downgrade == nil && resp.StatusCode/100 == 2 &&
		res.Failure != policy.InvalidOutput
	ex.validation.setHeaders(resp.Header, resp, res.Static, ex.rep)
	if ex.freshCache {
		resp.Header.Set(cache.HeaderCache, cache.Miss)
	}
	switch {
	case res.Static:
		resp.Header.Set(HeaderFallback, FallbackStatic)
	case res.Rung > 0:
		resp.Header.Set(HeaderFallback, res.Target.String())
	}
	ex.rep.Status = resp.StatusCode
	adapter := ex.t.providers[res.Target.Provider]
	a := ex.prov.adapter
	if adapter != nil {
		a = adapter.adapter
	}
	sse := wire.IsEventStream(resp.Header.Get("Content-Type"))
	if sse {
		// Events may be dropped (the usage chunk asked for on the app's
		// behalf), so the length is no longer known.
		resp.Header.Del("Content-Length")
		resp.ContentLength = -1
	}
	resp.Body = newObservedBody(resp.Body, observation{
		sse:     sse,
		adapter: a,
		req:     ex.rq,
		ctx:     ex.ctx,
		parent:  ex.in.Context(),
		start:   ex.rep.Start,
		status:  resp.StatusCode,
		keep:    cacheable,
		length:  resp.ContentLength,
		buffers: ex.t.buffers,
		model:   ex.t.opts.ReadResponseModel,
		onFinish: func(f finished) {
			if cacheable {
				ex.t.store(ex.cacheKey, resp, sse, f.body, f.usage)
				ex.t.storeSemantic(ex, resp, sse, f.body, f.usage)
			}
			ex.rep.AnswerBytes, ex.rep.ResponseModel = f.sent, f.model
			ex.finish(f.usage, f.ttft, f.end, finish)
		},
	})
	return resp
}

func (ex *exchange) finish(u provider.Usage, ttft time.Duration, end string, release func(provider.Usage)) {
	ex.rep.TTFT, ex.rep.End = ttft, end
	ex.body = nil // before its share of the buffer budget is given back
	release(u)
	ex.rep.Usage = u
	ex.rep.Latency = time.Since(ex.rep.Start)
	ex.t.done(ex.rep)
}

func fallbackShapeAdapter() provider.Adapter {
	a, _ := provider.AdapterFor(proxyconfig.OpenAI)
	return a
}

// hopByHop are the headers that describe one connection, not the message.
var hopByHop = []string{"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade"}

func removeHopByHop(h http.Header) {
	for _, f := range h.Values("Connection") {
		for _, name := range strings.Split(f, ",") {
			h.Del(strings.TrimSpace(name))
		}
	}
	for _, name := range hopByHop {
		h.Del(name)
	}
}

// stripTollgateHeaders deletes the X-Tollgate-* headers of an upstream
// answer, whatever their case. That namespace is the sidecar's alone: a
// provider's (or anything's on the way) x-tollgate-reason would make its
// error look like one of Tollgate's refusals.
func stripTollgateHeaders(h http.Header) {
	const prefix = "X-Tollgate-"
	for k := range h {
		if len(k) >= len(prefix) && strings.EqualFold(k[:len(prefix)], prefix) {
			delete(h, k)
		}
	}
}

// copyHeaders copies the app's headers for the upstream request, without
// those of the hop to the sidecar: hop-by-hop headers, Host,
// Content-Length, and the W3C trace context (see tracing.go: a provider
// that takes it gets its own).
func copyHeaders(dst, src http.Header) {
	// One array holds every value, as http.Header.Clone does, rather than
	// one per header; each header's slice is capped, so appending to one
	// never writes into the next.
	n := 0
	for _, vs := range src {
		n += len(vs)
	}
	all := make([]string, n)
	for k, vs := range src {
		if len(vs) == 0 {
			dst[k] = nil // as append([]string(nil), vs...) gave
			continue
		}
		m := copy(all, vs)
		dst[k], all = all[:m:m], all[m:]
	}
	removeHopByHop(dst)
	dst.Del("Host")
	dst.Del("Content-Length")
	for _, h := range traceHeaders {
		dst.Del(h)
	}
}

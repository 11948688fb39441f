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

	"tollgate.dev/tollgate/pkg/budget"
	"tollgate.dev/tollgate/pkg/cache"
	"tollgate.dev/tollgate/pkg/policy"
	"tollgate.dev/tollgate/pkg/provider"
	"tollgate.dev/tollgate/pkg/proxyconfig"
	"tollgate.dev/tollgate/pkg/semantic"
)

// CacheSemanticHit is Report.Cache of an answer from the semantic cache;
// the answer's X-Tollgate-Cache says HeaderSemanticHit.
const CacheSemanticHit = "semantic_hit"

// HeaderSemanticHit is the X-Tollgate-Cache value of an answer from the
// semantic cache.
const HeaderSemanticHit = "semantic-hit"

// Results of a semantic cache lookup (SemanticReport.Result).
const (
	SemanticHit  = "hit"
	SemanticMiss = "miss"
	// SemanticError: the embedding could not be had; the request went on
	// uncached (SemanticReport.EmbeddingError says why).
	SemanticError = "error"
)

// Why the embedding of a request could not be had
// (SemanticReport.EmbeddingError): the embedding call's failure, or why
// it was not made.
const (
	EmbeddingTimeout         = "timeout"
	EmbeddingConnectionError = "connection_error"
	EmbeddingRateLimited     = "rate_limited"
	EmbeddingServerError     = "server_error"
	EmbeddingClientError     = "client_error"
	EmbeddingCircuitOpen     = "circuit_open"
	EmbeddingBadAnswer       = "bad_answer"
	// EmbeddingBudget: the budget is exhausted or cannot be verified.
	EmbeddingBudget = "budget"
	// EmbeddingUnpriced: under a budget, the embedding model has no price.
	EmbeddingUnpriced = "unpriced"
	// EmbeddingNoCredentials: the embedding provider holds no key and the
	// request went to another provider, whose key must not be sent there.
	EmbeddingNoCredentials = "no_credentials"
)

// EmbeddingErrors lists every EmbeddingError value.
func EmbeddingErrors() []string {
	return []string{EmbeddingTimeout, EmbeddingConnectionError, EmbeddingRateLimited, EmbeddingServerError, EmbeddingClientError,
		EmbeddingCircuitOpen, EmbeddingBadAnswer, EmbeddingBudget, EmbeddingUnpriced, EmbeddingNoCredentials}
}

// maxEmbeddingAnswer bounds an embeddings answer read whole (3072
// dimensions as JSON are about 70 KB).
const maxEmbeddingAnswer = 4 << 20

// SemanticReport is what the semantic cache did for one request
// (Report.Semantic): the lookup, and the embedding call it took.
type SemanticReport struct {
	// Result is SemanticHit, SemanticMiss or SemanticError.
	Result string
	// Similarity is the cosine similarity of the most similar entry of
	// the request's partition (served or not); 0 when it had none.
	Similarity float64
	// Guard is why the best entry at or above the threshold was not
	// served (semantic.Guard's reasons), or "".
	Guard string
	// EmbeddingError is why there is no embedding (Embedding*), or "".
	EmbeddingError string
	// Provider and Model are the embedding's.
	Provider, Model string
	// Attempts counts the embedding attempts sent upstream.
	Attempts int
	// Usage is the embedding's usage, CostUSD its cost (Priced false when
	// the model has no price), Estimated why the cost is an estimate.
	Usage     provider.Usage
	CostUSD   proxyconfig.USD
	Priced    bool
	Estimated string
	// Latency is how long the embedding took.
	Latency time.Duration
}

// semanticPending is what a request that missed the semantic cache
// stores its answer under.
type semanticPending struct {
	partition string
	vector    []float32
	text      string
}

// semanticFor returns the semantic cache of p: the previous Transport's
// when its settings are unchanged, so a reload keeps stored answers.
func semanticFor(p proxyconfig.Policy, prev *Transport) *semantic.Store {
	var prevStore *semantic.Store
	if prev != nil {
		prevStore = prev.semantic
	}
	if p.Cache == nil || p.Cache.Semantic == nil {
		if prevStore != nil {
			prevStore.Close()
		}
		return nil
	}
	sc := p.Cache.Semantic
	// The vector space: the model, where it is served, and what is
	// stored. A change to any of them empties the store.
	space := sc.Embedding.Provider + " " + sc.Embedding.Model + " " + strconv.FormatBool(sc.AllowToolCalls)
	if pr := p.Provider(sc.Embedding.Provider); pr != nil {
		space += " " + pr.BaseURL
	}
	return semantic.Reuse(prevStore, space, sc.MaxEntries, sc.TTL.D())
}

// semanticLookup answers ex from the semantic cache, or returns nil and,
// when the answer may be stored there, leaves what to store it under in
// ex.semantic. It runs once the exact cache missed.
func (t *Transport) semanticLookup(ex *exchange) *http.Response {
	if t.semantic == nil || ex.cacheKey == "" {
		return nil
	}
	sc := t.set.Policy().Cache.Semantic
	partBody, text, err := semantic.Split(ex.rq.Shape, ex.body)
	if err != nil {
		return nil
	}
	path := ex.rest
	if ex.in.URL.RawQuery != "" {
		path += "?" + ex.in.URL.RawQuery
	}
	partition, err := cache.Key(cache.KeyInput{
		Scope:    scopeOf(ex.in, ex.prov),
		Provider: "semantic " + ex.prov.cfg.Name + " " + ex.prov.cfg.BaseURL,
		Path:     path,
		Body:     partBody,
	})
	if err != nil {
		return nil
	}
	sr := &SemanticReport{Provider: sc.Embedding.Provider, Model: sc.Embedding.Model}
	ex.rep.Semantic = sr
	vector, reason := t.embed(ex, sc.Embedding, text, sr)
	if reason != "" {
		sr.Result, sr.EmbeddingError = SemanticError, reason
		return nil
	}
	m := t.semantic.Lookup(partition, vector, text, sc.Threshold)
	sr.Similarity, sr.Guard = m.Similarity, m.Guard
	if m.Entry == nil {
		sr.Result = SemanticMiss
		ex.semantic = &semanticPending{partition: partition, vector: vector, text: text}
		return nil
	}
	sr.Result = SemanticHit
	return t.serveSemanticHit(ex.in, ex.rep, m.Entry)
}

// serveSemanticHit answers the request from the semantic cache. Its
// X-Tollgate-Attempts is 0: the request itself was not sent upstream
// (its embedding was, as Report.Semantic says).
func (t *Transport) serveSemanticHit(req *http.Request, rep *Report, e *cache.Entry) *http.Response {
	resp := e.Response(req)
	resp.Header.Set(cache.HeaderCache, HeaderSemanticHit)
	resp.Header.Set(HeaderPolicy, t.policyRef)
	resp.Header.Set(HeaderAttempts, "0")
	if rep.RequestID != "" {
		resp.Header.Set(HeaderRequest, rep.RequestID)
	}
	rep.setDryRunHeader(resp.Header)
	rep.Cache, rep.Status, rep.End, rep.Priced = CacheSemanticHit, resp.StatusCode, "complete", true
	rep.Failure = policy.NoFailure.String()
	rep.Latency = time.Since(rep.Start)
	rep.TTFT = rep.Latency
	t.done(rep)
	return resp
}

// storeSemantic keeps a complete answer of the target the app asked for
// in the semantic cache, unless it calls a tool and the policy does not
// allow that.
func (t *Transport) storeSemantic(ex *exchange, resp *http.Response, sse bool, body []byte, u provider.Usage) {
	p := ex.semantic
	if p == nil || body == nil {
		return
	}
	if !t.set.Policy().Cache.Semantic.AllowToolCalls && semantic.CallsTools(body, sse) {
		return
	}
	_ = t.semantic.Add(p.partition, p.vector, p.text, &cache.Entry{
		Status: resp.StatusCode,
		Header: resp.Header,
		Body:   body,
		Stream: sse,
		Usage:  cacheUsage(u),
	})
}

// embed asks the embedding provider for the vector of text, under the
// policy's timeouts, retries, breaker and budget, and reports the call in
// sr. It returns the unit vector, or why there is none.
func (t *Transport) embed(ex *exchange, e proxyconfig.Embedding, text string, sr *SemanticReport) ([]float32, string) {
	ep := t.providers[e.Provider]
	if ep == nil {
		return nil, EmbeddingClientError // the contract's validation rules this out
	}
	path, ok := provider.EmbeddingsPath(ep.cfg.Type)
	if !ok {
		return nil, EmbeddingClientError // likewise: Anthropic has no embeddings
	}
	key := ep.key
	if key == "" {
		// Only the app's own key for this very provider may be sent to it
		// (none, for a server that takes none).
		if ep != ex.prov {
			return nil, EmbeddingNoCredentials
		}
		key = appKey(ex.in)
	}
	rq := provider.Request{Shape: provider.ShapeOpenAIEmbeddings, Model: e.Model, PromptBytes: len(text)}
	prompt := provider.EstimatePromptTokens(rq)
	price, priced := t.priceOf(ep.cfg.Name, e.Model)
	var res *budget.Reservation
	if t.budget != nil {
		if !priced {
			return nil, EmbeddingUnpriced
		}
		reserve := t.budget.Reserve
		if t.set.DryRun() {
			// In DryRun the budget stops and delays nothing, the sidecar's
			// own embeddings included; they are charged all the same.
			reserve = t.budget.ReserveDryRun
		}
		r, d := reserve(price.MaxCost(prompt, 0))
		switch {
		case d.FirstExhausted:
			ex.rep.BudgetNotice = NoticeExhausted
		case d.FirstSoftCrossing:
			ex.rep.BudgetNotice = NoticeSoftLimit
		}
		if t.set.DryRun() {
			// What Enforce would have done: skipped the lookup, then acted
			// on the request itself for the same reason.
			switch {
			case d.Unavailable:
				ex.rep.wouldHave(proxyconfig.DryRunBudgetUnavailable)
			case d.Action == budget.Downgrade:
				ex.rep.wouldHave(proxyconfig.DryRunBudgetDowngrade)
			case d.Action == budget.Block:
				ex.rep.wouldHave(proxyconfig.DryRunBudgetExhausted)
			}
		} else if d.Unavailable || d.Action != budget.Allow {
			r.Release()
			return nil, EmbeddingBudget
		}
		res = r
	}

	start := time.Now()
	ctx, cancel := context.WithTimeout(ex.in.Context(), min(e.Timeout.D(), t.set.Policy().Timeouts.Total.D()))
	defer cancel()
	body := semantic.EmbeddingRequest(e.Model, text)
	attempts := 0
	result := t.set.Execute(ctx, &policy.Call{
		Primary: policy.Target{Provider: ep.cfg.Name, Model: e.Model},
		Attempt: func(ctx context.Context, target policy.Target) (*http.Response, error) {
			u, err := upstreamURL(ep.base, path, "")
			if err != nil {
				return nil, err
			}
			up, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
			if err != nil {
				return nil, err
			}
			up.URL = u
			up.Header.Set("Content-Type", "application/json")
			if ex.rep.RequestID != "" {
				up.Header.Set(HeaderRequest, ex.rep.RequestID)
			}
			ep.adapter.SetCredentials(up.Header, path, key)
			attempts++
			span := ex.traceAttempt(ctx, target, up, attempts, AttrEmbedding.Bool(true))
			resp, err := t.upstream.RoundTrip(up)
			if err != nil {
				span.end(ex, ctx, nil, err)
				return nil, err
			}
			// Read whole within the attempt, so that its timeout covers it.
			b, err := io.ReadAll(io.LimitReader(resp.Body, maxEmbeddingAnswer+1))
			_ = resp.Body.Close()
			if err != nil {
				span.end(ex, ctx, nil, err)
				return nil, fmt.Errorf("read the embeddings answer of %s: %w", target.Provider, err)
			}
			span.end(ex, ctx, resp, nil)
			resp.Body = &readBody{Reader: bytes.NewReader(b), data: b}
			return resp, nil
		},
		Classify: func(_ policy.Target, resp *http.Response) policy.Failure {
			return ep.adapter.Classify(resp.StatusCode, resp.Header, bodyOf(resp))
		},
	})
	sr.Attempts, sr.Latency = result.Attempts, time.Since(start)
	if result.Response == nil {
		res.Release() // nothing was answered: nothing is billed
		return nil, embeddingFailure(result)
	}
	answer := bodyOf(result.Response)
	_ = result.Response.Body.Close()
	status := result.Response.StatusCode
	sr.Usage = ep.adapter.Usage(rq, answer)
	if priced {
		sr.Priced = true
		sr.CostUSD = price.Cost(tokensOf(sr.Usage))
		if !sr.Usage.Known && status < 300 {
			// Never free: an answer without usage is charged its estimate.
			sr.Estimated, sr.CostUSD = EstimateNoUsage, price.MaxCost(prompt, 0)
		}
	}
	res.Settle(sr.CostUSD)
	switch {
	case status == http.StatusTooManyRequests:
		return nil, EmbeddingRateLimited
	case status >= 500:
		return nil, EmbeddingServerError
	case status >= 300:
		return nil, EmbeddingClientError
	case len(answer) > maxEmbeddingAnswer:
		return nil, EmbeddingBadAnswer
	}
	vector, err := semantic.ParseEmbedding(answer)
	if err != nil {
		return nil, EmbeddingBadAnswer
	}
	return vector, ""
}

// readBody is an answer read whole within its attempt.
type readBody struct {
	*bytes.Reader
	data []byte
}

func (*readBody) Close() error { return nil }

// bodyOf is the whole body of an embeddings answer an attempt returned.
func bodyOf(resp *http.Response) []byte {
	if b, ok := resp.Body.(*readBody); ok {
		return b.data
	}
	return nil
}

// embeddingFailure says why an embedding call that got no answer failed.
func embeddingFailure(res policy.Result) string {
	switch {
	case errors.Is(res.Err, policy.ErrCircuitOpen):
		return EmbeddingCircuitOpen
	case errors.Is(res.Err, policy.ErrRetryBudget):
		return EmbeddingServerError
	case res.Failure == policy.Timeout, res.Failure == policy.Canceled, errors.Is(res.Err, context.DeadlineExceeded):
		return EmbeddingTimeout
	}
	return EmbeddingConnectionError
}

// appKey is the API key the app sent, from whichever header its provider
// takes it in (or Gemini's ?key=).
func appKey(req *http.Request) string {
	if v, ok := strings.CutPrefix(req.Header.Get("Authorization"), "Bearer "); ok && v != "" {
		return strings.TrimSpace(v)
	}
	for _, h := range []string{"Api-Key", "X-Goog-Api-Key", "X-Api-Key"} {
		if v := req.Header.Get(h); v != "" {
			return v
		}
	}
	return req.URL.Query().Get("key")
}

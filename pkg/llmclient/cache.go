package llmclient

import (
	"net/http"
	"strconv"
	"time"

	"tollgate.dev/tollgate/pkg/cache"
	"tollgate.dev/tollgate/pkg/policy"
	"tollgate.dev/tollgate/pkg/provider"
	"tollgate.dev/tollgate/pkg/proxyconfig"
)

// credentialHeaders are where apps put their API keys, per provider type;
// the cache scope is derived from them (one way) when the sidecar does not
// hold the key itself.
var credentialHeaders = []string{"Authorization", "X-Api-Key", "Api-Key", "X-Goog-Api-Key"}

// cacheFor returns the store of p's answers: the previous Transport's when
// its settings are unchanged, so a reload keeps stored answers. One store
// serves both readers: the response cache (spec.cache), which serves
// answers up to its TTL old before any attempt, and the cachedResponse
// fallback rung, which serves them up to maxStale old once the providers
// failed. It keeps each answer for the longer of the two and holds the
// larger of their maxEntries. Nil when p has neither.
func cacheFor(p proxyconfig.Policy, prev *Transport) *cache.Store {
	var prevStore *cache.Store
	if prev != nil {
		prevStore = prev.cache
	}
	var maxEntries int
	var ttl time.Duration
	if c := p.Cache; c != nil {
		maxEntries, ttl = c.MaxEntries, c.TTL.D()
	}
	if r := p.CachedRung(); r != nil {
		maxEntries, ttl = max(maxEntries, r.MaxEntries), max(ttl, r.MaxStale.D())
	}
	if maxEntries == 0 {
		if prevStore != nil {
			prevStore.Close()
		}
		return nil
	}
	return cache.Reuse(prevStore, maxEntries, ttl)
}

// cacheKey returns the key of the request's answer, or "" when the request
// is not to be stored: no store, or a body without one canonical form.
// fresh tells whether the response cache serves the request: the policy
// has one, and the request is deterministic when the cache wants only
// those. A request the cache does not serve is still keyed (and its answer
// kept) for the cachedResponse rung, whatever its temperature.
func (t *Transport) cacheKey(req *http.Request, prov *route, rest string, body []byte) (key string, fresh bool) {
	if t.cache == nil || req.Method != http.MethodPost {
		return "", false
	}
	c := t.set.Policy().Cache
	fresh = c != nil && (!c.OnlyDeterministic || cache.Deterministic(body))
	if !fresh && t.stale == nil {
		return "", false
	}
	path := rest
	if req.URL.RawQuery != "" {
		path += "?" + req.URL.RawQuery
	}
	key, err := cache.Key(cache.KeyInput{
		Scope: scopeOf(req, prov),
		// The base URL is part of the provider: a provider pointed
		// elsewhere by a reload does not serve the old upstream's answers.
		Provider: prov.cfg.Name + " " + prov.cfg.BaseURL,
		Path:     path,
		Body:     body,
	})
	if err != nil {
		return "", false
	}
	return key, fresh
}

// scopeOf keeps apart the answers of different credentials: all requests
// share the sidecar's own key when it holds one; otherwise each of the
// app's keys (hashed, never stored) has its own answers.
func scopeOf(req *http.Request, prov *route) string {
	if prov.key != "" {
		return "sidecar-key:" + prov.cfg.Name
	}
	cred := ""
	for _, h := range credentialHeaders {
		cred += h + "=" + req.Header.Get(h) + "\n"
	}
	cred += "key=" + req.URL.Query().Get("key")
	return cache.ScopeOf(cred)
}

// serveHit answers the request from the cache.
func (t *Transport) serveHit(req *http.Request, rep *Report, e *cache.Entry) *http.Response {
	resp := e.Response(req)
	resp.Header.Set(HeaderPolicy, t.policyRef)
	resp.Header.Set(HeaderAttempts, "0") // no attempt went upstream
	if rep.RequestID != "" {
		resp.Header.Set(HeaderRequest, rep.RequestID)
	}
	rep.Cache, rep.Status, rep.End, rep.Priced = CacheHit, resp.StatusCode, "complete", true
	rep.Failure = "none"
	rep.Latency = time.Since(rep.Start)
	rep.TTFT = rep.Latency
	t.done(rep)
	return resp
}

// kept returns the answer the cachedResponse rung serves: the last good
// answer to the request, at most maxStale old, replayed in its own shape
// and marked stale; nil when there is none.
func (ex *exchange) kept() *http.Response {
	e, ok := ex.t.cache.Within(ex.cacheKey, ex.t.stale.MaxStale.D())
	if !ok {
		return nil
	}
	ex.rep.StaleAge = time.Since(e.StoredAt)
	resp := e.Response(ex.in)
	resp.Header.Set(cache.HeaderCache, cache.Stale)
	return resp
}

// serveKept hands the app the cachedResponse rung's answer. It is
// Tollgate's own, like a cache hit: it costs nothing and carries no usage,
// so the caller has given back the reservation and the admission already.
func (ex *exchange) serveKept(res policy.Result) *http.Response {
	resp, rep := res.Response, ex.rep
	resp.Header.Set(HeaderPolicy, ex.t.policyRef)
	resp.Header.Set(HeaderAttempts, strconv.Itoa(res.Attempts))
	resp.Header.Set(HeaderFallback, FallbackCache)
	if ex.budgetHeader != "" {
		resp.Header.Set(HeaderBudget, ex.budgetHeader)
	}
	rep.setDryRunHeader(resp.Header)
	if rep.RequestID != "" {
		resp.Header.Set(HeaderRequest, rep.RequestID)
	}
	rep.Stale, rep.Status, rep.End, rep.Priced = true, resp.StatusCode, "complete", true
	rep.Failure = policy.NoFailure.String()
	rep.Latency = time.Since(rep.Start)
	rep.TTFT = rep.Latency
	ex.t.done(rep)
	return resp
}

// store keeps a complete answer of the target the app asked for.
func (t *Transport) store(key string, resp *http.Response, sse bool, body []byte, u provider.Usage) {
	if key == "" || body == nil {
		return
	}
	_ = t.cache.Add(key, &cache.Entry{
		Status: resp.StatusCode,
		Header: resp.Header,
		Body:   body,
		Stream: sse,
		Usage:  cache.Usage(u),
	})
}

package llmclient

import (
	"net/http"
	"time"

	"tollgate.dev/tollgate/pkg/cache"
	"tollgate.dev/tollgate/pkg/provider"
	"tollgate.dev/tollgate/pkg/proxyconfig"
)

// credentialHeaders are where apps put their API keys, per provider type;
// the cache scope is derived from them (one way) when the sidecar does not
// hold the key itself.
var credentialHeaders = []string{"Authorization", "X-Api-Key", "Api-Key", "X-Goog-Api-Key"}

// cacheFor returns the response cache of p: the previous Transport's when
// its settings are unchanged, so a reload keeps stored answers.
func cacheFor(p proxyconfig.Policy, prev *Transport) *cache.Store {
	var prevStore *cache.Store
	if prev != nil {
		prevStore = prev.cache
	}
	if p.Cache == nil {
		if prevStore != nil {
			prevStore.Close()
		}
		return nil
	}
	return cache.Reuse(prevStore, p.Cache.MaxEntries, p.Cache.TTL.D())
}

// cacheKey returns the key of the request's answer, or "" when the request
// is not to be cached: no cache, not deterministic when the policy wants
// only those, or a body without one canonical form.
func (t *Transport) cacheKey(req *http.Request, prov *route, rest string, body []byte) string {
	if t.cache == nil || req.Method != http.MethodPost {
		return ""
	}
	if t.set.Policy().Cache.OnlyDeterministic && !cache.Deterministic(body) {
		return ""
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
		return ""
	}
	return key
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

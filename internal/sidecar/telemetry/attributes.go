package telemetry

import (
	"net/url"
	"slices"
	"strconv"

	"go.opentelemetry.io/otel/attribute"
	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"
	"go.opentelemetry.io/otel/semconv/v1.41.0/genaiconv"

	"tollgate.dev/tollgate/pkg/cache"
	"tollgate.dev/tollgate/pkg/llmclient"
	"tollgate.dev/tollgate/pkg/provider"
	"tollgate.dev/tollgate/pkg/proxyconfig"
)

// Tollgate's own attribute keys, beside llmclient's AttrProvider.
const (
	AttrPolicy     = attribute.Key("tollgate.policy")
	AttrAttempts   = attribute.Key("tollgate.attempts")
	AttrRung       = attribute.Key("tollgate.fallback.rung")
	AttrServedBy   = attribute.Key("tollgate.served_by")
	AttrCache      = attribute.Key("tollgate.cache")
	AttrCost       = attribute.Key("tollgate.cost.usd")
	AttrEstimated  = attribute.Key("tollgate.usage.estimated")
	AttrBudget     = attribute.Key("tollgate.budget.state")
	AttrBreaker    = attribute.Key("tollgate.circuit_breaker.state")
	AttrEnd        = attribute.Key("tollgate.end")
	AttrRequestID  = attribute.Key("tollgate.request_id")
	AttrValidation = attribute.Key("tollgate.validation")
	AttrHTTPStatus = semconv.HTTPResponseStatusCodeKey
)

// operation is the gen_ai.operation.name of a request of shape s, or ""
// for a request that is no GenAI operation (ShapeOther, or a request
// refused before its shape was known).
func operation(s provider.Shape) genaiconv.OperationNameAttr {
	switch s {
	case provider.ShapeOpenAIChat, provider.ShapeOpenAIResponses, provider.ShapeAnthropicMessages:
		return genaiconv.OperationNameChat
	case provider.ShapeOpenAIEmbeddings:
		return genaiconv.OperationNameEmbeddings
	case provider.ShapeGeminiGenerate:
		return genaiconv.OperationNameGenerateContent
	}
	return ""
}

// server is a provider of the loaded policy as the conventions name it.
type server struct {
	// genai is its gen_ai.provider.name.
	genai genaiconv.ProviderNameAttr
	// address and port are where it is reached (server.address,
	// server.port).
	address string
	port    int
}

// compatibleHosts name the providers the conventions know that an
// OpenAICompatible provider may be, by the host of its base URL.
var compatibleHosts = map[string]genaiconv.ProviderNameAttr{
	"api.openai.com":    genaiconv.ProviderNameOpenAI,
	"api.anthropic.com": genaiconv.ProviderNameAnthropic,
	"api.deepseek.com":  genaiconv.ProviderNameDeepseek,
	"api.mistral.ai":    genaiconv.ProviderNameMistralAI,
	"api.groq.com":      genaiconv.ProviderNameGroq,
	"api.x.ai":          genaiconv.ProviderNameXAI,
	"api.perplexity.ai": genaiconv.ProviderNamePerplexity,
	"api.cohere.com":    genaiconv.ProviderNameCohere,
	"api.cohere.ai":     genaiconv.ProviderNameCohere,
}

// serverOf is p as the conventions name it. An OpenAICompatible provider
// is the vendor its host says, else openai: the conventions name a
// provider as the client knows it, and server.address tells the rest.
func serverOf(p proxyconfig.Provider) server {
	s := server{genai: genaiconv.ProviderNameOpenAI}
	switch p.Type {
	case proxyconfig.Anthropic:
		s.genai = genaiconv.ProviderNameAnthropic
	case proxyconfig.AzureOpenAI:
		s.genai = genaiconv.ProviderNameAzureAIOpenAI
	case proxyconfig.Gemini:
		s.genai = genaiconv.ProviderNameGCPGemini
	}
	u, err := url.Parse(p.BaseURL)
	if err != nil {
		return s
	}
	s.address = u.Hostname()
	s.port, err = strconv.Atoi(u.Port())
	if err != nil {
		s.port = 443
		if u.Scheme == "http" {
			s.port = 80
		}
	}
	if p.Type == proxyconfig.OpenAICompatible {
		if name, ok := compatibleHosts[s.address]; ok {
			s.genai = name
		}
	}
	return s
}

// servers are the providers of one loaded policy, by name.
type servers map[string]server

// serversOf are the providers of p (nil: none).
func serversOf(p *proxyconfig.Policy) servers {
	out := servers{}
	if p == nil {
		return out
	}
	for _, pc := range p.Providers {
		out[pc.Name] = serverOf(pc)
	}
	return out
}

// served is the provider that answered r when one did, else the one the
// app asked for, and whether a server of the policy answered (not
// Tollgate itself, with a cached or static answer).
func served(r *llmclient.Report) (name string, upstream bool) {
	name = r.Provider
	if r.Served.Provider != "" {
		name = r.Served.Provider
	}
	return name, !r.Static && !r.Stale && r.Cache != llmclient.CacheHit && r.Cache != llmclient.CacheSemanticHit
}

// spanName is the span's name: "{gen_ai.operation.name}
// {gen_ai.request.model}", the operation alone when the request names no
// model.
func spanName(op genaiconv.OperationNameAttr, model string) string {
	if model == "" {
		return string(op)
	}
	return string(op) + " " + model
}

// spanAttributes are the attributes of r's span: op is its operation
// ("" for none), srv the provider that answered or was asked.
func spanAttributes(r *llmclient.Report, op genaiconv.OperationNameAttr, srv server, upstream bool) []attribute.KeyValue {
	attrs := make([]attribute.KeyValue, 0, 32)
	if op != "" {
		attrs = append(attrs,
			semconv.GenAIOperationNameKey.String(string(op)),
			semconv.GenAIProviderNameKey.String(string(srv.genai)),
			semconv.GenAIRequestStream(r.Stream),
		)
		if r.Model != "" {
			attrs = append(attrs, semconv.GenAIRequestModel(llmclient.Bounded(r.Model)))
		}
		if r.ResponseModel != "" {
			attrs = append(attrs, semconv.GenAIResponseModel(llmclient.Bounded(r.ResponseModel)))
		}
		if u := r.Usage; u.Known {
			attrs = append(attrs,
				semconv.GenAIUsageInputTokens(int(u.InputTokens)),
				semconv.GenAIUsageOutputTokens(int(u.OutputTokens)),
			)
			if u.CachedInputTokens > 0 {
				attrs = append(attrs, semconv.GenAIUsageCacheReadInputTokens(int(u.CachedInputTokens)))
			}
			if w := u.CacheWriteTokens + u.CacheWrite1hTokens; w > 0 {
				attrs = append(attrs, semconv.GenAIUsageCacheCreationInputTokens(int(w)))
			}
			if u.ReasoningTokens > 0 {
				attrs = append(attrs, semconv.GenAIUsageReasoningOutputTokens(int(u.ReasoningTokens)))
			}
		}
		if firstChunk(r) {
			attrs = append(attrs, semconv.GenAIResponseTimeToFirstChunk(r.TTFT.Seconds()))
		}
	}
	if upstream && srv.address != "" {
		attrs = append(attrs, semconv.ServerAddress(srv.address), semconv.ServerPort(srv.port))
	}
	if r.Status != 0 {
		attrs = append(attrs, AttrHTTPStatus.Int(r.Status))
	}
	if e := r.ErrorType(); e != "" {
		attrs = append(attrs, semconv.ErrorTypeKey.String(e))
	}
	attrs = append(attrs,
		AttrPolicy.String(r.Policy),
		llmclient.AttrProvider.String(llmclient.Bounded(r.Provider)),
		AttrAttempts.Int(r.Attempts),
		AttrRung.Int(r.Rung),
	)
	if r.End != "" {
		attrs = append(attrs, AttrEnd.String(r.End))
	}
	switch {
	case r.Static:
		attrs = append(attrs, AttrServedBy.String(llmclient.FallbackStatic))
	case r.Stale:
		attrs = append(attrs, AttrServedBy.String(llmclient.FallbackCache))
	case r.Rung > 0:
		attrs = append(attrs, AttrServedBy.String(llmclient.Bounded(r.Served.String())))
	}
	switch {
	case r.Stale:
		attrs = append(attrs, AttrCache.String(cache.Stale))
	case r.Cache != "":
		attrs = append(attrs, AttrCache.String(r.Cache))
	}
	if r.Priced {
		attrs = append(attrs, AttrCost.String(r.CostUSD.String()))
	}
	if r.Estimated != "" {
		attrs = append(attrs, AttrEstimated.String(r.Estimated))
	}
	if r.BudgetState != "" {
		attrs = append(attrs, AttrBudget.String(r.BudgetState))
	}
	if r.BreakerState != "" {
		attrs = append(attrs, AttrBreaker.String(r.BreakerState))
	}
	if r.Validation != "" {
		attrs = append(attrs, AttrValidation.String(r.Validation))
	}
	if r.RequestID != "" {
		attrs = append(attrs, AttrRequestID.String(llmclient.Bounded(r.RequestID)))
	}
	return attrs
}

// firstChunk tells whether r is a stream whose first chunk reached the
// app: the only requests with a time to first chunk.
func firstChunk(r *llmclient.Report) bool {
	return r.Stream && r.Refusal == "" && r.AnswerBytes > 0
}

// metricAttributes are the attributes of r's measurements, besides the
// operation and provider names: each value comes from the loaded policy
// (models as modelLabel bounds them, servers) or a fixed set (error
// types), never from what the app sent as it is.
func metricAttributes(r *llmclient.Report, srv server, upstream bool, modelLabel func(provider, model string) string) []attribute.KeyValue {
	attrs := make([]attribute.KeyValue, 0, 5)
	if m := modelLabel(r.Provider, r.Model); m != "" {
		attrs = append(attrs, semconv.GenAIRequestModel(m))
	}
	if r.ResponseModel != "" {
		name, _ := served(r)
		if m := modelLabel(name, r.ResponseModel); m != "" {
			attrs = append(attrs, semconv.GenAIResponseModel(m))
		}
	}
	if upstream && srv.address != "" {
		attrs = append(attrs, semconv.ServerAddress(srv.address), semconv.ServerPort(srv.port))
	}
	if e := r.ErrorType(); e != "" {
		attrs = append(attrs, semconv.ErrorTypeKey.String(e))
	}
	return attrs
}

// errorTypes are the error.type values a span may end with when no
// report reached it: Tollgate's refusal codes.
var errorTypes = llmclient.RefusalCodes()

// knownErrorType is reason when it is one of errorTypes, else _OTHER.
func knownErrorType(reason string) string {
	if slices.Contains(errorTypes, reason) {
		return reason
	}
	return string(genaiconv.ErrorTypeOther)
}

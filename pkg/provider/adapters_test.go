package provider

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"

	"tollgate.dev/tollgate/pkg/policy"
	"tollgate.dev/tollgate/pkg/proxyconfig"
)

func TestAdapter_ChatCompletionsPath(t *testing.T) {
	tests := map[string]struct {
		provider proxyconfig.ProviderType
		want     string
	}{
		"OpenAI serves chat under /v1":                  {proxyconfig.OpenAI, "/v1/chat/completions"},
		"OpenAI-compatible servers follow OpenAI":       {proxyconfig.OpenAICompatible, "/v1/chat/completions"},
		"Anthropic's compatibility endpoint":            {proxyconfig.Anthropic, "/v1/chat/completions"},
		"Gemini's compatibility endpoint":               {proxyconfig.Gemini, "/v1beta/openai/chat/completions"},
		"Azure's v1 API, which takes the model by body": {proxyconfig.AzureOpenAI, "/openai/v1/chat/completions"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			a := adapterFor(t, tc.provider)
			assert.Equal(t, tc.want, a.ChatCompletionsPath())
			req, err := a.ParseRequest(http.MethodPost, a.ChatCompletionsPath(), []byte(`{"model":"m"}`))
			assert.NoError(t, err)
			assert.Equal(t, ShapeOpenAIChat, req.Shape, "the adapter reads its own chat path as chat")
		})
	}
}

func TestAdapter_SetCredentials(t *testing.T) {
	tests := map[string]struct {
		provider proxyconfig.ProviderType
		path     string
		key      string
		want     http.Header
	}{
		"OpenAI takes a Bearer token": {
			provider: proxyconfig.OpenAI, path: "/v1/chat/completions", key: "sk-proj",
			want: http.Header{"Authorization": {"Bearer sk-proj"}},
		},
		"OpenAI-compatible servers take a Bearer token": {
			provider: proxyconfig.OpenAICompatible, path: "/v1/models", key: "vllm-key",
			want: http.Header{"Authorization": {"Bearer vllm-key"}},
		},
		"Anthropic native paths take x-api-key": {
			provider: proxyconfig.Anthropic, path: "/v1/messages", key: "sk-ant",
			want: http.Header{"X-Api-Key": {"sk-ant"}},
		},
		"Anthropic's model listing takes x-api-key": {
			provider: proxyconfig.Anthropic, path: "/v1/models", key: "sk-ant",
			want: http.Header{"X-Api-Key": {"sk-ant"}},
		},
		"Anthropic's OpenAI-compatible chat takes a Bearer token": {
			provider: proxyconfig.Anthropic, path: "/v1/chat/completions", key: "sk-ant",
			want: http.Header{"Authorization": {"Bearer sk-ant"}},
		},
		"Azure takes api-key on deployment URLs": {
			provider: proxyconfig.AzureOpenAI, path: "/openai/deployments/d/chat/completions?api-version=2024-10-21", key: "az",
			want: http.Header{"Api-Key": {"az"}},
		},
		"Azure takes api-key on the v1 API": {
			provider: proxyconfig.AzureOpenAI, path: "/openai/v1/responses", key: "az",
			want: http.Header{"Api-Key": {"az"}},
		},
		"Gemini native paths take x-goog-api-key": {
			provider: proxyconfig.Gemini, path: "/v1beta/models/gemini-2.5-flash:generateContent", key: "AIza",
			want: http.Header{"X-Goog-Api-Key": {"AIza"}},
		},
		"Gemini's OpenAI-compatible paths take a Bearer token": {
			provider: proxyconfig.Gemini, path: "/v1beta/openai/chat/completions", key: "AIza",
			want: http.Header{"Authorization": {"Bearer AIza"}},
		},
		"an empty key removes the app's and sets none": {
			provider: proxyconfig.OpenAI, path: "/v1/chat/completions", key: "",
			want: http.Header{},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			h := http.Header{}
			h.Set("Authorization", "Bearer app-key")
			h.Set("x-api-key", "app-key")
			h.Set("api-key", "app-key")
			h.Set("x-goog-api-key", "app-key")
			h.Set("anthropic-version", "2023-06-01")
			adapterFor(t, tc.provider).SetCredentials(h, tc.path, tc.key)
			tc.want.Set("Anthropic-Version", "2023-06-01")
			assert.Equal(t, tc.want, h, "only the provider's header is left, other headers kept")
		})
	}
}

func TestAdapter_Classify(t *testing.T) {
	all := []proxyconfig.ProviderType{proxyconfig.OpenAI, proxyconfig.Anthropic, proxyconfig.AzureOpenAI, proxyconfig.Gemini, proxyconfig.OpenAICompatible}
	tests := map[string]struct {
		providers []proxyconfig.ProviderType
		status    int
		file      string
		cut       int // read only the first cut bytes of file
		want      policy.Failure
	}{
		"200 is no failure":                            {all, 200, "", 0, policy.NoFailure},
		"1xx and 3xx pass through":                     {all, 304, "", 0, policy.NoFailure},
		"400 is a client error":                        {all, 400, "", 0, policy.ClientError},
		"401 is a client error":                        {all, 401, "", 0, policy.ClientError},
		"404 is a client error":                        {all, 404, "", 0, policy.ClientError},
		"408 is a timeout":                             {all, 408, "", 0, policy.Timeout},
		"413 is a client error":                        {all, 413, "", 0, policy.ClientError},
		"429 is rate limited":                          {all, 429, "", 0, policy.RateLimited},
		"500 is a server error":                        {all, 500, "", 0, policy.ServerError},
		"503 is a server error":                        {all, 503, "", 0, policy.ServerError},
		"Anthropic's 529 overloaded is a server error": {all, 529, "anthropic/error_overloaded.json", 0, policy.ServerError},
		"OpenAI's rate limit 429 is rate limited": {
			[]proxyconfig.ProviderType{proxyconfig.OpenAI, proxyconfig.OpenAICompatible}, 429, "openai/error_rate_limit.json", 0, policy.RateLimited,
		},
		"OpenAI's insufficient_quota 429 is a client error: it does not pass with time": {
			[]proxyconfig.ProviderType{proxyconfig.OpenAI, proxyconfig.OpenAICompatible}, 429, "openai/error_insufficient_quota.json", 0, policy.ClientError,
		},
		"Azure's quota 429 is a client error": {
			[]proxyconfig.ProviderType{proxyconfig.AzureOpenAI}, 429, "azure/error_quota.json", 0, policy.ClientError,
		},
		"Azure's token rate limit 429 is rate limited": {
			[]proxyconfig.ProviderType{proxyconfig.AzureOpenAI}, 429, "azure/error_rate_limit.json", 0, policy.RateLimited,
		},
		"Gemini's RESOURCE_EXHAUSTED is rate limited": {
			[]proxyconfig.ProviderType{proxyconfig.Gemini}, 429, "gemini/error_resource_exhausted.json", 0, policy.RateLimited,
		},
		"an OpenAI-shaped quota body from Anthropic is still rate limited": {
			[]proxyconfig.ProviderType{proxyconfig.Anthropic, proxyconfig.Gemini}, 429, "openai/error_insufficient_quota.json", 0, policy.RateLimited,
		},
		"a quota body cut short is read as rate limited": {
			[]proxyconfig.ProviderType{proxyconfig.OpenAI}, 429, "openai/error_insufficient_quota.json", 80, policy.RateLimited,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var body []byte
			if tc.file != "" {
				body = testdata(t, tc.file)
			}
			if tc.cut > 0 {
				body = body[:tc.cut]
			}
			for _, p := range tc.providers {
				assert.Equal(t, tc.want, adapterFor(t, p).Classify(tc.status, http.Header{}, body), p)
			}
		})
	}
}

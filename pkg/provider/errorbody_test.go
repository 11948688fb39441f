package provider

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"tollgate.dev/tollgate/pkg/proxyconfig"
)

func TestAdapter_ErrorBody(t *testing.T) {
	const msg = `budget "team-a" is exhausted until 2025-08-01T00:00:00Z <see policy>`
	tests := map[string]struct {
		provider proxyconfig.ProviderType
		shape    Shape
		status   int
		code     string
		want     string
	}{
		"OpenAI chat, rate limited": {
			provider: proxyconfig.OpenAI, shape: ShapeOpenAIChat, status: 429, code: "tollgate_rate_limited",
			want: `{"error":{"message":"` + jsonMsg + `","type":"rate_limit_error","param":null,"code":"tollgate_rate_limited"}}`,
		},
		"OpenAI responses, bad request": {
			provider: proxyconfig.OpenAI, shape: ShapeOpenAIResponses, status: 400, code: "tollgate_bad_request",
			want: `{"error":{"message":"` + jsonMsg + `","type":"invalid_request_error","param":null,"code":"tollgate_bad_request"}}`,
		},
		"Azure, model not allowed": {
			provider: proxyconfig.AzureOpenAI, shape: ShapeOpenAIChat, status: 403, code: "tollgate_model_not_allowed",
			want: `{"error":{"message":"` + jsonMsg + `","type":"permission_error","param":null,"code":"tollgate_model_not_allowed"}}`,
		},
		"OpenAI-compatible, timeout": {
			provider: proxyconfig.OpenAICompatible, shape: ShapeOpenAIChat, status: 504, code: "tollgate_timeout",
			want: `{"error":{"message":"` + jsonMsg + `","type":"timeout_error","param":null,"code":"tollgate_timeout"}}`,
		},
		"OpenAI, other request, circuit open": {
			provider: proxyconfig.OpenAI, shape: ShapeOther, status: 503, code: "tollgate_circuit_open",
			want: `{"error":{"message":"` + jsonMsg + `","type":"server_error","param":null,"code":"tollgate_circuit_open"}}`,
		},
		"OpenAI, unknown provider": {
			provider: proxyconfig.OpenAI, shape: ShapeOther, status: 404, code: "tollgate_unknown_provider",
			want: `{"error":{"message":"` + jsonMsg + `","type":"not_found_error","param":null,"code":"tollgate_unknown_provider"}}`,
		},
		"OpenAI, budget exhausted as 402": {
			provider: proxyconfig.OpenAI, shape: ShapeOpenAIChat, status: 402, code: "tollgate_budget_exhausted",
			want: `{"error":{"message":"` + jsonMsg + `","type":"invalid_request_error","param":null,"code":"tollgate_budget_exhausted"}}`,
		},
		"Anthropic messages, overloaded circuit": {
			provider: proxyconfig.Anthropic, shape: ShapeAnthropicMessages, status: 503, code: "tollgate_circuit_open",
			want: `{"type":"error","error":{"type":"overloaded_error","message":"` + jsonMsg + `","code":"tollgate_circuit_open"}}`,
		},
		"Anthropic messages, upstream unavailable": {
			provider: proxyconfig.Anthropic, shape: ShapeAnthropicMessages, status: 502, code: "tollgate_upstream_unavailable",
			want: `{"type":"error","error":{"type":"api_error","message":"` + jsonMsg + `","code":"tollgate_upstream_unavailable"}}`,
		},
		"Anthropic messages, timeout": {
			provider: proxyconfig.Anthropic, shape: ShapeAnthropicMessages, status: 504, code: "tollgate_timeout",
			want: `{"type":"error","error":{"type":"timeout_error","message":"` + jsonMsg + `","code":"tollgate_timeout"}}`,
		},
		"Anthropic messages, rate limited": {
			provider: proxyconfig.Anthropic, shape: ShapeAnthropicMessages, status: 429, code: "tollgate_rate_limited",
			want: `{"type":"error","error":{"type":"rate_limit_error","message":"` + jsonMsg + `","code":"tollgate_rate_limited"}}`,
		},
		"Anthropic messages, authentication": {
			provider: proxyconfig.Anthropic, shape: ShapeAnthropicMessages, status: 401, code: "tollgate_bad_request",
			want: `{"type":"error","error":{"type":"authentication_error","message":"` + jsonMsg + `","code":"tollgate_bad_request"}}`,
		},
		"Anthropic's compat chat gets OpenAI's shape": {
			provider: proxyconfig.Anthropic, shape: ShapeOpenAIChat, status: 429, code: "tollgate_rate_limited",
			want: `{"error":{"message":"` + jsonMsg + `","type":"rate_limit_error","param":null,"code":"tollgate_rate_limited"}}`,
		},
		"Anthropic, other request, Anthropic's shape": {
			provider: proxyconfig.Anthropic, shape: ShapeOther, status: 404, code: "tollgate_unknown_provider",
			want: `{"type":"error","error":{"type":"not_found_error","message":"` + jsonMsg + `","code":"tollgate_unknown_provider"}}`,
		},
		"Gemini generate, rate limited": {
			provider: proxyconfig.Gemini, shape: ShapeGeminiGenerate, status: 429, code: "tollgate_rate_limited",
			want: `{"error":{"code":429,"message":"` + jsonMsg + `","status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"tollgate_rate_limited","domain":"tollgate.dev"}]}}`,
		},
		"Gemini generate, timeout": {
			provider: proxyconfig.Gemini, shape: ShapeGeminiGenerate, status: 504, code: "tollgate_timeout",
			want: `{"error":{"code":504,"message":"` + jsonMsg + `","status":"DEADLINE_EXCEEDED","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"tollgate_timeout","domain":"tollgate.dev"}]}}`,
		},
		"Gemini generate, circuit open": {
			provider: proxyconfig.Gemini, shape: ShapeGeminiGenerate, status: 503, code: "tollgate_circuit_open",
			want: `{"error":{"code":503,"message":"` + jsonMsg + `","status":"UNAVAILABLE","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"tollgate_circuit_open","domain":"tollgate.dev"}]}}`,
		},
		"Gemini, other request, model not allowed": {
			provider: proxyconfig.Gemini, shape: ShapeOther, status: 403, code: "tollgate_model_not_allowed",
			want: `{"error":{"code":403,"message":"` + jsonMsg + `","status":"PERMISSION_DENIED","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"tollgate_model_not_allowed","domain":"tollgate.dev"}]}}`,
		},
		"Gemini's compat chat gets OpenAI's shape": {
			provider: proxyconfig.Gemini, shape: ShapeOpenAIChat, status: 400, code: "tollgate_bad_request",
			want: `{"error":{"message":"` + jsonMsg + `","type":"invalid_request_error","param":null,"code":"tollgate_bad_request"}}`,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := adapterFor(t, tc.provider).ErrorBody(Request{Shape: tc.shape}, tc.status, tc.code, msg)
			assert.JSONEq(t, tc.want, string(got))
		})
	}
}

// jsonMsg is the message of TestAdapter_ErrorBody as a JSON string's inside.
const jsonMsg = `budget \"team-a\" is exhausted until 2025-08-01T00:00:00Z \u003csee policy\u003e`

func TestErrorStatusNames(t *testing.T) {
	tests := map[string]struct {
		status                          int
		wantOpenAI, wantAnthropic, want string
	}{
		"400": {400, "invalid_request_error", "invalid_request_error", "INVALID_ARGUMENT"},
		"401": {401, "authentication_error", "authentication_error", "UNAUTHENTICATED"},
		"403": {403, "permission_error", "permission_error", "PERMISSION_DENIED"},
		"402": {402, "invalid_request_error", "billing_error", "INVALID_ARGUMENT"},
		"404": {404, "not_found_error", "not_found_error", "NOT_FOUND"},
		"408": {408, "timeout_error", "timeout_error", "DEADLINE_EXCEEDED"},
		"409": {409, "invalid_request_error", "invalid_request_error", "ABORTED"},
		"413": {413, "invalid_request_error", "request_too_large", "INVALID_ARGUMENT"},
		"422": {422, "invalid_request_error", "invalid_request_error", "INVALID_ARGUMENT"},
		"429": {429, "rate_limit_error", "rate_limit_error", "RESOURCE_EXHAUSTED"},
		"500": {500, "server_error", "api_error", "INTERNAL"},
		"501": {501, "server_error", "api_error", "UNIMPLEMENTED"},
		"502": {502, "server_error", "api_error", "INTERNAL"},
		"503": {503, "server_error", "overloaded_error", "UNAVAILABLE"},
		"504": {504, "timeout_error", "timeout_error", "DEADLINE_EXCEEDED"},
		"529": {529, "server_error", "overloaded_error", "INTERNAL"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			assert.Equal(t, tc.wantOpenAI, openAIErrorType(tc.status))
			assert.Equal(t, tc.wantAnthropic, anthropicErrorType(tc.status))
			assert.Equal(t, tc.want, geminiStatus(tc.status))
		})
	}
}

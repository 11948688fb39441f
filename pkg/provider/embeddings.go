package provider

import "tollgate.dev/tollgate/pkg/proxyconfig"

// EmbeddingsPath is the path, relative to the base URL of a provider of
// type t, of its OpenAI-shaped embeddings endpoint (POST, {"model",
// "input"} in, {"data": [{"embedding": [...]}], "usage"} out), which the
// semantic cache calls. ok is false for Anthropic, which has none.
func EmbeddingsPath(t proxyconfig.ProviderType) (path string, ok bool) {
	switch t {
	case proxyconfig.OpenAI, proxyconfig.OpenAICompatible:
		return "/v1/embeddings", true
	case proxyconfig.AzureOpenAI:
		// The v1 API, where the body's model is the deployment, as for
		// the chat completions fallbacks go to.
		return "/openai/v1/embeddings", true
	case proxyconfig.Gemini:
		return "/v1beta/openai/embeddings", true
	}
	return "", false
}

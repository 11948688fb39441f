package provider

import "tollgate.dev/tollgate/pkg/proxyconfig"

// compatAdapter serves OpenAI-compatible servers (vLLM, Ollama, llama.cpp,
// LiteLLM, ...): OpenAI's request and answer shapes, paths and Bearer auth,
// so it is OpenAI's adapter under another type. Request routing matches
// the end of the path, so servers mounted without /v1 work too.
type compatAdapter struct{ openAIAdapter }

// Type is proxyconfig.OpenAICompatible.
func (compatAdapter) Type() proxyconfig.ProviderType { return proxyconfig.OpenAICompatible }

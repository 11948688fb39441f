package provider

import (
	"fmt"

	"tollgate.dev/tollgate/pkg/proxyconfig"
)

// AdapterFor returns the Adapter of provider type t, or an error for a
// type this version of Tollgate does not know.
func AdapterFor(t proxyconfig.ProviderType) (Adapter, error) {
	switch t {
	case proxyconfig.OpenAI:
		return openAIAdapter{}, nil
	case proxyconfig.Anthropic:
		return anthropicAdapter{}, nil
	case proxyconfig.AzureOpenAI:
		return azureAdapter{}, nil
	case proxyconfig.Gemini:
		return geminiAdapter{}, nil
	case proxyconfig.OpenAICompatible:
		return compatAdapter{}, nil
	}
	return nil, fmt.Errorf("unknown provider type %q: use one of %s, %s, %s, %s or %s",
		t, proxyconfig.OpenAI, proxyconfig.Anthropic, proxyconfig.AzureOpenAI,
		proxyconfig.Gemini, proxyconfig.OpenAICompatible)
}

// shapeCommon implements the Adapter methods that depend on the request's
// shape alone. Every provider type serves the OpenAI chat shape (natively or
// on a compatibility endpoint), so reading an answer is a matter of the
// shape asked for, not of who answers it.
type shapeCommon struct{}

// PrepareBody asks OpenAI-shaped streaming chat requests for the usage
// chunk; other bodies come back unchanged.
func (shapeCommon) PrepareBody(req Request, body []byte) ([]byte, error) {
	return prepareOpenAIChat(req, body)
}

// Usage reads token usage from a complete JSON answer of req's shape.
func (shapeCommon) Usage(req Request, body []byte) Usage {
	switch req.Shape {
	case ShapeOpenAIChat:
		return chatUsage(body)
	case ShapeOpenAIResponses:
		return responsesUsage(body)
	case ShapeOpenAIEmbeddings:
		return embeddingsUsage(body)
	case ShapeAnthropicMessages:
		return anthropicUsage(body)
	case ShapeGeminiGenerate:
		return geminiUsage(body)
	}
	return Usage{}
}

// NewStreamObserver returns the observer of req's shape.
func (shapeCommon) NewStreamObserver(req Request) StreamObserver {
	switch req.Shape {
	case ShapeOpenAIChat:
		return &chatObserver{dropUsageChunk: asksForStreamUsage(req)}
	case ShapeOpenAIResponses:
		return &responsesObserver{}
	case ShapeAnthropicMessages:
		return &anthropicObserver{}
	case ShapeGeminiGenerate:
		return &geminiObserver{}
	}
	return &passObserver{}
}

// StaticResponse renders content as an answer of req's shape.
func (shapeCommon) StaticResponse(req Request, content string) (string, []byte, bool) {
	return staticResponse(req, content)
}

package provider

import (
	"net/http"
	"strings"

	"tollgate.dev/tollgate/pkg/policy"
	"tollgate.dev/tollgate/pkg/proxyconfig"
	"tollgate.dev/tollgate/pkg/wire"
)

// openAIAdapter serves OpenAI's API: chat completions, the Responses API
// and embeddings under /v1, with Bearer auth.
type openAIAdapter struct{ shapeCommon }

// Type is proxyconfig.OpenAI.
func (openAIAdapter) Type() proxyconfig.ProviderType { return proxyconfig.OpenAI }

// ParseRequest reads POST .../chat/completions, .../responses and
// .../embeddings; every other request is ShapeOther.
func (openAIAdapter) ParseRequest(method, path string, body []byte) (Request, error) {
	return parseOpenAIRequest(method, path, body, "")
}

// WithModel rewrites the body's model.
func (openAIAdapter) WithModel(req Request, path string, body []byte, model string) (string, []byte, error) {
	return withModelInBody(req, path, body, model)
}

// ChatCompletionsPath is /v1/chat/completions.
func (openAIAdapter) ChatCompletionsPath() string { return "/v1/chat/completions" }

// SetCredentials sets Authorization: Bearer.
func (openAIAdapter) SetCredentials(h http.Header, _ string, key string) {
	setAuth(h, "Authorization", "Bearer ", key)
}

// Classify treats a 429 for an exhausted quota as a client error.
func (openAIAdapter) Classify(status int, _ http.Header, body []byte) policy.Failure {
	return classifyStatus(status, body, true)
}

// ErrorBody renders OpenAI's error shape unless the request is of another
// provider's shape.
func (openAIAdapter) ErrorBody(req Request, status int, code, message string) []byte {
	return errorBody(req.Shape, ShapeOpenAIChat, status, code, message)
}

// openAIShapeOf routes an OpenAI-shaped path by its last segments, so that
// the same rule serves /v1/chat/completions, Azure's
// /openai/v1/chat/completions and a server's bare /chat/completions.
func openAIShapeOf(path string) Shape {
	p := pathOnly(path)
	switch {
	case strings.HasSuffix(p, "/chat/completions"):
		return ShapeOpenAIChat
	case strings.HasSuffix(p, "/responses"):
		return ShapeOpenAIResponses
	case strings.HasSuffix(p, "/embeddings"):
		return ShapeOpenAIEmbeddings
	}
	return ShapeOther
}

// parseOpenAIRequest reads an OpenAI-shaped request. pathModel is the
// model named by the path (Azure deployments), which wins over the body's.
func parseOpenAIRequest(method, path string, body []byte, pathModel string) (Request, error) {
	shape := openAIShapeOf(path)
	if !isPost(method) || shape == ShapeOther {
		return Request{Shape: ShapeOther}, nil
	}
	return parseOpenAIBody(method, path, body, shape, pathModel)
}

// parseOpenAIBody reads the members policies need from the body of an
// OpenAI-shaped request: chat completions, Responses API or embeddings.
func parseOpenAIBody(method, path string, body []byte, shape Shape, pathModel string) (Request, error) {
	req := Request{Shape: shape}
	var maxTokens, maxCompletionTokens int64
	var includeUsage bool
	var messages, instructions, input int
	err := readObject(method, path, body, func(key, v []byte) {
		switch string(key) {
		case "model":
			req.Model = jsonString(v)
		case "stream":
			req.Stream = isTrue(v)
		case "temperature":
			req.Temperature = jsonFloat(v)
		case "max_tokens": // chat, before max_completion_tokens
			maxTokens = jsonTokens(v)
		case "max_completion_tokens": // chat
			maxCompletionTokens = jsonTokens(v)
		case "max_output_tokens": // responses
			maxTokens = jsonTokens(v)
		case "stream_options":
			includeUsage = memberIsTrue(v, "include_usage")
		case "messages": // chat
			messages = wire.TextBytes(v)
		case "instructions": // responses
			instructions = wire.TextBytes(v)
		case "input": // responses, embeddings
			input = wire.TextBytes(v)
		case "response_format": // chat
			if shape == ShapeOpenAIChat {
				req.Format, req.FormatMember = v, "response_format"
			}
		case "text": // responses: text.format
			if shape == ShapeOpenAIResponses {
				req.Format, req.FormatMember = v, "text"
			}
		}
	})
	if err != nil {
		return Request{}, err
	}
	switch shape {
	case ShapeOpenAIChat:
		// max_completion_tokens replaced max_tokens; a request may carry
		// either, and the newer one is what the provider honours.
		req.MaxTokens = maxCompletionTokens
		if req.MaxTokens == 0 {
			req.MaxTokens = maxTokens
		}
		req.PromptBytes = messages
		req.StreamUsageRequested = req.Stream && includeUsage
	case ShapeOpenAIResponses:
		req.MaxTokens = maxTokens
		req.PromptBytes = instructions + input
	case ShapeOpenAIEmbeddings:
		// Embeddings neither stream nor sample nor limit output.
		req.Stream, req.Temperature = false, nil
		req.PromptBytes = input
	}
	if pathModel != "" {
		req.Model = pathModel
	}
	return req, nil
}

// withModelInBody is WithModel for requests that name their model in the
// body. Requests of ShapeOther come back unchanged: they carry no model
// the proxy knows how to change.
func withModelInBody(req Request, path string, body []byte, model string) (string, []byte, error) {
	switch req.Shape {
	case ShapeOpenAIChat, ShapeOpenAIResponses, ShapeOpenAIEmbeddings, ShapeAnthropicMessages:
		out, err := withBodyModel(body, model)
		if err != nil {
			return "", nil, err
		}
		return path, out, nil
	}
	return path, body, nil
}

// setAuth deletes every auth header the app sent and sets name to
// prefix+key. With an empty key nothing is set: there is no credential to
// send, and the app's must not leak to another provider.
func setAuth(h http.Header, name, prefix, key string) {
	for _, n := range authHeaders {
		h.Del(n)
	}
	if key != "" {
		h.Set(name, prefix+key)
	}
}

// authHeaders are the headers that carry an API key to some provider.
var authHeaders = []string{"Authorization", "X-Api-Key", "Api-Key", "X-Goog-Api-Key"}

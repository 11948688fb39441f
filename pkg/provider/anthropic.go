package provider

import (
	"net/http"
	"strings"

	"tollgate.dev/tollgate/pkg/policy"
	"tollgate.dev/tollgate/pkg/proxyconfig"
	"tollgate.dev/tollgate/pkg/wire"
)

// anthropicAdapter serves Anthropic's Messages API (/v1/messages, x-api-key
// auth) and its OpenAI-compatible chat completions endpoint (Bearer auth).
type anthropicAdapter struct{ shapeCommon }

// Type is proxyconfig.Anthropic.
func (anthropicAdapter) Type() proxyconfig.ProviderType { return proxyconfig.Anthropic }

// ParseRequest reads POST .../messages and POST .../chat/completions;
// every other request (count_tokens, batches, models) is ShapeOther.
func (anthropicAdapter) ParseRequest(method, path string, body []byte) (Request, error) {
	if !isPost(method) {
		return Request{Shape: ShapeOther}, nil
	}
	p := pathOnly(path)
	switch {
	case strings.HasSuffix(p, "/messages"):
		return parseAnthropicBody(method, path, body)
	case strings.HasSuffix(p, "/chat/completions"):
		return parseOpenAIBody(method, path, body, ShapeOpenAIChat, "")
	}
	return Request{Shape: ShapeOther}, nil
}

// WithModel rewrites the body's model.
func (anthropicAdapter) WithModel(req Request, path string, body []byte, model string) (string, []byte, error) {
	return withModelInBody(req, path, body, model)
}

// ChatCompletionsPath is /v1/chat/completions, Anthropic's OpenAI SDK
// compatibility endpoint.
func (anthropicAdapter) ChatCompletionsPath() string { return "/v1/chat/completions" }

// SetCredentials sets x-api-key, or Authorization: Bearer on the
// OpenAI-compatible endpoint, which takes the key as OpenAI SDKs send it.
func (anthropicAdapter) SetCredentials(h http.Header, path string, key string) {
	if strings.HasSuffix(pathOnly(path), "/chat/completions") {
		setAuth(h, "Authorization", "Bearer ", key)
		return
	}
	setAuth(h, "X-Api-Key", "", key)
}

// Classify classifies by status; 529 overloaded is a server error.
func (anthropicAdapter) Classify(status int, _ http.Header, body []byte) policy.Failure {
	return classifyStatus(status, body, false)
}

// ErrorBody renders Anthropic's error shape, or OpenAI's for requests to
// the compatibility endpoint.
func (anthropicAdapter) ErrorBody(req Request, status int, code, message string) []byte {
	return errorBody(req.Shape, ShapeAnthropicMessages, status, code, message)
}

// parseAnthropicBody reads the members policies need from the body of a
// Messages API request.
func parseAnthropicBody(method, path string, body []byte) (Request, error) {
	req := Request{Shape: ShapeAnthropicMessages}
	var system, messages int
	err := readObject(method, path, body, func(key, v []byte) {
		switch string(key) {
		case "model":
			req.Model = jsonString(v)
		case "stream":
			req.Stream = isTrue(v)
		case "max_tokens":
			req.MaxTokens = jsonTokens(v)
		case "temperature":
			req.Temperature = jsonFloat(v)
		case "system":
			system = wire.TextBytes(v)
		case "messages":
			messages = wire.TextBytes(v)
		case "output_config":
			// output_config.format replaced the beta output_format; a
			// request with both is judged by the newer one, when it has
			// a format.
			if _, ok := wire.TopLevelValue(v, "format"); ok {
				req.Format, req.FormatMember = v, "output_config"
			}
		case "output_format":
			if req.FormatMember != "output_config" {
				req.Format, req.FormatMember = v, "output_format"
			}
		}
	})
	if err != nil {
		return Request{}, err
	}
	req.PromptBytes = system + messages
	return req, nil
}

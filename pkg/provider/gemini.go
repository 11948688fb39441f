package provider

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"tollgate.dev/tollgate/pkg/policy"
	"tollgate.dev/tollgate/pkg/proxyconfig"
	"tollgate.dev/tollgate/pkg/wire"
)

// geminiAdapter serves the Gemini API: native generateContent and
// streamGenerateContent (/v1beta/models/{model}:..., or /v1/...), where the
// path names the model, with x-goog-api-key auth; and its OpenAI-compatible
// endpoints under /v1beta/openai/, with Bearer auth.
type geminiAdapter struct{ shapeCommon }

// Type is proxyconfig.Gemini.
func (geminiAdapter) Type() proxyconfig.ProviderType { return proxyconfig.Gemini }

// ParseRequest reads generateContent and streamGenerateContent requests
// and OpenAI-shaped requests under /openai/; every other request
// (countTokens, embedContent, model listing) is ShapeOther.
//
// A streamGenerateContent request is a stream whether or not it asks for
// SSE (?alt=sse): without it the answer is a JSON array sent piece by
// piece, whose usage Usage reads once the whole array is in.
func (geminiAdapter) ParseRequest(method, path string, body []byte) (Request, error) {
	if isGeminiOpenAIPath(path) {
		return parseOpenAIRequest(method, path, body, "")
	}
	m, ok := geminiModelInPath(path)
	if !isPost(method) || !ok {
		return Request{Shape: ShapeOther}, nil
	}
	switch m.method {
	case "generateContent", "streamGenerateContent":
	default:
		return Request{Shape: ShapeOther}, nil
	}
	req := Request{
		Shape:  ShapeGeminiGenerate,
		Model:  m.model,
		Stream: m.method == "streamGenerateContent",
	}
	// The API takes proto field names in either JSON spelling.
	var contents, system int
	err := readObject(method, path, body, func(key, v []byte) {
		switch string(key) {
		case "contents":
			contents = wire.TextBytes(v)
		case "systemInstruction", "system_instruction":
			system = wire.TextBytes(v)
		case "generationConfig", "generation_config":
			config, member := v, string(key)
			_ = eachMember(v, func(key, v []byte) {
				switch string(key) {
				case "maxOutputTokens", "max_output_tokens":
					req.MaxTokens = jsonTokens(v)
				case "temperature":
					req.Temperature = jsonFloat(v)
				case "responseMimeType", "response_mime_type":
					// Only a config that names a MIME type may ask for JSON.
					req.Format, req.FormatMember = config, member
				}
			})
		}
	})
	if err != nil {
		return Request{}, err
	}
	req.PromptBytes = contents + system
	return req, nil
}

// WithModel rewrites the model in the path of a native request, or the
// body's model of an OpenAI-shaped one.
func (geminiAdapter) WithModel(req Request, path string, body []byte, model string) (string, []byte, error) {
	if req.Shape != ShapeGeminiGenerate {
		return withModelInBody(req, path, body, model)
	}
	m, ok := geminiModelInPath(path)
	if !ok {
		return "", nil, fmt.Errorf("set Gemini model: path %s names no model", pathOnly(path))
	}
	if model == "" {
		return "", nil, fmt.Errorf("set Gemini model in %s: the model is empty", pathOnly(path))
	}
	// Gemini model names may be written with their collection prefix.
	model = strings.TrimPrefix(model, "models/")
	return path[:m.start] + url.PathEscape(model) + path[m.end:], body, nil
}

// ChatCompletionsPath is /v1beta/openai/chat/completions.
func (geminiAdapter) ChatCompletionsPath() string { return "/v1beta/openai/chat/completions" }

// SetCredentials sets x-goog-api-key, or Authorization: Bearer on the
// OpenAI-compatible endpoints, which take the key as OpenAI SDKs send it.
// A key the app put in the query (?key=) is left alone.
func (geminiAdapter) SetCredentials(h http.Header, path string, key string) {
	if isGeminiOpenAIPath(path) {
		setAuth(h, "Authorization", "Bearer ", key)
		return
	}
	setAuth(h, "X-Goog-Api-Key", "", key)
}

// Classify classifies by status. Gemini reports quota and rate limits
// alike as 429 RESOURCE_EXHAUSTED, so every 429 is RateLimited.
func (geminiAdapter) Classify(status int, _ http.Header, body []byte) policy.Failure {
	return classifyStatus(status, body, false)
}

// ErrorBody renders Google's error shape, or OpenAI's for requests to the
// compatibility endpoints.
func (geminiAdapter) ErrorBody(req Request, status int, code, message string) []byte {
	return errorBody(req.Shape, ShapeGeminiGenerate, status, code, message)
}

// isGeminiOpenAIPath reports whether path is under the OpenAI-compatible
// endpoints (/v1beta/openai/...).
func isGeminiOpenAIPath(path string) bool {
	return strings.Contains(pathOnly(path), "/openai/")
}

// geminiPathModel is the model named by a native path
// (.../models/{model}:{method}).
type geminiPathModel struct {
	model, method string
	start, end    int // the model's byte range in the path
}

// geminiModelInPath finds the model and method of a native path.
func geminiModelInPath(path string) (geminiPathModel, bool) {
	const marker = "/models/"
	p := pathOnly(path)
	i := strings.LastIndex(p, marker)
	if i < 0 {
		return geminiPathModel{}, false
	}
	start := i + len(marker)
	rest := p[start:]
	colon := strings.IndexByte(rest, ':')
	if colon <= 0 || strings.Contains(rest[:colon], "/") {
		return geminiPathModel{}, false
	}
	raw := rest[:colon]
	model, err := url.PathUnescape(raw)
	if err != nil {
		model = raw
	}
	return geminiPathModel{
		model:  model,
		method: rest[colon+1:],
		start:  start,
		end:    start + colon,
	}, true
}

package mockprovider

import (
	"net/http"
	"strings"
)

// API names an API the mock serves, as recorded in Request.API. The values
// match the sidecar's request shapes.
type API string

// APIs.
const (
	// APIUnknown is any path the mock does not serve; it answers 404.
	APIUnknown API = ""
	// APIOpenAIChat is POST .../chat/completions.
	APIOpenAIChat API = "openai.chat"
	// APIOpenAIResponses is POST .../responses.
	APIOpenAIResponses API = "openai.responses"
	// APIOpenAIEmbeddings is POST .../embeddings.
	APIOpenAIEmbeddings API = "openai.embeddings"
	// APIOpenAIModels is GET .../models.
	APIOpenAIModels API = "openai.models"
	// APIAnthropicMessages is POST /v1/messages.
	APIAnthropicMessages API = "anthropic.messages"
	// APIGeminiGenerate is POST .../models/{model}:generateContent and
	// :streamGenerateContent.
	APIGeminiGenerate API = "gemini.generate"
)

// endpoint is one API the mock answers.
type endpoint struct {
	api    API
	method string
	errors errorShape
	// answer builds the normal (2xx) answer to c.
	answer func(c *call, e *encoder) reply
}

// The endpoints. Their answer functions live in the file of their provider.
var (
	openAIChat       = &endpoint{api: APIOpenAIChat, method: http.MethodPost, errors: openAIErrors, answer: chatAnswer}
	openAIResponses  = &endpoint{api: APIOpenAIResponses, method: http.MethodPost, errors: openAIErrors, answer: responsesAnswer}
	openAIEmbeddings = &endpoint{api: APIOpenAIEmbeddings, method: http.MethodPost, errors: openAIErrors, answer: embeddingsAnswer}
	openAIModels     = &endpoint{api: APIOpenAIModels, method: http.MethodGet, errors: openAIErrors, answer: modelsAnswer}
	anthropicMsgs    = &endpoint{api: APIAnthropicMessages, method: http.MethodPost, errors: anthropicErrors, answer: anthropicAnswer}
	geminiGenerate   = &endpoint{api: APIGeminiGenerate, method: http.MethodPost, errors: geminiErrors, answer: geminiAnswer}
)

// route finds the endpoint for path, with the model and stream flag the
// path itself carries (Gemini, Azure deployments). The match is on path
// suffixes so that every base URL an SDK may be given works (/v1,
// /openai/v1, /v1beta/openai, Azure deployments). A nil endpoint means
// the path is not served; errs is then the error shape to refuse it in.
func route(path string) (ep *endpoint, model string, stream bool, errs errorShape) {
	// Gemini: .../models/{model}:{action}
	if i := strings.Index(path, "/models/"); i >= 0 {
		if j := strings.LastIndexByte(path, ':'); j > i {
			model = path[i+len("/models/") : j]
			switch path[j+1:] {
			case "generateContent":
				return geminiGenerate, model, false, geminiErrors
			case "streamGenerateContent":
				return geminiGenerate, model, true, geminiErrors
			}
			return nil, "", false, geminiErrors
		}
	}
	// Azure: /openai/deployments/{deployment}/..., where the deployment
	// stands for the model.
	if rest, ok := strings.CutPrefix(path, "/openai/deployments/"); ok {
		if deployment, tail, ok := strings.Cut(rest, "/"); ok {
			model, path = deployment, "/"+tail
		}
	}
	switch {
	case strings.HasSuffix(path, "/chat/completions"):
		return openAIChat, model, false, openAIErrors
	case strings.HasSuffix(path, "/responses"):
		return openAIResponses, model, false, openAIErrors
	case strings.HasSuffix(path, "/embeddings"):
		return openAIEmbeddings, model, false, openAIErrors
	case strings.HasSuffix(path, "/messages"):
		return anthropicMsgs, model, false, anthropicErrors
	case strings.HasSuffix(path, "/models"):
		return openAIModels, model, false, openAIErrors
	}
	return nil, "", false, openAIErrors
}

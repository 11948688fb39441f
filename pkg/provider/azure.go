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

// azureAdapter serves Azure OpenAI: deployment URLs
// (/openai/deployments/{deployment}/chat/completions?api-version=...), where
// the deployment names the model, and the v1 API (/openai/v1/...), where the
// body does. Auth is the api-key header.
type azureAdapter struct{ shapeCommon }

// Type is proxyconfig.AzureOpenAI.
func (azureAdapter) Type() proxyconfig.ProviderType { return proxyconfig.AzureOpenAI }

// ParseRequest reads chat completions, responses and embeddings requests
// of either URL style; the model of a deployment URL is the deployment.
func (azureAdapter) ParseRequest(method, path string, body []byte) (Request, error) {
	dep, _, _, _ := azureDeployment(path)
	req, err := parseOpenAIRequest(method, path, body, dep)
	if err == nil && req.Shape == ShapeOpenAIChat {
		req.StreamOptionsUnsupported = !takesStreamOptions(path)
	}
	return req, err
}

// PrepareBody asks streaming chat requests for the usage chunk, unless
// their API version refuses stream_options.
func (a azureAdapter) PrepareBody(req Request, body []byte) ([]byte, error) {
	if req.StreamOptionsUnsupported {
		return body, nil
	}
	return a.shapeCommon.PrepareBody(req, body)
}

// NewStreamObserver returns the observer of req's shape; a chat stream
// whose API version took no stream_options had nothing asked for on the
// app's behalf, so nothing of it is dropped.
func (a azureAdapter) NewStreamObserver(req Request) StreamObserver {
	if req.StreamOptionsUnsupported && req.Shape == ShapeOpenAIChat {
		return &chatObserver{}
	}
	return a.shapeCommon.NewStreamObserver(req)
}

// WithModel rewrites the deployment of a deployment URL (and the body's
// model, if it names one, to keep the two consistent), or else the body's
// model.
func (azureAdapter) WithModel(req Request, path string, body []byte, model string) (string, []byte, error) {
	_, start, end, ok := azureDeployment(path)
	if !ok || req.Shape == ShapeOther {
		return withModelInBody(req, path, body, model)
	}
	if model == "" {
		return "", nil, fmt.Errorf("set Azure OpenAI deployment in %s: the model is empty", pathOnly(path))
	}
	newPath := path[:start] + url.PathEscape(model) + path[end:]
	if _, has := wire.TopLevelValue(body, "model"); !has {
		return newPath, body, nil
	}
	newBody, err := withBodyModel(body, model)
	if err != nil {
		return "", nil, err
	}
	return newPath, newBody, nil
}

// ChatCompletionsPath is the v1 API's /openai/v1/chat/completions, which
// takes the model (deployment name) in the body like OpenAI's.
func (azureAdapter) ChatCompletionsPath() string { return "/openai/v1/chat/completions" }

// SetCredentials sets the api-key header.
func (azureAdapter) SetCredentials(h http.Header, _ string, key string) {
	setAuth(h, "Api-Key", "", key)
}

// Classify treats a 429 for an exhausted quota as a client error.
func (azureAdapter) Classify(status int, _ http.Header, body []byte) policy.Failure {
	return classifyStatus(status, body, true)
}

// ErrorBody renders OpenAI's error shape, which Azure OpenAI shares.
func (azureAdapter) ErrorBody(req Request, status int, code, message string) []byte {
	return errorBody(req.Shape, ShapeOpenAIChat, status, code, message)
}

// azureDeployment finds the deployment segment of a deployment URL: its
// unescaped name and its byte range in path.
func azureDeployment(path string) (name string, start, end int, ok bool) {
	const marker = "/deployments/"
	p := pathOnly(path)
	i := strings.Index(p, marker)
	if i < 0 {
		return "", 0, 0, false
	}
	start = i + len(marker)
	end = start + strings.IndexByte(p[start:], '/')
	if end < start {
		end = len(p) // no operation after the deployment
	}
	if end == start {
		return "", 0, 0, false
	}
	name, err := url.PathUnescape(p[start:end])
	if err != nil {
		name = p[start:end]
	}
	return name, start, end, true
}

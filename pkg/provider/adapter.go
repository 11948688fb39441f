package provider

import (
	"errors"
	"net/http"

	"tollgate.dev/tollgate/pkg/policy"
	"tollgate.dev/tollgate/pkg/proxyconfig"
	"tollgate.dev/tollgate/pkg/wire"
)

// Shape is the API shape of a request: what its body and its answer look
// like. Fallbacks need it to know which providers can take a request.
type Shape string

// Request shapes.
const (
	// ShapeOpenAIChat is an OpenAI chat completions request (POST
	// .../chat/completions), as served by every provider type: natively by
	// OpenAI, Azure OpenAI and OpenAI-compatible servers, and by the
	// OpenAI-compatible endpoints of Anthropic and Gemini.
	ShapeOpenAIChat Shape = "openai.chat"
	// ShapeOpenAIResponses is an OpenAI Responses API request (.../responses).
	ShapeOpenAIResponses Shape = "openai.responses"
	// ShapeOpenAIEmbeddings is an OpenAI embeddings request (.../embeddings).
	ShapeOpenAIEmbeddings Shape = "openai.embeddings"
	// ShapeAnthropicMessages is an Anthropic Messages API request (/v1/messages).
	ShapeAnthropicMessages Shape = "anthropic.messages"
	// ShapeGeminiGenerate is a Gemini generateContent or
	// streamGenerateContent request (/v1beta/models/<model>:generateContent).
	ShapeGeminiGenerate Shape = "gemini.generate"
	// ShapeOther is any other request (model listing, files, ...): passed
	// through under the policy's timeouts, retries and breaker, without
	// usage accounting.
	ShapeOther Shape = "other"
)

// Request is what policies need to know about one request to a provider.
type Request struct {
	Shape Shape
	// Model is the requested model, from the body or (Gemini, Azure
	// deployments) the path; "" when the request names none.
	Model string
	// Stream is true when the app asked for a streamed (SSE) answer.
	Stream bool
	// MaxTokens is the output token limit the request sets (max_tokens,
	// max_completion_tokens, max_output_tokens, maxOutputTokens), or 0.
	MaxTokens int64
	// Temperature is the request's sampling temperature, or nil when the
	// request does not set one.
	Temperature *float64
	// PromptBytes is the size in bytes of the prompt's text (messages,
	// system prompt, input, contents), for estimating input tokens.
	PromptBytes int
	// StreamUsageRequested is true when an OpenAI-shaped streaming request
	// itself set stream_options.include_usage, so the final usage chunk is
	// the app's and must reach it.
	StreamUsageRequested bool
	// Format is the raw JSON value of the request member that says what
	// form the answer takes (response_format, text, output_config,
	// output_format, generationConfig), nil when the request has none; a
	// slice of the request body, read only with ParseOutputFormat, and
	// only when the policy validates answers. FormatMember names it.
	Format       []byte
	FormatMember string
	// StreamOptionsUnsupported is set by the Azure OpenAI adapter on chat
	// requests to a deployment URL whose api-version predates
	// stream_options (before 2024-09-01-preview), or names no version it
	// can read: Azure refuses the option there with a 400, so the body goes
	// as the app wrote it and a stream's usage stays unknown. Only the
	// Azure adapter acts on it; a fallback to another provider type, which
	// gets that provider's own path, asks for usage as usual.
	StreamOptionsUnsupported bool
}

// Usage is the token usage of one answer.
type Usage struct {
	// InputTokens counts every input token: those read from and written to
	// the provider's prompt cache included.
	InputTokens int64
	// CachedInputTokens is the part of InputTokens read from the provider's
	// prompt cache (priced differently).
	CachedInputTokens int64
	// CacheWriteTokens is the part of InputTokens written to the prompt
	// cache for Anthropic's standard 5-minute lifetime, or for a lifetime
	// the answer does not say; priced at the cache-write rate.
	CacheWriteTokens int64
	// CacheWrite1hTokens is the part of InputTokens written to Anthropic's
	// one-hour prompt cache, priced at the one-hour cache-write rate.
	CacheWrite1hTokens int64
	// OutputTokens counts every output token, reasoning ones included.
	OutputTokens int64
	// Known is false when the answer carried no usage.
	Known bool
}

// ErrBadRequest is wrapped by Adapter.ParseRequest errors: the body is not
// the JSON the path calls for. The sidecar refuses such requests with
// tollgate_bad_request instead of sending them upstream.
var ErrBadRequest = errors.New("bad request")

// Adapter knows one provider type's API. Adapters are stateless and safe
// for concurrent use.
type Adapter interface {
	// Type is the provider type the adapter serves.
	Type() proxyconfig.ProviderType

	// ParseRequest reads a request the app sent to path (what follows the
	// sidecar's route prefix, e.g. "/v1/chat/completions", with the query
	// if the request has one: Azure's api-version is read from it). A body that is
	// not valid JSON where the path expects JSON gives an error wrapping
	// ErrBadRequest. Paths the adapter does not know give ShapeOther.
	ParseRequest(method, path string, body []byte) (Request, error)

	// PrepareBody returns the body to send upstream. For OpenAI-shaped
	// streaming chat requests that do not set stream_options.include_usage
	// it adds it where the provider's API takes it, so usage can be read
	// from the stream (the extra chunk is then dropped by the
	// StreamObserver). Other bodies come back unchanged.
	PrepareBody(req Request, body []byte) ([]byte, error)

	// WithModel returns path and body rewritten to request model instead of
	// req.Model (in the body, or in the path for Gemini and Azure
	// deployment URLs).
	WithModel(req Request, path string, body []byte, model string) (newPath string, newBody []byte, err error)

	// ChatCompletionsPath is the path, relative to the provider's base URL,
	// of its OpenAI-compatible chat completions endpoint, for fallbacks of
	// ShapeOpenAIChat requests from another provider.
	ChatCompletionsPath() string

	// SetCredentials sets the provider's auth header for a request to path
	// from key, deleting every auth header the app sent.
	SetCredentials(h http.Header, path string, key string)

	// Usage reads token usage from a complete, non-streamed JSON answer.
	Usage(req Request, body []byte) Usage

	// NewStreamObserver returns an observer for the SSE events of one
	// streamed answer to req.
	NewStreamObserver(req Request) StreamObserver

	// Classify tells whether an answer with this status is a failure, and
	// which kind. body holds at most the first 64 KiB of an error answer.
	Classify(status int, header http.Header, body []byte) policy.Failure

	// ErrorBody renders one of Tollgate's own refusals in the provider's
	// error shape, carrying code (such as tollgate_timeout) where the
	// provider's SDKs surface it.
	ErrorBody(req Request, status int, code, message string) []byte

	// StaticResponse renders content as a complete successful answer to req,
	// as JSON or, when req.Stream, as an SSE stream. ok is false for shapes
	// that have no text answer (embeddings, other).
	StaticResponse(req Request, content string) (contentType string, body []byte, ok bool)
}

// StreamObserver reads usage from the events of one SSE stream as they pass
// through, in order. It is used by one goroutine.
type StreamObserver interface {
	// Observe is called with each event before it is sent to the app. It
	// returns the bytes to send in its place: ev.Raw, or, for a chat chunk
	// carrying the "usage":null the sidecar's request for usage added, a
	// copy without it, valid until the next call. keep is false for events
	// the app must not see (the usage chunk the sidecar asked for on the
	// app's behalf).
	Observe(ev wire.Event) (raw []byte, keep bool)
	// Usage is the usage seen so far.
	Usage() Usage
}

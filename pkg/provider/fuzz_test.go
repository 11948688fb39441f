package provider

import (
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tollgate.dev/tollgate/pkg/proxyconfig"
	"tollgate.dev/tollgate/pkg/wire"
)

// fuzzPaths are the paths FuzzParseRequest sends bodies to, one per shape
// and provider routing rule.
var fuzzPaths = []string{
	"/v1/chat/completions",
	"/v1/responses",
	"/v1/embeddings",
	"/v1/messages",
	"/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21",
	"/v1beta/models/gemini-2.5-flash:generateContent",
	"/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
	"/v1beta/openai/chat/completions",
	"/v1/models",
}

func FuzzParseRequest(f *testing.F) {
	for _, dir := range []string{"openai", "anthropic", "azure", "gemini", "compat"} {
		files, err := filepath.Glob(filepath.Join("testdata", dir, "*.json"))
		require.NoError(f, err)
		for _, file := range files {
			b, err := os.ReadFile(file)
			require.NoError(f, err)
			f.Add(uint8(0), b)
		}
	}
	f.Add(uint8(0), []byte(`{"model":"m","stream":true,"stream_options":null,"messages":[{"content":"\ud83d"}]}`))
	f.Add(uint8(1), []byte(`{"stream":true,"stream_options":{"include_usage":false},"stream_options":{}}`))
	f.Add(uint8(5), []byte(`{"generationConfig":{"maxOutputTokens":1e99},"contents":[{"parts":[{"text":"\u00e9"}]}]}`))

	adapters := map[proxyconfig.ProviderType]Adapter{}
	for _, p := range []proxyconfig.ProviderType{proxyconfig.OpenAI, proxyconfig.Anthropic, proxyconfig.AzureOpenAI, proxyconfig.Gemini, proxyconfig.OpenAICompatible} {
		adapters[p] = adapterFor(f, p)
	}
	f.Fuzz(func(t *testing.T, pathIndex uint8, body []byte) {
		path := fuzzPaths[int(pathIndex)%len(fuzzPaths)]
		for p, a := range adapters {
			req, err := a.ParseRequest(http.MethodPost, path, body)
			if err != nil {
				require.ErrorIs(t, err, ErrBadRequest, "%s %s", p, path)
				require.False(t, json.Valid(body) && body[wire.SkipSpace(body, 0)] == '{', "%s: a JSON object is never refused", p)
				continue
			}
			require.GreaterOrEqual(t, req.MaxTokens, int64(0))
			require.GreaterOrEqual(t, req.PromptBytes, 0)
			require.LessOrEqual(t, req.PromptBytes, len(body), "prompt text is never longer than its encoding")
			if req.Shape == ShapeOther {
				continue
			}
			// What the proxy then does with a request it has read must work.
			prepared, err := a.PrepareBody(req, body)
			require.NoError(t, err, "%s %s", p, path)
			require.True(t, json.Valid(prepared))
			again, err := a.ParseRequest(http.MethodPost, path, prepared)
			require.NoError(t, err)
			if req.Shape == ShapeOpenAIChat && req.Stream {
				require.True(t, again.StreamUsageRequested, "%s: PrepareBody asks for usage", p)
			}
			again.StreamUsageRequested = req.StreamUsageRequested
			require.Equal(t, req, again, "%s: PrepareBody changes nothing policies read", p)

			newPath, newBody, err := a.WithModel(req, path, prepared, "fuzz-model")
			require.NoError(t, err, "%s %s", p, path)
			moved, err := a.ParseRequest(http.MethodPost, newPath, newBody)
			require.NoError(t, err)
			require.Equal(t, "fuzz-model", moved.Model, "%s %s", p, path)

			a.Usage(req, body)
			obs := a.NewStreamObserver(req)
			obs.Observe(wire.Event{Data: body})
			for _, status := range []int{200, 400, 408, 429, 503, 529} {
				a.Classify(status, http.Header{}, body)
			}
		}
	})
}

func TestFuzzSeeds_BadRequestsWrapErrBadRequest(t *testing.T) {
	// A guard for the fuzz invariant itself: ErrBadRequest is what callers
	// branch on.
	_, err := adapterFor(t, proxyconfig.OpenAI).ParseRequest(http.MethodPost, "/v1/chat/completions", []byte("{"))
	assert.True(t, errors.Is(err, ErrBadRequest))
}

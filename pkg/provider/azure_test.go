package provider

import (
	"bytes"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tollgate.dev/tollgate/pkg/proxyconfig"
	"tollgate.dev/tollgate/pkg/wire"
)

func TestAzure_AsksForStreamUsageOnlyWhereTheAPIVersionTakesIt(t *testing.T) {
	const body = `{"messages":[{"role":"user","content":"hi"}],"stream":true}`
	const withUsage = `{"messages":[{"role":"user","content":"hi"}],"stream":true,"stream_options":{"include_usage":true}}`
	tests := map[string]struct {
		path     string
		wantBody string
	}{
		"2024-06-01, the GA version before stream_options, refuses it": {
			path: "/openai/deployments/gpt-4o/chat/completions?api-version=2024-06-01", wantBody: body,
		},
		"2024-08-01-preview refuses it": {
			path: "/openai/deployments/gpt-4o/chat/completions?api-version=2024-08-01-preview", wantBody: body,
		},
		"2024-09-01-preview, the first version with stream_options, takes it": {
			path: "/openai/deployments/gpt-4o/chat/completions?api-version=2024-09-01-preview", wantBody: withUsage,
		},
		"2024-10-21 GA takes it": {
			path: "/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21", wantBody: withUsage,
		},
		"a later preview takes it, with other query parameters around": {
			path: "/openai/deployments/gpt-4o/chat/completions?x=1&api-version=2025-04-01-preview&y=2", wantBody: withUsage,
		},
		"the v1 API takes it whatever its api-version": {
			path: "/openai/v1/chat/completions?api-version=preview", wantBody: withUsage,
		},
		"the v1 API takes it without an api-version": {
			path: "/openai/v1/chat/completions", wantBody: withUsage,
		},
		"a base URL ending in /openai/v1 is the v1 API": {
			path: "/chat/completions", wantBody: withUsage,
		},
		"a deployment URL without api-version is left as the app wrote it": {
			path: "/openai/deployments/gpt-4o/chat/completions", wantBody: body,
		},
		"an api-version that is not a date is left alone": {
			path: "/openai/deployments/gpt-4o/chat/completions?api-version=latest", wantBody: body,
		},
		"an api-version with a date and junk is left alone": {
			path: "/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21x", wantBody: body,
		},
		"a query that does not parse is left alone": {
			path: "/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21&%zz", wantBody: body,
		},
	}
	a := adapterFor(t, proxyconfig.AzureOpenAI)
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			req, err := a.ParseRequest(http.MethodPost, tc.path, []byte(body))
			require.NoError(t, err)
			got, err := a.PrepareBody(req, []byte(body))
			require.NoError(t, err)
			assert.Equal(t, tc.wantBody, string(got))
			assert.Equal(t, tc.wantBody == body, req.StreamOptionsUnsupported)
		})
	}
}

func TestAzure_AStreamOfAnOldVersionKeepsEveryChunkAndHasUnknownUsage(t *testing.T) {
	a := adapterFor(t, proxyconfig.AzureOpenAI)
	req, err := a.ParseRequest(http.MethodPost, "/openai/deployments/gpt-4o/chat/completions?api-version=2024-06-01", []byte(`{"stream":true,"messages":[]}`))
	require.NoError(t, err)
	obs := a.NewStreamObserver(req)
	for _, ev := range readAll(t, bytes.NewReader(testdata(t, "azure/chat_stream.sse"))) {
		if string(ev.Data) == "[DONE]" || wire.MayHaveObjectMember(ev.Data, `"usage"`) {
			continue // the recording asked for usage; an old version sends none
		}
		_, keep := obs.Observe(ev)
		assert.True(t, keep, "nothing was asked for on the app's behalf, so nothing is dropped")
	}
	assert.False(t, obs.Usage().Known)

	// Were the provider to send a usage chunk anyway, the app would get it.
	_, keep := obs.Observe(wire.Event{Data: []byte(`{"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":2}}`)})
	assert.True(t, keep)
}

func TestAzure_AFallbackToAnotherProviderTypeAsksForUsageAsUsual(t *testing.T) {
	const body = `{"model":"gpt-4o","stream":true,"messages":[]}`
	req, err := adapterFor(t, proxyconfig.AzureOpenAI).ParseRequest(http.MethodPost, "/openai/deployments/gpt-4o/chat/completions?api-version=2024-06-01", []byte(body))
	require.NoError(t, err)
	require.True(t, req.StreamOptionsUnsupported)
	openai := adapterFor(t, proxyconfig.OpenAI)
	got, err := openai.PrepareBody(req, []byte(body))
	require.NoError(t, err)
	assert.Equal(t, `{"model":"gpt-4o","stream":true,"messages":[],"stream_options":{"include_usage":true}}`, string(got))
	_, keep := openai.NewStreamObserver(req).Observe(wire.Event{Data: []byte(`{"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":2}}`)})
	assert.False(t, keep, "the usage chunk OpenAI was asked for is the proxy's")
}

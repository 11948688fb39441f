package sidecare2e

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tollgate.dev/tollgate/pkg/llmclient"
)

// pathsPolicy allows one model on an OpenAI and an Azure OpenAI provider,
// both at the mock, which routes on the decoded path as a normalising
// upstream does.
const pathsPolicy = `
apiVersion: tollgate.dev/v1alpha1
kind: LLMPolicy
metadata: {name: e2e, namespace: team-a}
spec:
  providers:
    - {name: openai, type: OpenAI, baseURL: MOCK, models: [gpt-4o-mini]}
    - {name: azure, type: AzureOpenAI, baseURL: MOCK, models: [gpt-4o-mini]}
`

func TestPaths_ThatServersOnTheWayCouldBendAreRefusedBeforeAnyAttempt(t *testing.T) {
	tests := map[string]struct {
		target      string
		wantMessage string
	}{
		"a dot-dot segment after chat completions": {
			target: "/openai/v1/chat/completions/x/..", wantMessage: "has a dot segment (..)",
		},
		"a dot-dot segment above the provider's base URL": {
			target: "/openai/../admin", wantMessage: "has a dot segment (..)",
		},
		"a percent-encoded dot-dot segment": {
			target: "/openai/v1/chat/completions/x/%2e%2e", wantMessage: "has a dot segment (..)",
		},
		"an Azure deployment bent to another deployment": {
			target: "/azure/openai/deployments/gpt-4o-mini/../gpt-4o/chat/completions?api-version=2024-10-21", wantMessage: "has a dot segment (..)",
		},
		"an Azure deployment bent with encoded slashes": {
			target: "/azure/openai/deployments/gpt-4o-mini%2F..%2Fgpt-4o/chat/completions?api-version=2024-10-21", wantMessage: "encodes a slash (%2F)",
		},
		"an empty segment a merging upstream would remove": {
			target: "/openai/v1/chat//completions", wantMessage: "has an empty segment",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			mock := startMock(t)
			sc := startWithPolicy(t, withMock(pathsPolicy, mock))

			resp := sc.send(rawPost(tc.target, chatBody("gpt-4o")))
			assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
			assert.Equal(t, llmclient.CodeBadRequest, resp.Header.Get(llmclient.HeaderReason))
			assert.Equal(t, "0", resp.Header.Get(llmclient.HeaderAttempts))
			code, message := openAIErrorOf(t, resp)
			assert.Equal(t, llmclient.CodeBadRequest, code)
			assert.Contains(t, message, tc.wantMessage)
			assert.Zero(t, mock.Received(), "nothing reached the provider")
		})
	}
}

func TestPaths_WhatIsClassifiedIsWhatIsForwarded(t *testing.T) {
	mock := startMock(t)
	sc := startWithPolicy(t, withMock(pathsPolicy, mock))

	// An escaped unreserved character is the same path to the upstream,
	// so it is chat completions to the policy as well.
	resp := sc.send(rawPost("/openai/v1/chat/complet%69ons", chatBody("gpt-4o")))
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)
	assert.Equal(t, llmclient.CodeModelNotAllowed, resp.Header.Get(llmclient.HeaderReason))
	assert.Zero(t, mock.Received(), "the allow-list applies to chat completions however the path spells them")

	resp = sc.send(rawPost("/openai/v1/chat/complet%69ons", chatBody("gpt-4o-mini")))
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Len(t, mock.Requests(), 1)
	assert.Equal(t, "/v1/chat/completions", mock.Requests()[0].RawPath, "the upstream gets the path the policy judged")
}

func TestPaths_AnEscapedPathReachesTheUpstreamEscapedOnce(t *testing.T) {
	mock := startMock(t)
	sc := startWithPolicy(t, withMock(pathsPolicy, mock))

	resp := sc.send("GET /openai/v1/files/file%20abc/content?purpose=a%20b HTTP/1.1\r\nHost: sidecar\r\nConnection: close\r\n\r\n")
	assert.Equal(t, http.StatusNotFound, resp.StatusCode, "the mock serves no files API; what matters is what it received")
	require.Len(t, mock.Requests(), 1)
	assert.Equal(t, "/v1/files/file%20abc/content", mock.Requests()[0].RawPath)
	assert.Equal(t, "/v1/files/file abc/content", mock.Requests()[0].Path)
	assert.Equal(t, "purpose=a%20b", mock.Requests()[0].Query)
}

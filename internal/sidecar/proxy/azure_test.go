package proxy

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tollgate.dev/tollgate/internal/testkit/mockprovider"
	"tollgate.dev/tollgate/pkg/llmclient"
)

// azurePolicy adds an Azure OpenAI provider, pointing at the mock, to the
// harness's policy.
const azurePolicy = `
apiVersion: tollgate.dev/v1alpha1
kind: LLMPolicy
metadata: {name: test, namespace: ns}
spec:
  providers:
    - {name: azure, type: AzureOpenAI, baseURL: MOCK}
`

func TestProxy_AzureStreamsAreAskedForUsageOnlyWhereTheAPIVersionTakesIt(t *testing.T) {
	tests := map[string]struct {
		apiVersion    string
		wantAsked     bool
		wantUsageRead bool
	}{
		"2024-06-01 refuses stream_options: the body goes as the app wrote it": {
			apiVersion: "2024-06-01",
		},
		"2024-10-21 takes it: usage is asked for and read": {
			apiVersion: "2024-10-21", wantAsked: true, wantUsageRead: true,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			h := newHarnessRawWith(t, azurePolicy, llmclient.Options{})
			h.mock.Enqueue(mockprovider.Step{Usage: &mockprovider.Usage{InputTokens: 30, OutputTokens: 9}})
			resp := h.post("/azure/openai/deployments/gpt-4o/chat/completions?api-version="+tc.apiVersion, chatStream)
			body := readAll(t, resp)
			assert.Equal(t, "[DONE]", sseEvents(body)[len(sseEvents(body))-1])

			got := h.mock.Requests()
			require.Len(t, got, 1)
			assert.Equal(t, "api-version="+tc.apiVersion, got[0].Query, "the query reaches Azure unchanged")
			if tc.wantAsked {
				assert.Contains(t, got[0].Body, `"stream_options":{"include_usage":true}`)
			} else {
				assert.Equal(t, chatStream, got[0].Body, "forwarded byte for byte, without stream_options")
			}
			r := h.lastReport()
			assert.Equal(t, tc.wantUsageRead, r.Usage.Known)
			if tc.wantUsageRead {
				assert.Equal(t, int64(30), r.Usage.InputTokens)
			}
		})
	}
}

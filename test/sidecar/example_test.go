package sidecare2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tollgate.dev/tollgate/internal/testkit/mockprovider"
	"tollgate.dev/tollgate/internal/testkit/proc"
	"tollgate.dev/tollgate/pkg/llmclient"
)

// examplePolicy is the policy of examples/sidecar-local, which README.md
// there runs against the mock provider on 127.0.0.1:8089.
func examplePolicy(t *testing.T) (path, content string) {
	t.Helper()
	root, err := proc.RepoRoot()
	require.NoError(t, err)
	path = filepath.Join(root, "examples", "sidecar-local", "policy.yaml")
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return path, string(b)
}

func TestExample_SidecarLocalPolicyStartsAndIsReady(t *testing.T) {
	path, _ := examplePolicy(t)
	sc := startSidecar(t, path)

	assert.Equal(t, 1.0, sc.metric("tollgate_config_reload_total", "result", "success"))
	config := sc.get("/config")
	assert.Contains(t, config, `"source": "LLMPolicy default/local-demo"`)
	assert.Contains(t, config, `"baseURL": "http://127.0.0.1:8089"`)
}

func TestExample_SidecarLocalPolicyBehavesAsItsREADMEShows(t *testing.T) {
	mock := startMock(t)
	_, content := examplePolicy(t)
	require.Contains(t, content, "http://127.0.0.1:8089")
	sc := startWithPolicy(t, strings.ReplaceAll(content, "http://127.0.0.1:8089", mock.URL()))
	client := sc.openAI()

	res := chat(t, client, "gpt-4o-mini")
	require.NoError(t, res.err)
	assert.Equal(t, "default/local-demo", res.header.Get(llmclient.HeaderPolicy))

	requireOpenAIError(t, chat(t, client, "gpt-5").err, 403, llmclient.CodeModelNotAllowed)

	mock.EnqueueFor("gpt-4o-mini", mockprovider.Step{Status: 500}, mockprovider.Step{Status: 500}, mockprovider.Step{Status: 500})
	res = chat(t, client, "gpt-4o-mini")
	require.NoError(t, res.err)
	assert.Equal(t, "anthropic/claude-haiku-4-5", res.header.Get(llmclient.HeaderFallback))
	assert.Equal(t, "claude-haiku-4-5", res.completion.Model)

	mock.SetDefault(mockprovider.Step{Status: 503})
	res = chat(t, client, "gpt-4o")
	require.NoError(t, res.err)
	assert.Equal(t, "static", res.header.Get(llmclient.HeaderFallback))
	assert.Equal(t, "The assistant is busy right now. Please try again in a minute.", res.completion.Choices[0].Message.Content)
}

package sidecare2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const credentialsPolicy = `
apiVersion: tollgate.dev/v1alpha1
kind: LLMPolicy
metadata: {name: e2e, namespace: team-a}
spec:
  providers:
    - name: openai
      type: OpenAI
      baseURL: MOCK
      credentialsSecretRef: {name: openai-credentials, key: api-key}
    - name: claude
      type: Anthropic
      baseURL: MOCK
      credentialsSecretRef: {name: anthropic-credentials, key: api-key}
`

func TestCredentials_TheProviderSeesTheKeyFromTheFileNeverTheAppsAndTheKeyIsNeverShown(t *testing.T) {
	const (
		openAIKey    = "sk-e2e-openai-secret-4f9c2a"
		anthropicKey = "sk-ant-e2e-secret-81d7e0"
		rotatedKey   = "sk-e2e-openai-rotated-77ab"
	)
	mock := startMock(t)
	dir := t.TempDir()
	writeAtomically(t, filepath.Join(dir, "openai"), openAIKey+"\n")
	writeAtomically(t, filepath.Join(dir, "claude"), anthropicKey+"\n")
	sc := startWithPolicy(t, withMock(credentialsPolicy, mock), "--credentials-dir", dir, "--log-level", "debug")

	require.NoError(t, chat(t, sc.openAI(), "gpt-4o-mini").err)
	client := sc.anthropic()
	_, err := client.Messages.New(context.Background(), messageParams("claude-sonnet-4-5"))
	require.NoError(t, err)
	got := mock.Requests()
	require.Len(t, got, 2)
	assert.Equal(t, "Bearer "+openAIKey, got[0].Header.Get("Authorization"))
	assert.Equal(t, anthropicKey, got[1].Header.Get("X-Api-Key"))
	assert.Empty(t, got[1].Header.Get("Authorization"), "no second credential goes to Anthropic")

	// A rotated Secret is picked up without a restart.
	writeAtomically(t, filepath.Join(dir, "openai"), rotatedKey+"\n")
	require.Eventually(t, func() bool {
		if chat(t, sc.openAI(), "gpt-4o-mini").err != nil {
			return false
		}
		reqs := mock.Requests()
		return reqs[len(reqs)-1].Header.Get("Authorization") == "Bearer "+rotatedKey
	}, 5*time.Second, 20*time.Millisecond, "the rotated key was never used")

	for _, r := range mock.Requests() {
		for name, values := range r.Header {
			assert.NotContains(t, strings.Join(values, " "), appKey, "the app's key reached the provider in %s", name)
		}
	}
	shown := map[string]string{
		"the log":  sc.logs.String(),
		"/config":  sc.get("/config"),
		"/metrics": sc.get("/metrics"),
	}
	assert.Contains(t, shown["/config"], "openai-credentials", "the Secret is named")
	for where, text := range shown {
		for _, key := range []string{openAIKey, anthropicKey, rotatedKey} {
			assert.NotContains(t, text, key, "a key appears in %s", where)
		}
	}
}

func TestCredentials_AMissingKeyFileRefusesToStartAndSaysWhatToDo(t *testing.T) {
	mock := startMock(t)
	path := filepath.Join(t.TempDir(), "policy.yaml")
	writeAtomically(t, path, withMock(credentialsPolicy, mock))
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "openai"), []byte("sk-present"), 0o600))

	sc := launch(t, path, "--credentials-dir", dir)
	sc.mayExit = true
	select {
	case <-sc.process.Exited():
	case <-time.After(startWait):
		t.Fatal("the sidecar started without the claude key")
	}
	assert.Equal(t, 1, sc.process.State().ExitCode())
	assert.Contains(t, sc.logs.String(), "provider claude names a credentials Secret, but "+filepath.Join(dir, "claude")+" does not exist: mount the Secret there or remove credentialsSecretRef")
}

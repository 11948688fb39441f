package sidecare2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tollgate.dev/tollgate/internal/testkit/mockprovider"
	"tollgate.dev/tollgate/pkg/llmclient"
)

// allowListPolicy lets the app use only models from the openai provider.
const allowListPolicy = `
apiVersion: tollgate.dev/v1alpha1
kind: LLMPolicy
metadata: {name: e2e, namespace: team-a}
spec:
  providers:
    - {name: openai, type: OpenAI, baseURL: MOCK, models: [%s]}
`

func TestReload_ABadPolicyFileKeepsTheLastGoodOneUntilAGoodEditApplies(t *testing.T) {
	mock := startMock(t)
	sc := startWithPolicy(t, withMock(fmt.Sprintf(allowListPolicy, "gpt-4o-mini"), mock))
	client := sc.openAI()
	requireOpenAIError(t, chat(t, client, "gpt-4o").err, http.StatusForbidden, llmclient.CodeModelNotAllowed)
	require.Equal(t, 1.0, sc.metric("tollgate_config_reload_total", "result", "success"))
	require.Equal(t, 1.0, sc.metric("tollgate_config_last_reload_successful"))

	bad := map[string]string{
		"a file that is not YAML":        "{{{ not: yaml",
		"a policy with a misspelt field": withMock(fmt.Sprintf(allowListPolicy, "gpt-4o-mini, gpt-4o"), mock) + "  retires: {maxAttempts: 2}\n",
		"an invalid policy":              withMock(fmt.Sprintf(allowListPolicy, "gpt-4o-mini, gpt-4o"), mock) + "  circuitBreaker: {consecutiveFailures: 0}\n",
	}
	for name, content := range bad {
		t.Run(name, func(t *testing.T) {
			before := sc.metric("tollgate_config_reload_total", "result", "error")
			sc.writePolicy(content)
			require.Eventually(t, func() bool {
				errors, ok := sc.metricOK("tollgate_config_reload_total", "result", "error")
				return ok && errors > before
			}, 5*time.Second, 20*time.Millisecond, "the refused file was not counted")

			requireOpenAIError(t, chat(t, client, "gpt-4o").err, http.StatusForbidden, llmclient.CodeModelNotAllowed)
			require.NoError(t, chat(t, client, "gpt-4o-mini").err, "the last good policy is still enforced")
			assert.Contains(t, sc.get("/readyz"), "ok")
			assert.Contains(t, sc.logs.String(), "policy file refused; keeping the last good policy")
			assert.Equal(t, 0.0, sc.metric("tollgate_config_last_reload_successful"), "the alert's gauge says so while the file stays")
		})
	}

	sc.writePolicy(withMock(fmt.Sprintf(allowListPolicy, "gpt-4o-mini, gpt-4o"), mock))
	require.Eventually(t, func() bool {
		return chat(t, client, "gpt-4o").err == nil
	}, 5*time.Second, 20*time.Millisecond, "the good edit never applied")
	assert.Equal(t, 2.0, sc.metric("tollgate_config_reload_total", "result", "success"))
	assert.Equal(t, 1.0, sc.metric("tollgate_config_last_reload_successful"))
	assert.Contains(t, sc.get("/config"), `"gpt-4o"`)
}

// loadPolicy is version v of a policy that lets every request through:
// reloads change its settings, never what it allows.
func loadPolicy(mock *mockprovider.Server, v int) string {
	return withMock(policyHead, mock) + fmt.Sprintf(`  timeouts: {connect: 1s, firstToken: 5s, total: %ds}
  retry: {maxAttempts: %d, backoff: {initial: 10ms, max: 50ms}}
  circuitBreaker: {consecutiveFailures: %d, openDuration: 1s}
  rateLimit: {requestsPerMinute: %d, maxConcurrent: 64}
`, 30+v, 2+v%2, 50+v, 100000+v)
}

// policyWriter rewrites the policy file one way.
type policyWriter func(t *testing.T, dir string, content string)

// renameWriter replaces dir/policy.yaml by renaming a new file over it.
func renameWriter(t *testing.T, dir, content string) {
	writeAtomically(t, filepath.Join(dir, "policy.yaml"), content)
}

// configMapWriter updates dir as the kubelet updates a mounted ConfigMap:
// the content goes into a new timestamped directory, the ..data symlink
// is swapped to it atomically, and the old directory is removed.
// dir/policy.yaml is a symlink to ..data/policy.yaml throughout.
func configMapWriter(t *testing.T, dir, content string) {
	t.Helper()
	ts := filepath.Join(dir, fmt.Sprintf("..%d", time.Now().UnixNano()))
	require.NoError(t, os.Mkdir(ts, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(ts, "policy.yaml"), []byte(content), 0o644))
	old, _ := os.Readlink(filepath.Join(dir, "..data"))
	tmp := filepath.Join(dir, "..data_tmp")
	require.NoError(t, os.Symlink(filepath.Base(ts), tmp))
	require.NoError(t, os.Rename(tmp, filepath.Join(dir, "..data")))
	if old != "" {
		require.NoError(t, os.RemoveAll(filepath.Join(dir, old)))
		return
	}
	require.NoError(t, os.Symlink(filepath.Join("..data", "policy.yaml"), filepath.Join(dir, "policy.yaml")))
}

func TestReload_UnderLoadFailsNoRequest(t *testing.T) {
	const (
		clients  = 8
		rewrites = 6
	)
	tests := map[string]policyWriter{
		"the file renamed over":             renameWriter,
		"a ConfigMap's ..data symlink swap": configMapWriter,
	}
	for name, write := range tests {
		t.Run(name, func(t *testing.T) {
			mock := startMock(t)
			// Answers take a few milliseconds and streams tens, so that
			// reloads land while requests are in flight.
			mock.SetDefault(mockprovider.Step{FirstByteDelay: 3 * time.Millisecond, ChunkDelay: 3 * time.Millisecond})
			dir := t.TempDir()
			write(t, dir, loadPolicy(mock, 0))
			sc := startSidecar(t, filepath.Join(dir, "policy.yaml"))

			ctx, stop := context.WithCancel(context.Background())
			defer stop()
			var ok, streams atomic.Int64
			var mu sync.Mutex // guards failures
			var failures []string
			var wg sync.WaitGroup
			client := sc.openAI()
			for i := range clients {
				wg.Go(func() {
					for n := 0; ctx.Err() == nil; n++ {
						var err error
						if (i+n)%2 == 0 {
							res := chatStream(t, client, chatParams("gpt-4o-mini"))
							if err = res.err; err == nil && (len(res.acc.Choices) == 0 || res.acc.Choices[0].Message.Content != mockprovider.DefaultContent) {
								err = fmt.Errorf("stream ended short: %+v", res.acc.Choices)
							}
							streams.Add(1)
						} else {
							var c *openai.ChatCompletion
							c, err = client.Chat.Completions.New(context.Background(), chatParams("gpt-4o"))
							if err == nil && c.Choices[0].Message.Content != mockprovider.DefaultContent {
								err = fmt.Errorf("unexpected answer %q", c.Choices[0].Message.Content)
							}
						}
						if err != nil {
							mu.Lock()
							failures = append(failures, err.Error())
							mu.Unlock()
							continue
						}
						ok.Add(1)
					}
				})
			}

			for v := 1; v <= rewrites; v++ {
				time.Sleep(250 * time.Millisecond) // pacing: each version serves traffic for a while
				write(t, dir, loadPolicy(mock, v))
			}
			require.Eventually(t, func() bool {
				config, err := sc.fetch("/config")
				return err == nil && strings.Contains(config, fmt.Sprintf(`"requestsPerMinute": %d`, 100000+rewrites))
			}, 5*time.Second, 20*time.Millisecond, "the last version never applied")
			time.Sleep(200 * time.Millisecond) // traffic under the last version too
			stop()
			wg.Wait()

			t.Logf("%d requests (%d streams) through %.0f reloads", ok.Load(), streams.Load(), sc.metric("tollgate_config_reload_total", "result", "success"))
			assert.Empty(t, failures, "requests failed during reloads")
			assert.Greater(t, ok.Load(), int64(100), "too little traffic to tell")
			assert.Positive(t, streams.Load())
			assert.GreaterOrEqual(t, sc.metric("tollgate_config_reload_total", "result", "success"), float64(rewrites/2+1), "reloads happened under load")
			assert.Zero(t, sc.metric("tollgate_config_reload_total", "result", "error"), "no reload saw a half-written file")
		})
	}
}

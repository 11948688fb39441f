package sidecar

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/failsafe-go/failsafe-go/circuitbreaker"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"tollgate.dev/tollgate/internal/sidecar/dryrun"
	"tollgate.dev/tollgate/internal/sidecar/metrics"
	"tollgate.dev/tollgate/internal/testkit/mockprovider"
	"tollgate.dev/tollgate/pkg/policy"
)

const policyV1 = `
apiVersion: tollgate.dev/v1alpha1
kind: LLMPolicy
metadata: {name: chat, namespace: ns}
spec:
  providers:
    - {name: openai, type: OpenAI, baseURL: http://127.0.0.1:9}
  circuitBreaker: {consecutiveFailures: 1, openDuration: 1h}
`

func newReloader(t *testing.T, opts Options) (*reloader, *bytes.Buffer) {
	t.Helper()
	logs := &bytes.Buffer{}
	log := newLogger(logs, zap.InfoLevel)
	return &reloader{opts: opts, log: log, metrics: metrics.New(), tally: dryrun.New(log, nil)}, logs
}

func write(t *testing.T, path, content string) {
	t.Helper()
	tmp := path + ".tmp"
	require.NoError(t, os.WriteFile(tmp, []byte(content), 0o644))
	require.NoError(t, os.Rename(tmp, path))
}

func reloads(r *reloader, result string) float64 {
	return testutil.ToFloat64(r.metrics.ReloadCounter(result))
}

func TestReload_BadFileKeepsTheLastGoodPolicy(t *testing.T) {
	path := filepath.Join(t.TempDir(), "policy.yaml")
	write(t, path, policyV1)
	r, logs := newReloader(t, Options{PolicyFile: path})
	require.NoError(t, r.load())
	good := r.current.Load()

	tests := map[string]string{
		"not YAML":                 "{{{",
		"an invalid policy":        strings.Replace(policyV1, "consecutiveFailures: 1", "consecutiveFailures: 0", 1),
		"an unknown field":         policyV1 + "  retires: {}\n",
		"credentials without keys": strings.Replace(policyV1, "baseURL: http://127.0.0.1:9}", "baseURL: http://127.0.0.1:9, credentialsSecretRef: {name: s, key: k}}", 1),
	}
	for name, content := range tests {
		t.Run(name, func(t *testing.T) {
			before := reloads(r, "error")
			write(t, path, content)
			require.Error(t, r.load())
			assert.Same(t, good, r.current.Load(), "the last good policy stays")
			assert.Equal(t, before+1, reloads(r, "error"))
			assert.Contains(t, logs.String(), "policy file refused; keeping the last good policy")
		})
	}
	write(t, path, policyV1)
	require.NoError(t, r.load())
	assert.Same(t, good, r.current.Load(), "an unchanged file is not reloaded")
}

func TestReload_TheGaugeSaysWhileTheNewestPolicyIsRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "policy.yaml")
	write(t, path, policyV1)
	r, _ := newReloader(t, Options{PolicyFile: path})
	inForce := func() float64 { return gaugeValue(t, r, "tollgate_config_last_reload_successful") }
	require.NoError(t, r.load())
	assert.Equal(t, 1.0, inForce(), "the first policy is in force")

	bad := strings.Replace(policyV1, "consecutiveFailures: 1", "consecutiveFailures: 0", 1)
	write(t, path, bad)
	require.Error(t, r.load())
	assert.Equal(t, 0.0, inForce(), "a refused policy")
	errors := reloads(r, "error")
	require.NoError(t, r.load(), "the same refused file, read again (a kubelet touch)")
	assert.Equal(t, 0.0, inForce(), "stays refused while the file stays: the alert keeps firing")
	assert.Equal(t, errors, reloads(r, "error"), "and is counted once")

	write(t, path, policyV1)
	require.NoError(t, r.load())
	assert.Equal(t, 1.0, inForce(), "the edit undone: the file is the policy in force again")

	write(t, path, bad)
	require.Error(t, r.load(), "the same bad edit, made again, is refused again")
	assert.Equal(t, errors+1, reloads(r, "error"))
	write(t, path, strings.Replace(policyV1, "consecutiveFailures: 1", "consecutiveFailures: 2", 1))
	require.NoError(t, r.load())
	assert.Equal(t, 1.0, inForce(), "a new good policy")
}

// gaugeValue is the value of the sidecar's unlabelled gauge name.
func gaugeValue(t *testing.T, r *reloader, name string) float64 {
	t.Helper()
	families, err := r.metrics.Registry.Gather()
	require.NoError(t, err)
	for _, f := range families {
		if f.GetName() == name {
			return f.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}

func TestReload_BreakerStateSurvivesAReloadThatKeepsIt(t *testing.T) {
	mock, err := mockprovider.Start("127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { mock.Close() })
	path := filepath.Join(t.TempDir(), "policy.yaml")
	v1 := strings.ReplaceAll(policyV1, "http://127.0.0.1:9", mock.URL())
	write(t, path, v1)
	r, _ := newReloader(t, Options{PolicyFile: path})
	require.NoError(t, r.load())

	mock.Enqueue(mockprovider.Step{Status: 503})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		resp, err := r.current.Load().transport.RoundTrip(req.Clone(context.Background()))
		require.NoError(t, err)
		w.WriteHeader(resp.StatusCode)
		resp.Body.Close()
	}))
	t.Cleanup(srv.Close)
	resp, err := http.Post(srv.URL+"/openai/v1/chat/completions", "application/json", strings.NewReader(`{"model":"m","messages":[]}`))
	require.NoError(t, err)
	resp.Body.Close()
	target := policy.Target{Provider: "openai", Model: "m"}
	require.Equal(t, circuitbreaker.OpenState, r.current.Load().transport.Policies().BreakerState(target))

	write(t, path, v1+"  timeouts: {total: 5m}\n")
	require.NoError(t, r.load())
	assert.Equal(t, circuitbreaker.OpenState, r.current.Load().transport.Policies().BreakerState(target),
		"a reload that keeps the breaker's settings keeps its state")

	write(t, path, strings.Replace(v1, "consecutiveFailures: 1", "consecutiveFailures: 2", 1))
	require.NoError(t, r.load())
	assert.Equal(t, circuitbreaker.ClosedState, r.current.Load().transport.Policies().BreakerState(target))
}

func TestReload_MissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "absent.json")
	r, _ := newReloader(t, Options{PolicyFile: path})
	require.Error(t, r.load(), "standalone mode needs the file")

	r, _ = newReloader(t, Options{PolicyFile: path, AllowMissingPolicy: true})
	require.NoError(t, r.load(), "in a pod, the ConfigMap may not exist yet")
	s := r.current.Load()
	require.NotNil(t, s, "ready: the sidecar must not hold the pod back")
	assert.Nil(t, s.transport)
	assert.Equal(t, 1.0, gaugeValue(t, r, "tollgate_config_last_reload_successful"), "no policy yet is no refusal: no alert")

	rec := httptest.NewRecorder()
	r.noPolicy(rec, httptest.NewRequest(http.MethodPost, "/openai/v1/chat/completions", nil))
	assert.Equal(t, http.StatusServiceUnavailable, rec.Code)
	assert.Contains(t, rec.Body.String(), "tollgate_no_policy")
	assert.Contains(t, rec.Body.String(), "does not exist yet")

	write(t, path, `{"apiVersion":"proxyconfig.tollgate.dev/v1","kind":"Bundle","namespace":"ns","policies":[
	  {"name":"chat","namespace":"ns","selector":{"matchLabels":{"app":"chat"}},
	   "providers":[{"name":"openai","type":"OpenAI","baseURL":"http://127.0.0.1:9"}],
	   "timeouts":{"connect":"1s","firstToken":"1s","total":"1s"}}]}`)
	labels := filepath.Join(t.TempDir(), "labels")
	require.NoError(t, os.WriteFile(labels, []byte(`app="batch"`+"\n"), 0o644))
	r.opts.PodLabelsFile = labels
	require.NoError(t, r.load())
	assert.Nil(t, r.current.Load().transport, "no policy selects app=batch")
	assert.Contains(t, r.current.Load().reason, "no LLMPolicy in bundle of ns (1 policies) selects this pod")

	require.NoError(t, os.WriteFile(labels, []byte(`app="chat"`+"\n"), 0o644))
	require.NoError(t, r.load())
	require.NotNil(t, r.current.Load().transport, "a label change is a reload")
	assert.Equal(t, "ns/chat", r.current.Load().policy.Ref())
}

func TestAdmin_ConfigShowsThePolicyButNoKey(t *testing.T) {
	const key = "sk-very-secret-key-value"
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "openai"), []byte(key), 0o600))
	path := filepath.Join(t.TempDir(), "policy.yaml")
	write(t, path, strings.Replace(policyV1, "baseURL: http://127.0.0.1:9}", "baseURL: http://127.0.0.1:9, credentialsSecretRef: {name: openai-key, key: api-key}}", 1))
	r, logs := newReloader(t, Options{PolicyFile: path, CredentialsDir: dir})
	require.NoError(t, r.load())

	srv := httptest.NewServer(r.adminMux(r.metrics))
	t.Cleanup(srv.Close)
	for path, want := range map[string]string{"/config": `"openai-key"`, "/readyz": "ok", "/healthz": "ok", "/metrics": "tollgate_config_reload_total"} {
		resp, err := http.Get(srv.URL + path)
		require.NoError(t, err)
		var b bytes.Buffer
		_, _ = b.ReadFrom(resp.Body)
		resp.Body.Close()
		assert.Equal(t, 200, resp.StatusCode, path)
		assert.Contains(t, b.String(), want, path)
		assert.NotContains(t, b.String(), key, path)
	}
	assert.NotContains(t, logs.String(), key)
}

func TestReload_TheSameBundleFromTheFileAndFromTheLedgerIsLoadedOnce(t *testing.T) {
	const bundle = `{"apiVersion":"proxyconfig.tollgate.dev/v1","kind":"Bundle","namespace":"ns","policies":[
	  {"name":"chat","namespace":"ns","generation":3,
	   "providers":[{"name":"openai","type":"OpenAI","baseURL":"http://127.0.0.1:9"}],
	   "timeouts":{"connect":"1s","firstToken":"1s","total":"1s"}}]}`
	var indented, compact bytes.Buffer
	require.NoError(t, json.Indent(&indented, []byte(bundle), "", "  "))
	require.NoError(t, json.Compact(&compact, []byte(bundle)))
	path := filepath.Join(t.TempDir(), "bundle.json")
	write(t, path, indented.String()) // as the reconciler renders it, and the kubelet mounts it
	r, logs := newReloader(t, Options{PolicyFile: path})
	require.NoError(t, r.load())
	first := r.current.Load()

	r.loadBundle(compact.Bytes()) // as the ledger delivers it
	assert.Same(t, first, r.current.Load(), "the ledger's copy of the mounted bundle is not a new policy")

	r.fromLedger = time.Now().Add(-2 * ledgerFresh)
	write(t, path, indented.String()) // the kubelet's later sync of the same ConfigMap
	require.NoError(t, r.load())
	assert.Same(t, first, r.current.Load(), "nor is the kubelet's rewrite of the same bundle")
	assert.Equal(t, 1, strings.Count(logs.String(), `"policy loaded"`), logs.String())
}

package crd

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	v1alpha1 "tollgate.dev/tollgate/api/v1alpha1"
	"tollgate.dev/tollgate/api/v1alpha1/validation"
	"tollgate.dev/tollgate/internal/sidecar/loader"
)

const namespace = "default"

func TestCRD_IsEstablishedWithNamesAndPrinterColumns(t *testing.T) {
	var crd apiextensionsv1.CustomResourceDefinition
	require.NoError(t, env.Client.Get(context.Background(), types.NamespacedName{Name: "llmpolicies.tollgate.dev"}, &crd))

	established := false
	for _, c := range crd.Status.Conditions {
		if c.Type == apiextensionsv1.Established && c.Status == apiextensionsv1.ConditionTrue {
			established = true
		}
	}
	assert.True(t, established, "CRD is not Established: %+v", crd.Status.Conditions)
	assert.Equal(t, apiextensionsv1.NamespaceScoped, crd.Spec.Scope)
	assert.Equal(t, []string{"llmp"}, crd.Spec.Names.ShortNames)
	require.Len(t, crd.Spec.Versions, 1)
	v := crd.Spec.Versions[0]
	assert.Equal(t, "v1alpha1", v.Name)
	assert.NotNil(t, v.Subresources.Status, "status subresource")
	var columns []string
	for _, c := range v.AdditionalPrinterColumns {
		columns = append(columns, c.Name)
	}
	assert.Equal(t, []string{"Ready", "Mode", "Budget", "Spent", "Limit", "Pods", "Age"}, columns)
}

func TestSample_IsAcceptedWithDefaultsFilledIn(t *testing.T) {
	p := loadSample(t)
	p.Namespace = namespace
	create(t, p)

	var got v1alpha1.LLMPolicy
	require.NoError(t, env.Client.Get(context.Background(), types.NamespacedName{Namespace: namespace, Name: p.Name}, &got))
	s := got.Spec
	// Values the sample leaves out come back filled in by the API server.
	assert.Equal(t, validation.DefaultRetryOn(), s.Retry.RetryOn)
	assert.Equal(t, ptr.To(true), s.Retry.HonorRetryAfter)
	assert.Equal(t, v1alpha1.Duration("30s"), s.Retry.MaxRetryAfter)
	assert.Equal(t, int32(20), s.Retry.BudgetPercent)
	assert.Equal(t, int32(1), s.CircuitBreaker.HalfOpenRequests)
	assert.Equal(t, v1alpha1.Duration("10s"), s.RateLimit.MaxWait)
	assert.Equal(t, int32(80), s.Budget.SoftLimitPercent)
	assert.Equal(t, ptr.To(true), s.Cache.Enabled)
	assert.Equal(t, ptr.To(true), s.Cache.OnlyDeterministic)
	assert.Equal(t, ptr.To(true), s.Validation.Enabled)
	assert.Equal(t, v1alpha1.StreamPassThrough, s.Validation.Streams)
	for _, pr := range s.Providers {
		assert.Equal(t, ptr.To(false), pr.ForwardTraceContext, "provider %s keeps the trace context to itself", pr.Name)
	}
	// Values the sample sets are kept.
	assert.Equal(t, v1alpha1.Duration("30s"), s.Timeouts.FirstToken)
	assert.Equal(t, int32(5000), s.Cache.MaxEntries)
}

// TestDefaults_GoMatchesAPIServer keeps the Go defaulting of standalone
// policy files in step with the API server's: each manifest is applied
// through the API server and read back, and must equal what the sidecar's
// decoding (validation.Decode, the CRD's defaults) makes of the same bytes;
// both accept it. Manifests cover what a typed policy cannot say (nulls,
// explicit empty lists) and every LLMPolicy manifest the repository ships.
func TestDefaults_GoMatchesAPIServer(t *testing.T) {
	manifests := map[string][]byte{}
	for name, spec := range map[string]v1alpha1.LLMPolicySpec{
		"a minimal policy gets timeouts": minimalSpec(),
		"empty optional blocks get every default": func() v1alpha1.LLMPolicySpec {
			s := minimalSpec()
			s.Retry = &v1alpha1.Retry{}
			s.CircuitBreaker = &v1alpha1.CircuitBreaker{ConsecutiveFailures: ptr.To[int32](5)}
			s.RateLimit = &v1alpha1.RateLimit{MaxConcurrent: ptr.To[int32](4)}
			s.Budget = &v1alpha1.Budget{Limit: "10"}
			s.Cache = &v1alpha1.Cache{}
			s.Validation = &v1alpha1.OutputValidation{}
			return s
		}(),
		"partial blocks keep what is set": func() v1alpha1.LLMPolicySpec {
			s := minimalSpec()
			s.Timeouts = &v1alpha1.Timeouts{Total: "1m"}
			s.Retry = &v1alpha1.Retry{MaxAttempts: 5, Backoff: &v1alpha1.Backoff{Jitter: v1alpha1.JitterEqual}, RetryOn: []v1alpha1.RetryCondition{v1alpha1.RetryOnRateLimited}}
			s.Budget = &v1alpha1.Budget{Limit: "1.5", Period: v1alpha1.BudgetDaily}
			s.Cache = &v1alpha1.Cache{Enabled: ptr.To(false), TTL: "1h"}
			s.Validation = &v1alpha1.OutputValidation{Streams: v1alpha1.StreamBuffer}
			s.Providers = append(s.Providers, v1alpha1.Provider{Name: "vllm", Type: v1alpha1.ProviderOpenAICompatible,
				BaseURL: "http://vllm.inference.svc:8000", ForwardTraceContext: ptr.To(true)})
			return s
		}(),
	} {
		p := &v1alpha1.LLMPolicy{ObjectMeta: metav1.ObjectMeta{GenerateName: "defaults-"}, Spec: spec}
		manifest, err := yaml.Marshal(toObject(t, p))
		require.NoError(t, err)
		manifests[name] = manifest
	}
	manifests["nulls take the defaults"] = []byte(`
apiVersion: tollgate.dev/v1alpha1
kind: LLMPolicy
metadata: {name: nulls}
spec:
  providers: [{name: openai, type: OpenAI}]
  timeouts: {connect: null, total: 1m}
  retry: {maxAttempts: null, backoff: null, retryOn: null}
  cache: {ttl: null, maxEntries: null}
`)
	manifests["a ladder with a cached rung and the cache off gets its defaults"] = []byte(`
apiVersion: tollgate.dev/v1alpha1
kind: LLMPolicy
metadata: {name: ladder}
spec:
  providers: [{name: openai, type: OpenAI}]
  cache: {enabled: false}
  fallbacks:
    - cachedResponse: {}
    - {provider: openai, model: gpt-4o-mini}
    - staticResponse: {content: "busy"}
`)
	manifests["a cached rung next to the cache keeps what is set"] = []byte(`
apiVersion: tollgate.dev/v1alpha1
kind: LLMPolicy
metadata: {name: ladder-with-cache}
spec:
  providers: [{name: openai, type: OpenAI}]
  cache: {ttl: 10m}
  fallbacks:
    - {provider: openai, model: gpt-4o-mini}
    - cachedResponse: {maxStale: 10m1s, maxEntries: 50}
`)
	manifests["empty failureRecords get their defaults"] = []byte(`
apiVersion: tollgate.dev/v1alpha1
kind: LLMPolicy
metadata: {name: failure-records-defaults}
spec:
  providers: [{name: openai, type: OpenAI}]
  failureRecords: {}
`)
	manifests["failureRecords with a body keep what is set"] = []byte(`
apiVersion: tollgate.dev/v1alpha1
kind: LLMPolicy
metadata: {name: failure-records-body}
spec:
  providers: [{name: openai, type: OpenAI}]
  failureRecords: {includeRequestBody: true, maxBodyBytes: 65536}
`)
	manifests["an explicit empty retryOn is kept"] = []byte(`
apiVersion: tollgate.dev/v1alpha1
kind: LLMPolicy
metadata: {name: no-retry-conditions}
spec:
  providers: [{name: openai, type: OpenAI}]
  retry: {retryOn: []}
`)
	for _, f := range []string{"config/samples/tollgate_v1alpha1_llmpolicy.yaml", "config/samples/demo/policy.yaml", "examples/sidecar-local/policy.yaml"} {
		data, err := os.ReadFile(filepath.Join(env.RepoRoot, f))
		require.NoError(t, err)
		manifests[f] = data
	}

	for name, manifest := range manifests {
		t.Run(name, func(t *testing.T) {
			u := &unstructured.Unstructured{}
			require.NoError(t, yaml.Unmarshal(manifest, &u.Object))
			u.SetNamespace(namespace)
			require.NoError(t, env.Client.Create(context.Background(), u, client.FieldValidation("Strict")), "the API server rejects:\n%s", manifest)
			t.Cleanup(func() { _ = env.Client.Delete(context.Background(), u) })
			var fromServer v1alpha1.LLMPolicy
			require.NoError(t, env.Client.Get(context.Background(), types.NamespacedName{Namespace: namespace, Name: u.GetName()}, &fromServer))

			fromFile, err := validation.Decode(manifest)
			require.NoError(t, err)
			assert.Equal(t, fromServer.Spec, fromFile.Spec)
			_, err = loader.Parse(manifest, nil)
			assert.NoError(t, err, "the policy-file loader rejects a policy the API server accepted")

			if name == "an explicit empty retryOn is kept" {
				return // a typed policy cannot say it: its empty list is omitted
			}
			// A policy built in Go is defaulted the same way.
			typed := &v1alpha1.LLMPolicy{Spec: *fromFile.Spec.DeepCopy()}
			validation.Default(typed)
			assert.Equal(t, fromServer.Spec, typed.Spec, "validation.Default")
		})
	}
}

func TestExplain_ShowsFieldDocs(t *testing.T) {
	for field, wants := range map[string][]string{
		"llmpolicy.spec.retry": {
			"Retry re-sends failed requests",
			"maxAttempts",
			"MaxAttempts is the most times a request is sent, the first attempt",
			"retryOn",
			"HonorRetryAfter makes the sidecar wait",
			"BudgetPercent caps retries",
		},
		"llmpolicy.spec.mode": {
			"Mode is Enforce (the default) or DryRun",
			"refuses nothing and never",
			"Timeouts, retries,",
			"which only help a",
			"request, act in both modes",
		},
		"llmpolicy.status.dryRun": {
			"DryRun is what the policy would have done in the current period",
			"Decisions counts the requests of the period that Enforce would have",
		},
		"llmpolicy.spec.fallbacks.cachedResponse": {
			"with the last good answer the provider gave",
			"whether or not spec.cache is enabled",
			"never served across keys",
			"X-Tollgate-Fallback: cache",
			"MaxStale is how old a kept answer may be",
			"Default 24h. Between 1s and 720h.",
			"MaxEntries caps the answers each sidecar keeps",
		},
		"llmpolicy.spec.providers.forwardTraceContext": {
			"ForwardTraceContext sends the W3C trace context",
			"child of the sidecar's span of the attempt",
			"the app's own headers go on unchanged",
			"Default",
			"false: trace context is dropped",
			"never sent to any provider",
		},
		"llmpolicy.spec.failureRecords": {
			"Every request that finally fails",
			"every request a fallback rung answers",
			"/failures",
			"kubectl port-forward",
			"never hold an API key",
			"IncludeRequestBody adds the app's request body",
			"Default false.",
			"MaxBodyBytes is how much of a request body a record keeps",
			"Default 4096. Between 1 and 65536.",
		},
	} {
		t.Run(field, func(t *testing.T) {
			out := explain(t, field)
			for _, want := range wants {
				assert.Contains(t, string(out), want)
			}
		})
	}
}

// explain runs kubectl explain on field. The API server publishes a new
// CRD's schema a moment after the CRD is established: until then kubectl
// "couldn't find resource", which is waited out.
func explain(t *testing.T, field string) []byte {
	t.Helper()
	var out []byte
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		var err error
		out, err = exec.CommandContext(ctx, env.Kubectl, "--kubeconfig", env.Kubeconfig, "explain", field).CombinedOutput()
		assert.NoError(c, err, "kubectl explain %s: %s", field, out)
	}, 30*time.Second, 200*time.Millisecond)
	return out
}

func TestExplain_ShowsValidationDocs(t *testing.T) {
	out := explain(t, "llmpolicy.spec.validation")
	for _, want := range []string{
		"Validation checks that answers to requests asking for structured",
		"response_format",
		"InvalidOutput",
		"X-Tollgate-Validation: failed",
		"streams",
		"first-token latency",
	} {
		// kubectl wraps lines: compare words.
		assert.Contains(t, strings.Join(strings.Fields(string(out)), " "), want)
	}
}

func loadSample(t *testing.T) *v1alpha1.LLMPolicy {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(env.RepoRoot, "config", "samples", "tollgate_v1alpha1_llmpolicy.yaml"))
	require.NoError(t, err)
	var p v1alpha1.LLMPolicy
	require.NoError(t, yaml.UnmarshalStrict(raw, &p))
	return &p
}

func minimalSpec() v1alpha1.LLMPolicySpec {
	return v1alpha1.LLMPolicySpec{Providers: []v1alpha1.Provider{{Name: "openai", Type: v1alpha1.ProviderOpenAI}}}
}

func create(t *testing.T, p *v1alpha1.LLMPolicy) {
	t.Helper()
	require.NoError(t, env.Client.Create(context.Background(), p))
	t.Cleanup(func() { _ = env.Client.Delete(context.Background(), p) })
}

// The control plane built from the module proxy reports its real version
// (helm and `kubectl version` refuse a v0.0.0-master server).
func TestControlPlane_ReportsItsVersion(t *testing.T) {
	want, _, ok := strings.Cut(filepath.Base(filepath.Dir(env.Kubectl)), "-etcd-")
	require.True(t, ok, "the assets directory is named <kube version>-etcd-<etcd version>: %s", env.Kubectl)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, env.Kubectl, "--kubeconfig", env.Kubeconfig, "version", "-o", "json").Output()
	require.NoError(t, err, "kubectl version: %s", out)
	var v struct {
		ClientVersion struct{ GitVersion string } `json:"clientVersion"`
		ServerVersion struct{ GitVersion string } `json:"serverVersion"`
	}
	require.NoError(t, json.Unmarshal(out, &v))
	assert.Equal(t, want, v.ServerVersion.GitVersion, "kube-apiserver")
	assert.Equal(t, want, v.ClientVersion.GitVersion, "kubectl")
}

// TestCRD_ReporterListsHoldMaxReporters: the ledger refuses a pod beyond
// v1alpha1.MaxReporters because the CRD's status lists cannot hold more;
// the two must say the same number.
func TestCRD_ReporterListsHoldMaxReporters(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(env.RepoRoot, "config", "crd", "bases", "tollgate.dev_llmpolicies.yaml"))
	require.NoError(t, err)
	var crd apiextensionsv1.CustomResourceDefinition
	require.NoError(t, yaml.Unmarshal(raw, &crd))
	require.Len(t, crd.Spec.Versions, 1)
	status := crd.Spec.Versions[0].Schema.OpenAPIV3Schema.Properties["status"]
	for path, list := range map[string]apiextensionsv1.JSONSchemaProps{
		"status.budget.ledger.reporters": status.Properties["budget"].Properties["ledger"].Properties["reporters"],
		"status.dryRun.reporters":        status.Properties["dryRun"].Properties["reporters"],
	} {
		require.NotNil(t, list.MaxItems, "%s has no maxItems", path)
		assert.Equal(t, int64(v1alpha1.MaxReporters), *list.MaxItems, "%s: keep its MaxItems marker and v1alpha1.MaxReporters in step", path)
	}
}

package crd

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	v1alpha1 "tollgate.dev/tollgate/api/v1alpha1"
	"tollgate.dev/tollgate/api/v1alpha1/validation"
	"tollgate.dev/tollgate/internal/translate"
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
	assert.Equal(t, []string{"Ready", "Budget", "Spent", "Limit", "Pods", "Age"}, columns)
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
	// Values the sample sets are kept.
	assert.Equal(t, v1alpha1.Duration("30s"), s.Timeouts.FirstToken)
	assert.Equal(t, int32(5000), s.Cache.MaxEntries)
}

// TestDefaults_GoMatchesAPIServer keeps the Go defaulting used for standalone
// policy files in step with the CRD's default markers: each input is created
// through the API server and read back, and must equal the Go-defaulted input.
func TestDefaults_GoMatchesAPIServer(t *testing.T) {
	inputs := map[string]v1alpha1.LLMPolicySpec{
		"a minimal policy gets timeouts": minimalSpec(),
		"empty optional blocks get every default": func() v1alpha1.LLMPolicySpec {
			s := minimalSpec()
			s.Retry = &v1alpha1.Retry{}
			s.CircuitBreaker = &v1alpha1.CircuitBreaker{ConsecutiveFailures: ptr.To[int32](5)}
			s.RateLimit = &v1alpha1.RateLimit{MaxConcurrent: ptr.To[int32](4)}
			s.Budget = &v1alpha1.Budget{Limit: "10"}
			s.Cache = &v1alpha1.Cache{}
			return s
		}(),
		"partial blocks keep what is set": func() v1alpha1.LLMPolicySpec {
			s := minimalSpec()
			s.Timeouts = &v1alpha1.Timeouts{Total: "1m"}
			s.Retry = &v1alpha1.Retry{MaxAttempts: 5, Backoff: &v1alpha1.Backoff{Jitter: v1alpha1.JitterEqual}, RetryOn: []v1alpha1.RetryCondition{v1alpha1.RetryOnRateLimited}}
			s.Budget = &v1alpha1.Budget{Limit: "1.5", Period: v1alpha1.BudgetDaily}
			s.Cache = &v1alpha1.Cache{Enabled: ptr.To(false), TTL: "1h"}
			return s
		}(),
		"the sample": loadSample(t).Spec,
	}
	for name, spec := range inputs {
		t.Run(name, func(t *testing.T) {
			p := &v1alpha1.LLMPolicy{ObjectMeta: metav1.ObjectMeta{GenerateName: "defaults-", Namespace: namespace}, Spec: *spec.DeepCopy()}
			create(t, p)
			var fromServer v1alpha1.LLMPolicy
			require.NoError(t, env.Client.Get(context.Background(), types.NamespacedName{Namespace: namespace, Name: p.Name}, &fromServer))

			fromGo := &v1alpha1.LLMPolicy{ObjectMeta: metav1.ObjectMeta{Name: "from-go"}, Spec: *spec.DeepCopy()}
			validation.Default(fromGo)
			assert.Equal(t, fromServer.Spec, fromGo.Spec)
			assert.Empty(t, validation.Validate(fromGo), "the Go validator rejects a policy the API server accepted")
			_, err := translate.File(fromGo)
			assert.NoError(t, err, "the standalone file path rejects a policy the API server accepted")
		})
	}
}

func TestExplain_ShowsFieldDocs(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, env.Kubectl, "--kubeconfig", env.Kubeconfig, "explain", "llmpolicy.spec.retry").CombinedOutput()
	require.NoError(t, err, "kubectl explain: %s", out)
	for _, want := range []string{
		"Retry re-sends failed requests",
		"maxAttempts",
		"MaxAttempts is the most times a request is sent, the first attempt",
		"retryOn",
		"HonorRetryAfter makes the sidecar wait",
		"BudgetPercent caps retries",
	} {
		assert.Contains(t, string(out), want)
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

package ledgere2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"tollgate.dev/tollgate/api/v1alpha1"
)

// dryRunPolicyFile writes a policy in DryRun mode selecting app=chat, with
// the extra spec lines, and creates the same LLMPolicy in the API server.
func dryRunPolicyFile(t *testing.T, ns, name, mockURL, extra string) string {
	t.Helper()
	manifest := fmt.Sprintf(`apiVersion: tollgate.dev/v1alpha1
kind: LLMPolicy
metadata: {name: %s, namespace: %s}
spec:
  mode: DryRun
  podSelector: {matchLabels: {app: chat}}
  providers: [{name: openai, type: OpenAI, baseURL: %s}]
  pricing: [{model: gpt-4o-mini, inputPerMillion: "100", outputPerMillion: "100"}]
%s`, name, ns, mockURL, extra)
	path := filepath.Join(t.TempDir(), "policy.yaml")
	require.NoError(t, os.WriteFile(path, []byte(manifest), 0o600))
	createManifest(t, manifest)
	return path
}

// awaitDryRun waits until the policy's DryRun condition is True and
// status.dryRun counts want, and returns the condition.
func awaitDryRun(t *testing.T, ns, name string, want map[string]int64) metav1.Condition {
	t.Helper()
	var got *v1alpha1.LLMPolicy
	ok := assert.Eventually(t, func() bool {
		got = policyStatus(t, ns, name)
		c := meta.FindStatusCondition(got.Status.Conditions, v1alpha1.ConditionDryRun)
		return c != nil && c.Status == metav1.ConditionTrue && got.Status.DryRun != nil && assert.ObjectsAreEqual(want, got.Status.DryRun.Decisions)
	}, 15*time.Second, 50*time.Millisecond)
	require.True(t, ok, "status.dryRun %+v, conditions %+v; want decisions %v", got.Status.DryRun, got.Status.Conditions, want)
	return *meta.FindStatusCondition(got.Status.Conditions, v1alpha1.ConditionDryRun)
}

func TestDryRun_TheConditionCountsWhatThePodsSidecarsLetThroughWithoutABudget(t *testing.T) {
	mock := startMock(t)
	op := startLedger(t)
	ns := newNamespace(t)
	file := dryRunPolicyFile(t, ns, "shadow", mock.URL(), "  rateLimit: {requestsPerMinute: 2, maxWait: 1ms}\n")
	var sidecars []*sidecarProcess
	for _, name := range []string{"chat-1", "chat-2"} {
		sidecars = append(sidecars, startSidecarProcess(t, op.url, op.caFile, createPod(t, ns, name, "chat"), file, t.TempDir()))
	}
	for _, s := range sidecars {
		for range 5 {
			status, reason := s.chat()
			require.Equal(t, http.StatusOK, status, "DryRun refuses nothing: %s", reason)
		}
	}
	require.Equal(t, 10, len(mock.Requests()))

	c := awaitDryRun(t, ns, "shadow", map[string]int64{"rate_limited": 6})
	assert.Equal(t, v1alpha1.ReasonWouldHaveActed, c.Reason)
	assert.Contains(t, c.Message, "Enforce would have acted on 6 request(s) in the Daily period from")
	assert.Contains(t, c.Message, "rate_limited 6")
	st := policyStatus(t, ns, "shadow").Status
	assert.Nil(t, st.Budget, "no budget, no budget status")
	assert.Len(t, st.DryRun.Reporters, 2, "each pod's latest report")
	for _, s := range sidecars {
		assert.Equal(t, 3.0, s.metric("tollgate_dryrun_decisions_total", "action", "rate_limited"))
		assert.Positive(t, s.metric("tollgate_ledger_syncs_total", "result", "success"))
	}

	// A sidecar that restarts counts from zero; what it reported stays.
	s := sidecars[0]
	require.NoError(t, s.process.Stop(10*time.Second))
	s.start()
	for range 3 {
		status, _ := s.chat()
		require.Equal(t, http.StatusOK, status)
	}
	awaitDryRun(t, ns, "shadow", map[string]int64{"rate_limited": 7})
}

func TestDryRun_SpendPastTheBudgetIsReportedExactlyAndNothingIsBlocked(t *testing.T) {
	mock := startMock(t)
	op := startLedger(t)
	ns := newNamespace(t)
	// Each answer costs 70 tokens at $100 per million: $0.007. A $0.02
	// budget is spent after three.
	file := dryRunPolicyFile(t, ns, "shadow", mock.URL(), "  budget: {period: Daily, limit: \"0.02\"}\n")
	s := startSidecarProcess(t, op.url, op.caFile, createPod(t, ns, "chat-1", "chat"), file, t.TempDir())
	for range 3 {
		status, reason := s.chat()
		require.Equal(t, http.StatusOK, status, reason)
	}
	requireSpent(t, ns, "shadow", unitCost.Mul(decimal.NewFromInt(3)))
	assert.Equal(t, v1alpha1.BudgetExhausted, policyStatus(t, ns, "shadow").Status.Budget.State)
	require.Eventually(t, func() bool {
		var config struct{ Budget struct{ State string } }
		return json.Unmarshal([]byte(s.config()), &config) == nil && config.Budget.State == "Exhausted"
	}, 10*time.Second, 50*time.Millisecond, "the sidecar learns from the ledger that the budget is spent")

	for range 5 {
		status, reason := s.chat()
		require.Equal(t, http.StatusOK, status, "DryRun blocks nothing: %s", reason)
	}
	requireSpent(t, ns, "shadow", unitCost.Mul(decimal.NewFromInt(8)))
	awaitDryRun(t, ns, "shadow", map[string]int64{"budget_exhausted": 5})
	st := policyStatus(t, ns, "shadow")
	assert.Equal(t, "True", conditionStatus(st, v1alpha1.ConditionBudgetExhausted), "the budget conditions are as in Enforce")
	assert.Equal(t, "0", st.Status.Budget.Remaining)
	assert.Equal(t, 8, len(mock.Requests()))
}

// createManifest creates the LLMPolicy of a YAML manifest.
func createManifest(t *testing.T, manifest string) {
	t.Helper()
	var p v1alpha1.LLMPolicy
	require.NoError(t, yaml.UnmarshalStrict([]byte(manifest), &p))
	require.NoError(t, env.Client.Create(context.Background(), &p))
}

// config reads the sidecar's /config.
func (s *sidecarProcess) config() string {
	resp, err := http.Get(s.admin + "/config")
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

package ledgere2e

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"

	"tollgate.dev/tollgate/api/v1alpha1"
	sidecarledger "tollgate.dev/tollgate/internal/sidecar/ledger"
	"tollgate.dev/tollgate/internal/translate"
	"tollgate.dev/tollgate/pkg/llmclient"
)

// TestBudget_RaisingTheLimitLiftsTheBlockAtOnce spends a small budget to
// its end, raises its limit, and hands the sidecar the edited policy as a
// reload would: the next request passes, without waiting for the
// sidecar's next sync (1s away, the default interval) to say the budget
// is no longer exhausted.
func TestBudget_RaisingTheLimitLiftsTheBlockAtOnce(t *testing.T) {
	ctx := context.Background()
	mock := startMock(t)
	op := startLedger(t)
	ns := newNamespace(t)
	policy := createPolicy(t, budgetPolicy(ns, "small", "0.02", mock.URL()))
	s := startSidecar(t, []string{op.url}, op.caFile, createPod(t, ns, "chat-1", "chat"), policy, "", withDefaultInterval)
	for range 10 {
		if status, _ := s.chat(t); status != http.StatusOK {
			break
		}
	}
	refused := s.send(t, chatBody)
	require.Equal(t, http.StatusTooManyRequests, refused.status)
	require.Equal(t, llmclient.CodeBudgetExhausted, refused.code)
	assert.Contains(t, refused.message, "has spent 0.014 of its Monthly budget of 0.02 USD, and what remains, 0.006 USD, is less than a request needs (this one may cost up to 0.008 USD)")

	key := types.NamespacedName{Namespace: ns, Name: "small"}
	var edited v1alpha1.LLMPolicy
	require.NoError(t, retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if err := env.Client.Get(ctx, key, &edited); err != nil {
			return err
		}
		edited.Spec.Budget.Limit = "1"
		return env.Client.Update(ctx, &edited)
	}))
	// The sidecar learns of the edit from the bundle the reconciler
	// renders once the operator's cache has it; here, once it has.
	require.Eventually(t, func() bool {
		var p v1alpha1.LLMPolicy
		return op.cache.Get(ctx, key, &p) == nil && p.Spec.Budget.Limit == "1"
	}, 10*time.Second, 5*time.Millisecond)
	// Once a sync of the sidecar's loop is done, its next is a second away.
	last := s.ledger.View()["lastSync"]
	require.Eventually(t, func() bool { return s.ledger.View()["lastSync"] != last }, 5*time.Second, time.Millisecond)
	raised, err := translate.File(&edited)
	require.NoError(t, err)

	reloaded := time.Now()
	s.ledger.Gate(raised.Name, *raised.Budget)
	status, reason := s.chat(t)
	took := time.Since(reloaded)
	t.Logf("the first request after the reload of the raised limit: %d %s after %s", status, reason, took.Round(time.Millisecond))
	assert.Equal(t, http.StatusOK, status, "refused on the ledger's word about the old limit: %s", reason)
	assert.Less(t, took, sidecarledger.DefaultInterval/2, "the sidecar asked the ledger at once, not at its next sync")
}

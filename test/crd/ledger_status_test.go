package crd

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	v1alpha1 "tollgate.dev/tollgate/api/v1alpha1"
	"tollgate.dev/tollgate/internal/operator/ledger"
	"tollgate.dev/tollgate/pkg/budget"
	"tollgate.dev/tollgate/pkg/ledgerapi"
	"tollgate.dev/tollgate/pkg/proxyconfig"
)

// TestStatus_AFullLedgerFitsInOneObject: the ledger follows up to
// v1alpha1.MaxReporters pods per policy, in the policy's status, which it
// writes with an Update. At that bound, with both lists full (a DryRun
// policy with a budget) and names as long as a Deployment's pods have,
// the API server must take the write: a status it refused would stop
// every pod's sync.
func TestStatus_AFullLedgerFitsInOneObject(t *testing.T) {
	now := time.Now().UTC()
	long := "chat-frontend-for-the-customer-support-team-in-emea-and-americas"
	p := &v1alpha1.LLMPolicy{ObjectMeta: metav1.ObjectMeta{Name: "full-ledger", Namespace: namespace}, Spec: minimalSpec()}
	p.Spec.Mode = v1alpha1.ModeDryRun
	p.Spec.Budget = &v1alpha1.Budget{Limit: "1000000"}
	create(t, p)

	book := ledger.NewBook(ledger.Settings{Period: proxyconfig.Monthly, Limit: proxyconfig.MustUSD("1000000"), SoftLimitPercent: 80},
		ledger.Timing{Lease: 30 * time.Second, Sync: time.Second}, now)
	tally := ledger.NewTally(proxyconfig.Monthly, now)
	period := budget.PeriodStart(proxyconfig.Monthly, now)
	for i := range v1alpha1.MaxReporters {
		id := ledger.Identity{
			PodUID: fmt.Sprintf("%08x-1f2e-4d3c-8b7a-%012x", i, i*7919),
			// A pod's name is at most 63 characters; so is its workload's.
			Pod:      fmt.Sprintf("%s-7d9f8b6c5d-%05x", long[:63-17], i),
			Workload: fmt.Sprintf("Deployment/%s-%02d", long[:60], i%40),
		}
		batch := &ledgerapi.Batch{Seq: 1, Periods: []ledgerapi.PeriodSpend{{Start: period, Spent: ledgerapi.NewAmount(proxyconfig.MustUSD("0.012345")), Requests: 3}}}
		_, err := book.Sync(id, ledgerapi.SyncRequest{Batch: batch, Need: ledgerapi.NewAmount(proxyconfig.MustUSD("0.05"))}, fmt.Sprintf("epoch-%d", i), now)
		require.NoError(t, err)
		require.NoError(t, tally.Report(id, &ledgerapi.DryRunReport{Epoch: fmt.Sprintf("epoch-%d", i), PeriodStart: period,
			Decisions: map[string]int64{"rate_limited": int64(i), "budget_exhausted": 2, "circuit_open": 1}}, now))
	}

	var got v1alpha1.LLMPolicy
	require.NoError(t, env.Client.Get(context.Background(), types.NamespacedName{Namespace: namespace, Name: p.Name}, &got))
	got.Status.Budget = book.Snapshot(now)
	got.Status.DryRun = tally.Snapshot(now)
	require.NoError(t, env.Client.Status().Update(context.Background(), &got), "the API server refuses a full ledger's status")

	require.NoError(t, env.Client.Get(context.Background(), types.NamespacedName{Namespace: namespace, Name: p.Name}, &got))
	assert.Len(t, got.Status.Budget.Ledger.Reporters, v1alpha1.MaxReporters)
	assert.Len(t, got.Status.DryRun.Reporters, v1alpha1.MaxReporters)
	// The object as the API server keeps it. An object too large for etcd
	// with its managedFields is stored without them (kube-apiserver retries
	// the write so; at 2000 pods it did): they must be there.
	cs, err := kubernetes.NewForConfig(env.Config)
	require.NoError(t, err)
	raw, err := cs.RESTClient().Get().AbsPath("/apis/tollgate.dev/v1alpha1/namespaces", namespace, "llmpolicies", p.Name).DoRaw(context.Background())
	require.NoError(t, err)
	var stored struct {
		Metadata struct {
			ManagedFields []json.RawMessage `json:"managedFields"`
		} `json:"metadata"`
	}
	require.NoError(t, json.Unmarshal(raw, &stored))
	assert.NotEmpty(t, stored.Metadata.ManagedFields, "the API server dropped managedFields: the object was too large with them")
	t.Logf("a policy whose status lists %d pods twice: %d KiB with managedFields (etcd's limit: 1536 KiB)", v1alpha1.MaxReporters, len(raw)/1024)
	assert.Less(t, len(raw), 1536<<10*3/4, "a quarter of etcd's limit is left for what this test does not fill (conditions, more spenders)")
}

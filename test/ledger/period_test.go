package ledgere2e

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	eventsv1 "k8s.io/api/events/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	operatorledger "tollgate.dev/tollgate/internal/operator/ledger"
	sidecarledger "tollgate.dev/tollgate/internal/sidecar/ledger"
	"tollgate.dev/tollgate/pkg/llmclient"
)

// TestBudget_APeriodRolloverUnderLoadKeepsTheOldTotalAndLosesNoRequest runs
// five sidecars across the end of May on a clock the ledger and the
// sidecars share, which follows real time from 23:59:58.
func TestBudget_APeriodRolloverUnderLoadKeepsTheOldTotalAndLosesNoRequest(t *testing.T) {
	// The clock stands at 23:59:57 while the pods and sidecars are set up,
	// and runs from when the load starts.
	c := &clock{now: time.Date(2026, 5, 31, 23, 59, 57, 0, time.UTC)}
	stopClock := make(chan struct{})
	defer close(stopClock)
	mock := slowMock(t)
	op := startLedger(t, func(o *operatorledger.Options) { o.Now = c.Now })
	ns := newNamespace(t)
	policy := createPolicy(t, budgetPolicy(ns, "monthly", "1000", mock.URL()))
	var sidecars []*sidecar
	for _, name := range names("chat", 5) {
		sidecars = append(sidecars, startSidecar(t, []string{op.url}, op.caFile, createPod(t, ns, name, "chat"), policy, "",
			func(o *sidecarledger.Options) { o.Now = c.Now }))
	}
	stop := make(chan struct{})
	go c.run(stopClock)
	l := runLoad(t, sidecars, stop)
	require.Eventually(t, func() bool { return c.Now().After(time.Date(2026, 6, 1, 0, 0, 2, 0, time.UTC)) }, 10*time.Second, 10*time.Millisecond)
	close(stop)
	l.wg.Wait()
	for _, s := range sidecars {
		s.stop()
	}

	answered := int64(len(mock.Requests()))
	total := unitCost.Mul(decimal.NewFromInt(answered))
	var may, june decimal.Decimal
	ok := assert.Eventually(t, func() bool {
		b := policyStatus(t, ns, "monthly").Status.Budget
		if b == nil || b.LastPeriod == nil {
			return false
		}
		may, june = decimal.RequireFromString(b.LastPeriod.Spent), decimal.RequireFromString(b.Spent)
		return may.Add(june).Equal(total)
	}, 15*time.Second, 50*time.Millisecond)
	require.True(t, ok, "May's (%s) and June's (%s) totals add up to every answer priced (%s): %+v", may, june, total, policyStatus(t, ns, "monthly").Status.Budget)
	b := policyStatus(t, ns, "monthly").Status.Budget
	assert.Equal(t, time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC), b.LastPeriod.Start.UTC())
	assert.Equal(t, time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC), b.PeriodStart.UTC())
	assert.True(t, may.IsPositive() && june.IsPositive(), "spend on both sides of midnight (May %s, June %s)", may, june)
	assert.Equal(t, answered, b.LastPeriod.Requests+b.Requests, "every request is in one period or the other")
	t.Logf("across the rollover: %d requests, May %s USD (%d requests), June %s USD (%d requests)", answered, may, b.LastPeriod.Requests, june, b.Requests)
}

// TestBudget_SoftAndHardLimitsSetConditionsAndOneWarningEventEachPerPeriod
// spends a small budget to its end, twice: once per period.
func TestBudget_SoftAndHardLimitsSetConditionsAndOneWarningEventEachPerPeriod(t *testing.T) {
	c := &clock{now: time.Date(2026, 5, 30, 12, 0, 0, 0, time.UTC)}
	mock := startMock(t)
	op := startLedger(t, func(o *operatorledger.Options) { o.Now = c.Now })
	ns := newNamespace(t)
	p := budgetPolicy(ns, "small", "0.1", mock.URL())
	policy := createPolicy(t, p)
	s := startSidecar(t, []string{op.url}, op.caFile, createPod(t, ns, "chat-1", "chat"), policy, "", func(o *sidecarledger.Options) { o.Now = c.Now })

	spendAll := func() {
		for range 100 {
			if status, reason := s.chat(t); status != http.StatusOK {
				require.Equal(t, llmclient.CodeBudgetExhausted, reason)
				return
			}
		}
		t.Fatal("the budget was never exhausted")
	}
	spendAll()
	require.Eventually(t, func() bool {
		st := policyStatus(t, ns, "small")
		return conditionStatus(st, "BudgetSoftLimit") == "True" && conditionStatus(st, "BudgetExhausted") == "True"
	}, 10*time.Second, 50*time.Millisecond)
	spendAll() // still exhausted: no new events
	requireEvents(t, ns, map[string]int{"SoftLimitReached": 1, "LimitReached": 1})

	// June: a new period, the conditions are clear, and crossing again
	// warns again.
	c.mu.Lock()
	c.now = time.Date(2026, 6, 1, 0, 0, 1, 0, time.UTC)
	c.mu.Unlock()
	require.Eventually(t, func() bool {
		st := policyStatus(t, ns, "small")
		return st.Status.Budget.LastPeriod != nil && conditionStatus(st, "BudgetExhausted") == "False"
	}, 10*time.Second, 50*time.Millisecond)
	spendAll()
	requireEvents(t, ns, map[string]int{"SoftLimitReached": 2, "LimitReached": 2})
	st := policyStatus(t, ns, "small")
	assert.Equal(t, "Exhausted", string(st.Status.Budget.State))

	// The operator's metrics say the same.
	labels := []string{"namespace", ns, "policy", "small"}
	assert.Equal(t, 2.0, gauge(t, "tollgate_budget_state", labels...), "2 is Exhausted")
	assert.Equal(t, 0.1, gauge(t, "tollgate_budget_limit_usd", labels...))
	spent, _ := decimal.RequireFromString(st.Status.Budget.Spent).Float64()
	assert.InDelta(t, spent, gauge(t, "tollgate_budget_spent_usd", labels...), 1e-12)
}

// gauge reads a metric of the in-process ledger from controller-runtime's
// registry, where the operator exports it.
func gauge(t *testing.T, name string, labels ...string) float64 {
	t.Helper()
	families, err := ctrlmetrics.Registry.Gather()
	require.NoError(t, err)
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	metrics:
		for _, m := range f.GetMetric() {
			have := map[string]string{}
			for _, l := range m.GetLabel() {
				have[l.GetName()] = l.GetValue()
			}
			for i := 0; i+1 < len(labels); i += 2 {
				if have[labels[i]] != labels[i+1] {
					continue metrics
				}
			}
			return m.GetGauge().GetValue()
		}
	}
	t.Fatalf("no %s%v", name, labels)
	return 0
}

// requireEvents waits until the Warning Events of ns count want by reason,
// and checks no more come.
func requireEvents(t *testing.T, ns string, want map[string]int) {
	t.Helper()
	count := func() map[string]int {
		var list eventsv1.EventList
		require.NoError(t, env.Client.List(context.Background(), &list, client.InNamespace(ns)))
		got := map[string]int{}
		for _, e := range list.Items {
			if e.Type == "Warning" {
				n := 1
				if e.Series != nil {
					n = int(e.Series.Count)
				}
				got[e.Reason] += n
			}
		}
		return got
	}
	var mu sync.Mutex
	var got map[string]int
	require.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		got = count()
		for reason, n := range want {
			if got[reason] != n {
				return false
			}
		}
		return true
	}, 10*time.Second, 100*time.Millisecond, "Warning Events by reason: want %v", want)
	time.Sleep(3 * testCommit)
	assert.Equal(t, got, count(), "no more Events than one per crossing")
}

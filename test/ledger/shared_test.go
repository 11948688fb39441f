package ledgere2e

import (
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tollgate.dev/tollgate/internal/testkit/mockprovider"
	"tollgate.dev/tollgate/pkg/llmclient"
)

// unitCost is what one mock answer costs: (50 + 20) tokens at $100/M.
var unitCost = decimal.RequireFromString("0.007")

// TestBudget_TwentySidecarsShareOneBudget runs 20 sidecars of one policy
// concurrently against one $2 budget until every one of them is refused,
// then checks the bounds the ledger promises.
func TestBudget_TwentySidecarsShareOneBudget(t *testing.T) {
	mock := startMock(t)
	// Answers that take a moment, as real ones do, so that the sidecars
	// spend side by side rather than one after another.
	mock.SetDefault(mockprovider.Step{FirstByteDelay: 20 * time.Millisecond, Usage: &mockprovider.Usage{InputTokens: 50, OutputTokens: 20}})
	op := startLedger(t)
	ns := newNamespace(t)
	policy := createPolicy(t, budgetPolicy(ns, "shared", "2", mock.URL()))

	const n = 20
	sidecars := make([]*sidecar, n)
	for i, name := range names("chat", n) {
		workload := "chat"
		if i%4 == 0 {
			workload = "batch"
		}
		sidecars[i] = startSidecar(t, []string{op.url}, op.caFile, createPod(t, ns, name, workload), policy, "")
	}

	var admitted, blocked atomic.Int64
	var wg sync.WaitGroup
	for _, s := range sidecars {
		wg.Add(1)
		go func() {
			defer wg.Done()
			refusals := 0
			for refusals < 3 {
				status, reason := s.chat(t)
				switch {
				case status == http.StatusOK:
					admitted.Add(1)
				case reason == llmclient.CodeBudgetExhausted:
					blocked.Add(1)
					refusals++
				default:
					t.Errorf("unexpected answer %d %s", status, reason)
					return
				}
			}
		}()
	}
	wg.Wait()
	for _, s := range sidecars {
		s.stop() // each reports what is left, as on SIGTERM
	}

	answered := int64(len(mock.Requests()))
	want := unitCost.Mul(decimal.NewFromInt(answered))
	var st *decimal.Decimal
	require.Eventually(t, func() bool {
		p := policyStatus(t, ns, "shared")
		if p.Status.Budget == nil {
			return false
		}
		got := decimal.RequireFromString(p.Status.Budget.Spent)
		st = &got
		return got.Equal(want)
	}, 10*time.Second, 50*time.Millisecond, "status.budget.spent must equal the mock's usage priced: %d answers = %s", answered, want)
	assert.Equal(t, admitted.Load(), answered, "every admitted request reached the provider, and only those")

	limit := decimal.RequireFromString("2")
	overshoot := decimal.Max(st.Sub(limit), decimal.Zero)
	afterLimit := admittedAfterLimit(sidecars, limit)
	t.Logf("20 sidecars, one $2 budget: %d requests admitted, %d refused; spent %s (exact: %d × %s); overshoot past the limit %s USD; requests admitted after the limit was reached: %d",
		answered, blocked.Load(), st, answered, unitCost, overshoot, afterLimit)
	assert.True(t, overshoot.IsZero(), "each request cost at most its reservation, so nothing overshoots")
	assert.Zero(t, afterLimit)
	// What remains comes back from the pods that hold it in fragments and
	// is granted in whole requests, so the budget is spent down to less
	// than one request, not one per sidecar.
	assert.True(t, st.GreaterThan(limit.Sub(unitCost)), "the budget was spent down to less than one request (%s)", st)

	spenders := 0
	for _, s := range sidecars {
		s.mu.Lock()
		for _, r := range s.reports {
			if r.Status == http.StatusOK {
				spenders++
				break
			}
		}
		s.mu.Unlock()
	}
	t.Logf("%d of the %d sidecars spent", spenders, n)
	assert.GreaterOrEqual(t, spenders, n*3/4, "the budget is shared, not taken by the first sidecar")

	p := policyStatus(t, ns, "shared")
	assert.Equal(t, "Exhausted", string(p.Status.Budget.State))
	require.Len(t, p.Status.Budget.TopSpenders, 2)
	byWorkload := map[string]decimal.Decimal{}
	for _, w := range p.Status.Budget.TopSpenders {
		byWorkload[w.Workload] = decimal.RequireFromString(w.Spent)
	}
	assert.True(t, byWorkload["Deployment/chat"].Add(byWorkload["Deployment/batch"]).Equal(*st), "spend by workload adds up")
}

// admittedAfterLimit counts requests that started after the moment the
// spend of the requests already finished reached limit.
func admittedAfterLimit(sidecars []*sidecar, limit decimal.Decimal) int {
	type event struct {
		at   time.Time
		cost decimal.Decimal
	}
	var ends []event
	var starts []time.Time
	for _, s := range sidecars {
		s.mu.Lock()
		for _, r := range s.reports {
			if r.Status == http.StatusOK {
				ends = append(ends, event{r.Start.Add(r.Latency), r.CostUSD.Decimal()})
				starts = append(starts, r.Start)
			}
		}
		s.mu.Unlock()
	}
	sort.Slice(ends, func(i, j int) bool { return ends[i].at.Before(ends[j].at) })
	var sum decimal.Decimal
	var reached time.Time
	for _, e := range ends {
		sum = sum.Add(e.cost)
		if sum.GreaterThanOrEqual(limit) {
			reached = e.at
			break
		}
	}
	if reached.IsZero() {
		return 0
	}
	n := 0
	for _, s := range starts {
		if s.After(reached) {
			n++
		}
	}
	return n
}

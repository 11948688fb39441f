package ledger

import (
	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	"tollgate.dev/tollgate/api/v1alpha1"
	"tollgate.dev/tollgate/pkg/ledgerapi"
	"tollgate.dev/tollgate/pkg/proxyconfig"
)

// The ledger's metrics, on controller-runtime's registry (the operator's
// /metrics). Label values are namespaces and policy names the API server
// validated, and fixed sets: never a sidecar's input.
var (
	spentUSD = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "tollgate_budget_spent_usd",
		Help: "USD spent in the current budget period by the pods of a policy, summed by the ledger (as last written to status).",
	}, []string{"namespace", "policy"})
	limitUSD = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "tollgate_budget_limit_usd",
		Help: "The budget limit of a policy, in USD per period.",
	}, []string{"namespace", "policy"})
	budgetState = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "tollgate_budget_state",
		Help: "Where a policy's spend stands: 0 Ok, 1 SoftLimit (past softLimitPercent), 2 Exhausted.",
	}, []string{"namespace", "policy"})
	unverifiedUSD = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "tollgate_budget_unverified_usd",
		Help: "USD of the current period's spend that sidecars admitted without an allowance while they could not reach the ledger.",
	}, []string{"namespace", "policy"})
	syncs = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "tollgate_ledger_syncs_total",
		Help: "Sidecar syncs, by result: success, canceled (the sidecar gave up on it), or the refusal's code (unauthenticated, forbidden, unknown_policy, bad_request, too_large, out_of_order, unavailable, ...).",
	}, []string{"result"})
	syncSeconds = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "tollgate_ledger_sync_duration_seconds",
		Help:    "Time to answer a sidecar sync, the wait for its status write included.",
		Buckets: []float64{.005, .01, .05, .1, .25, .5, 1, 2, 3, 5, 10},
	})
	syncProcessingSeconds = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "tollgate_ledger_sync_processing_seconds",
		Help:    "Time to answer a sidecar sync without its waits: the token's review (cached for a minute), the policy and pod checks and the book's update. What is left of tollgate_ledger_sync_duration_seconds is the wait for the next commit (expedited for a sync a request waits on) and, for such a sync, for allowance another pod gives back.",
		Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1},
	})
	statusWrites = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "tollgate_ledger_status_writes_total",
		Help: "Writes of a policy's status.budget by the ledger, by result.",
	}, []string{"result"})
)

func init() {
	metrics.Registry.MustRegister(spentUSD, limitUSD, budgetState, unverifiedUSD, syncs, syncSeconds, syncProcessingSeconds, statusWrites)
	// Both of result's values from the start: the chart alerts on the
	// rate of errors.
	for _, r := range []string{"success", "error"} {
		statusWrites.WithLabelValues(r)
	}
}

// observe exports a policy's budget as written to status.
func observe(key types.NamespacedName, st *v1alpha1.BudgetStatus, limit proxyconfig.USD) {
	labels := []string{key.Namespace, key.Name}
	if spent, err := ledgerapi.ParseAmount(st.Spent); err == nil {
		spentUSD.WithLabelValues(labels...).Set(spent.Float64())
	}
	limitUSD.WithLabelValues(labels...).Set(limit.Float64())
	state := 0.0
	switch st.State {
	case v1alpha1.BudgetSoftLimit:
		state = 1
	case v1alpha1.BudgetExhausted:
		state = 2
	}
	budgetState.WithLabelValues(labels...).Set(state)
	unverified := 0.0
	if u, err := ledgerapi.ParseAmount(st.Unverified); err == nil {
		unverified = u.Float64()
	}
	unverifiedUSD.WithLabelValues(labels...).Set(unverified)
}

// forget drops the series of a policy that is gone.
func forget(key types.NamespacedName) {
	for _, g := range []*prometheus.GaugeVec{spentUSD, limitUSD, budgetState, unverifiedUSD} {
		g.DeleteLabelValues(key.Namespace, key.Name)
	}
}

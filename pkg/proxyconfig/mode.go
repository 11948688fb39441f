package proxyconfig

// Mode is whether a policy acts on requests or only counts what it would
// have done.
type Mode string

// Modes; the same names as the LLMPolicy API's.
const (
	ModeEnforce Mode = "Enforce"
	ModeDryRun  Mode = "DryRun"
)

// DryRun reports whether p is in DryRun mode: evaluated on every request,
// acting on none.
func (p *Policy) DryRun() bool { return p.Mode == ModeDryRun }

// DryRunPeriod is the period the dry-run counts of p are kept for: its
// budget's, or a day without a budget.
func (p *Policy) DryRunPeriod() BudgetPeriod {
	if p.Budget != nil {
		return p.Budget.Period
	}
	return Daily
}

// DryRunAction names what a policy in Enforce mode would have done to a
// request that a policy in DryRun mode let through. The values are label
// values of the sidecar's metrics and keys of the LLMPolicy's
// status.dryRun.decisions: a fixed set.
type DryRunAction string

// Dry-run actions, in the order the checks run: a request counts under the
// first that would have acted, since Enforce would have stopped there.
const (
	// DryRunModelNotAllowed: tollgate_model_not_allowed, a model outside
	// the provider's models.
	DryRunModelNotAllowed DryRunAction = "model_not_allowed"
	// DryRunModelUnpriced: tollgate_model_unpriced, a model without a
	// price under a budget.
	DryRunModelUnpriced DryRunAction = "model_unpriced"
	// DryRunBudgetExhausted: tollgate_budget_exhausted, the budget spent
	// and onExhausted Block (or no downgrade for the request's shape).
	DryRunBudgetExhausted DryRunAction = "budget_exhausted"
	// DryRunBudgetDowngrade: the budget spent and the request sent to
	// budget.downgradeTo.
	DryRunBudgetDowngrade DryRunAction = "budget_downgrade"
	// DryRunBudgetUnavailable: tollgate_budget_unavailable, the allowance
	// spent and the ledger out of reach under whenLedgerUnreachable: Block.
	DryRunBudgetUnavailable DryRunAction = "budget_unavailable"
	// DryRunRateLimited: tollgate_rate_limited, over rateLimit.
	DryRunRateLimited DryRunAction = "rate_limited"
	// DryRunCircuitOpen: an attempt to a target whose breaker was open,
	// which Enforce would have skipped for the next fallback rung or
	// refused with tollgate_circuit_open.
	DryRunCircuitOpen DryRunAction = "circuit_open"
)

// DryRunActions returns every dry-run action, in the order of the checks.
func DryRunActions() []DryRunAction {
	return []DryRunAction{DryRunModelNotAllowed, DryRunModelUnpriced, DryRunBudgetExhausted, DryRunBudgetDowngrade,
		DryRunBudgetUnavailable, DryRunRateLimited, DryRunCircuitOpen}
}

// DryRunActionsOf returns the actions p can count: those of the checks
// its settings make (budget_unavailable with any budget, although only a
// budget the ledger shares can be unavailable).
func (p *Policy) DryRunActionsOf() []DryRunAction {
	var out []DryRunAction
	for _, pr := range p.Providers {
		if len(pr.Models) > 0 {
			out = append(out, DryRunModelNotAllowed)
			break
		}
	}
	if b := p.Budget; b != nil {
		out = append(out, DryRunModelUnpriced, DryRunBudgetExhausted)
		if b.OnExhausted == Downgrade {
			out = append(out, DryRunBudgetDowngrade)
		}
		out = append(out, DryRunBudgetUnavailable)
	}
	if p.RateLimit != nil {
		out = append(out, DryRunRateLimited)
	}
	if p.CircuitBreaker != nil {
		out = append(out, DryRunCircuitOpen)
	}
	return out
}

// ValidDryRunAction reports whether a is one of DryRunActions.
func ValidDryRunAction(a string) bool {
	for _, v := range DryRunActions() {
		if string(v) == a {
			return true
		}
	}
	return false
}

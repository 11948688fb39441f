package llmclient

import (
	"fmt"
	"net/http"
	"time"

	"tollgate.dev/tollgate/pkg/budget"
	"tollgate.dev/tollgate/pkg/policy"
	"tollgate.dev/tollgate/pkg/pricing"
	"tollgate.dev/tollgate/pkg/provider"
	"tollgate.dev/tollgate/pkg/proxyconfig"
)

// HeaderBudget tells the app where the policy's budget stands when it is
// past its soft limit ("soft-limit") or exhausted and the answer came from
// the downgrade model ("downgraded").
const HeaderBudget = "X-Tollgate-Budget"

// DefaultMaxOutputTokens is the output a request that sets no max tokens
// is assumed to be able to produce, for the budget's pre-flight bound.
const DefaultMaxOutputTokens = 4096

// Budget notices, reported once per period (Report.BudgetNotice).
const (
	NoticeSoftLimit = "soft_limit_reached"
	NoticeExhausted = "budget_exhausted"
)

// budgetFor returns the gate enforcing p's budget: opts.Budget when set
// (a namespace-wide ledger), else a local gate — the previous Transport's
// when it enforced the same policy, updated in place so that spend
// survives a reload.
func budgetFor(p proxyconfig.Policy, opts Options) (budget.Gate, *budget.Local) {
	if p.Budget == nil {
		return nil, nil
	}
	if opts.Budget != nil {
		return opts.Budget, nil
	}
	settings := budget.SettingsFrom(*p.Budget)
	if prev := opts.Previous; prev != nil && prev.local != nil && prev.policyRef == p.Ref() {
		prev.local.Update(settings)
		return prev.local, prev.local
	}
	local := budget.NewLocal(settings, opts.Now)
	return local, local
}

// priceOf returns the price of model on the provider named name.
func (t *Transport) priceOf(name, model string) (pricing.Price, bool) {
	p := t.providers[name]
	if p == nil {
		return pricing.Price{}, false
	}
	return t.prices.Lookup(p.cfg.Type, model)
}

// reserve asks the budget for the most rq can cost. It returns the
// reservation (nil without a budget) and, when the budget is exhausted, a
// refusal (Block) or the target to downgrade to.
func (t *Transport) reserve(ex *exchange) (*budget.Reservation, *refusal) {
	if t.budget == nil {
		return nil, nil
	}
	var maxCost proxyconfig.USD
	if price, ok := t.priceOf(ex.prov.cfg.Name, ex.rq.Model); ok {
		output := ex.rq.MaxTokens
		if output <= 0 {
			output = DefaultMaxOutputTokens
		}
		maxCost = price.MaxCost(provider.EstimatePromptTokens(ex.rq), output)
	}
	res, d := t.budget.Reserve(maxCost)
	rep := ex.rep
	rep.BudgetState = string(d.State)
	switch {
	case d.FirstExhausted:
		rep.BudgetNotice = NoticeExhausted
	case d.FirstSoftCrossing:
		rep.BudgetNotice = NoticeSoftLimit
	}
	switch d.Action {
	case budget.Allow:
		if d.State == budget.StateSoftLimit {
			ex.budgetHeader = "soft-limit"
		}
		return res, nil
	case budget.Downgrade:
		if d.DowngradeTo != nil {
			if target := ex.rung(proxyconfig.Fallback{Provider: d.DowngradeTo.Provider, Model: d.DowngradeTo.Model}); target != nil {
				ex.downgrade = target
				ex.budgetHeader = "downgraded"
				return res, nil
			}
		}
		res.Release()
		return nil, &refusal{status: http.StatusTooManyRequests, code: CodeBudgetExhausted, retryAfter: d.ResetAt.Sub(t.now()),
			message: fmt.Sprintf("policy %s has spent its %s budget (%s of %s USD) and cannot downgrade this request: provider %s does not accept the %s API shape; the budget resets at %s",
				t.policyRef, budgetPeriod(t), d.Spent, d.Limit, downgradeProvider(d), ex.rq.Shape, d.ResetAt.UTC().Format(time.RFC3339))}
	default:
		return nil, &refusal{status: http.StatusTooManyRequests, code: CodeBudgetExhausted, retryAfter: d.ResetAt.Sub(t.now()),
			message: fmt.Sprintf("policy %s has spent its %s budget (%s of %s USD); it resets at %s. Raise spec.budget.limit or wait",
				t.policyRef, budgetPeriod(t), d.Spent, d.Limit, d.ResetAt.UTC().Format(time.RFC3339))}
	}
}

func budgetPeriod(t *Transport) string {
	if b := t.set.Policy().Budget; b != nil {
		return string(b.Period)
	}
	return ""
}

func downgradeProvider(d budget.Decision) string {
	if d.DowngradeTo == nil {
		return "(none)"
	}
	return d.DowngradeTo.Provider
}

// settle prices the answer's usage on the target that served it and
// settles the budget reservation with the cost.
func (t *Transport) settle(rep *Report, res *budget.Reservation) {
	served := rep.Served
	if served.Provider == "" {
		served = policy.Target{Provider: rep.Provider, Model: rep.Model}
	}
	if rep.Static || rep.Cache == CacheHit || !rep.Usage.Known {
		rep.Priced = rep.Static || rep.Cache == CacheHit
		res.Release()
		return
	}
	price, ok := t.priceOf(served.Provider, servedModel(served, rep))
	if !ok {
		res.Release()
		return
	}
	rep.Priced = true
	u := rep.Usage
	rep.CostUSD = price.Cost(pricing.Tokens{
		Input:        u.InputTokens,
		CachedInput:  u.CachedInputTokens,
		CacheWrite:   u.CacheWriteTokens,
		CacheWrite1h: u.CacheWrite1hTokens,
		Output:       u.OutputTokens,
	})
	res.Settle(rep.CostUSD)
}

func servedModel(t policy.Target, rep *Report) string {
	if t.Model != "" {
		return t.Model
	}
	return rep.Model
}

// now is the Transport's clock (Options.Now).
func (t *Transport) now() time.Time {
	if t.opts.Now != nil {
		return t.opts.Now()
	}
	return time.Now()
}

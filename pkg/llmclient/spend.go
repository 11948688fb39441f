package llmclient

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
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
// is assumed to be able to produce, for the budget's pre-flight bound,
// when its model's price gives no output limit (pricing.Price's
// MaxOutputTokens, from the built-in table or spec.pricing).
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

// maxCost is the most ex can cost on the targets that may serve it: the
// primary and every fallback rung that can take the request (a fallback or
// a downgrade is never free), each priced at its model's price. A request
// pays for one answer, the most expensive target's; one whose answers are
// checked pays for each answer it gets (see paidAnswers). Under a budget
// every such model must have a price: a request whose cost cannot be
// bounded is refused with CodeModelUnpriced rather than sent for free.
func (t *Transport) maxCost(ex *exchange) (proxyconfig.USD, *refusal) {
	return t.costBound(ex, false)
}

// costBound is maxCost, over the targets that have a price when
// pricedOnly is set, else refused at the first target without one.
func (t *Transport) costBound(ex *exchange, pricedOnly bool) (proxyconfig.USD, *refusal) {
	var most, all proxyconfig.USD
	prompt := provider.EstimatePromptTokens(ex.rq)
	answers := t.paidAnswers(ex)
	for _, target := range t.targets(ex) {
		price, ok := t.priceOf(target.Provider, target.Model)
		switch {
		case !ok && pricedOnly:
			continue
		case !ok:
			return proxyconfig.USD{}, t.unpriced(target)
		}
		one := price.MaxCost(prompt, maxOutputTokens(ex.rq, price))
		most = proxyconfig.MaxUSD(most, one)
		all = all.Add(one.Times(answers))
	}
	if answers == 0 {
		return most, nil
	}
	return all, nil
}

// paidAnswers is how many answers ex may pay for on each target when its
// answers are checked: an invalid answer is paid for and thrown away, and
// the request goes on to the next rung, or, when retry.retryOn names
// InvalidOutput, to the target's next attempt. Zero when ex pays for one
// answer only: its answers are not checked, and a failed attempt brings
// no answer to pay for.
func (t *Transport) paidAnswers(ex *exchange) int64 {
	if v := ex.validation; v == nil || v.skip != "" {
		return 0
	}
	p := t.set.Policy()
	if p.Retry != nil && slices.Contains(p.Retry.RetryOn, proxyconfig.RetryOnInvalidOutput) {
		return int64(p.Retry.MaxAttempts)
	}
	return 1
}

// targets are the targets that may serve ex and cost money: the primary
// and every fallback rung that can take the request.
func (t *Transport) targets(ex *exchange) []policy.Target {
	targets := []policy.Target{{Provider: ex.prov.cfg.Name, Model: ex.rq.Model}}
	for _, f := range t.set.Policy().Fallbacks {
		if f.StaticResponse == "" {
			if target := ex.rung(f); target != nil {
				targets = append(targets, *target)
			}
		}
	}
	return targets
}

// unpriced is the refusal of a request under a budget that target, which
// has no price, may serve.
func (t *Transport) unpriced(target policy.Target) *refusal {
	if target.Model == "" {
		return &refusal{status: http.StatusBadRequest, code: CodeModelUnpriced,
			message: fmt.Sprintf("policy %s has a budget, and the model of this request to %s cannot be read, so its cost cannot be bounded; name the model in the request", t.policyRef, target.Provider)}
	}
	return &refusal{status: http.StatusForbidden, code: CodeModelUnpriced,
		message: fmt.Sprintf("policy %s has a budget, and model %s of provider %s has no price, so the cost of this request cannot be bounded; add the model to spec.pricing", t.policyRef, target.Model, target.Provider)}
}

// reserve asks the budget for the most rq can cost. It returns the
// reservation (nil without a budget) and, when the budget is exhausted, a
// refusal (Block) or the target to downgrade to.
func (t *Transport) reserve(ex *exchange) (*budget.Reservation, *refusal) {
	if t.budget == nil {
		return nil, nil
	}
	if t.set.DryRun() {
		return t.reserveDryRun(ex), nil
	}
	maxCost, unpriced := t.maxCost(ex)
	if unpriced != nil {
		return nil, unpriced
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
	if d.Unavailable {
		return nil, &refusal{status: http.StatusServiceUnavailable, code: CodeBudgetUnavailable, retryAfter: 5 * time.Second,
			message: fmt.Sprintf("policy %s's budget cannot be verified: this sidecar spent the allowance it holds and the operator's budget ledger cannot be reached (or did not answer in time), and the policy blocks unverified spend (spec.budget.whenLedgerUnreachable: Block); retry shortly", t.policyRef)}
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
				if _, ok := t.priceOf(target.Provider, target.Model); !ok {
					res.Release() // a downgrade is charged like any answer: never free
					return nil, t.unpriced(*target)
				}
				ex.downgrade = target
				ex.budgetHeader = "downgraded"
				return res, nil
			}
		}
		res.Release()
		return nil, &refusal{status: http.StatusTooManyRequests, code: CodeBudgetExhausted, retryAfter: exhaustedRetry(d, t.now()),
			message: fmt.Sprintf("%s, and this request cannot be downgraded: provider %s does not accept the %s API shape; the budget resets at %s",
				t.exhaustedWhy(d, maxCost), downgradeProvider(d), ex.rq.Shape, d.ResetAt.UTC().Format(time.RFC3339))}
	default:
		advice := "Raise spec.budget.limit or wait"
		if d.Held {
			advice = "Retry shortly, raise spec.budget.limit, or wait"
		}
		return nil, &refusal{status: http.StatusTooManyRequests, code: CodeBudgetExhausted, retryAfter: exhaustedRetry(d, t.now()),
			message: fmt.Sprintf("%s; the budget resets at %s. %s", t.exhaustedWhy(d, maxCost), d.ResetAt.UTC().Format(time.RFC3339), advice)}
	}
}

// reserveDryRun is reserve for a policy in DryRun mode: the budget decides
// as in Enforce and admits whatever it decides, so the request's spend is
// reserved and settled like any other, and what Enforce would have done
// (refuse an unpriced model, block, downgrade, refuse for want of the
// ledger) is recorded instead of done. A model without a price is sent all
// the same and costs nothing in the budget: what it costs is unknown
// (tollgate_unpriced_tokens_total counts its tokens).
func (t *Transport) reserveDryRun(ex *exchange) *budget.Reservation {
	rep := ex.rep
	maxCost, unpriced := t.maxCost(ex)
	if unpriced != nil {
		rep.wouldHave(proxyconfig.DryRunModelUnpriced)
		maxCost = t.pricedMaxCost(ex)
	}
	res, d := t.budget.ReserveDryRun(maxCost)
	rep.BudgetState = string(d.State)
	switch {
	case d.FirstExhausted:
		rep.BudgetNotice = NoticeExhausted
	case d.FirstSoftCrossing:
		rep.BudgetNotice = NoticeSoftLimit
	}
	switch {
	case d.Unavailable:
		rep.wouldHave(proxyconfig.DryRunBudgetUnavailable)
	case d.Action == budget.Allow && d.State == budget.StateSoftLimit:
		ex.budgetHeader = "soft-limit"
	case d.Action == budget.Downgrade && d.DowngradeTo != nil:
		target := ex.rung(proxyconfig.Fallback{Provider: d.DowngradeTo.Provider, Model: d.DowngradeTo.Model})
		switch {
		case target == nil:
			rep.wouldHave(proxyconfig.DryRunBudgetExhausted) // no downgrade for this shape: Enforce refuses
		case !t.priced(*target):
			rep.wouldHave(proxyconfig.DryRunModelUnpriced)
		default:
			rep.wouldHave(proxyconfig.DryRunBudgetDowngrade)
		}
	case d.Action != budget.Allow:
		rep.wouldHave(proxyconfig.DryRunBudgetExhausted)
	}
	return res
}

func (t *Transport) priced(target policy.Target) bool {
	_, ok := t.priceOf(target.Provider, target.Model)
	return ok
}

// pricedMaxCost is maxCost over the targets of ex that have a price, for a
// DryRun request that one without a price may serve.
func (t *Transport) pricedMaxCost(ex *exchange) proxyconfig.USD {
	most, _ := t.costBound(ex, true)
	return most
}

// heldRetry is the Retry-After of a refusal because what remains of the
// budget is held elsewhere: requests in flight settle, other pods give
// back what they do not spend, within seconds.
const heldRetry = 5 * time.Second

// exhaustedRetry is when a request the budget refused may pass: the end
// of the period, or soon when what remains is only held elsewhere.
func exhaustedRetry(d budget.Decision, now time.Time) time.Duration {
	if d.Held {
		return heldRetry
	}
	return d.ResetAt.Sub(now)
}

// exhaustedWhy says why the budget does not admit a request that may cost
// up to maxCost, in the figures the gate decided on (under a ledger, the
// ledger's last word plus this pod's spend since): what is spent, and
// where what remains is.
func (t *Transport) exhaustedWhy(d budget.Decision, maxCost proxyconfig.USD) string {
	remaining := d.Limit.Sub(d.Spent)
	spent := fmt.Sprintf("policy %s has spent %s of its %s budget of %s USD", t.policyRef, d.Spent, budgetPeriod(t), d.Limit)
	switch {
	case !remaining.IsPositive():
		return fmt.Sprintf("policy %s has spent its %s budget (%s of %s USD)", t.policyRef, budgetPeriod(t), d.Spent, d.Limit)
	case !d.Held:
		return fmt.Sprintf("%s, and what remains, %s USD, is less than a request needs (this one may cost up to %s USD)", spent, remaining, maxCost)
	case d.Reserved.GreaterThanOrEqual(remaining):
		return fmt.Sprintf("%s, and what remains, %s USD, is reserved by requests in flight (this one may cost up to %s USD)", spent, remaining, maxCost)
	case t.local != nil:
		return fmt.Sprintf("%s, and of what remains, %s USD, %s USD is reserved by requests in flight, which leaves too little for this one (it may cost up to %s USD)",
			spent, remaining, d.Reserved, maxCost)
	}
	// What the ledger counts as the pods' allowances: other pods', and
	// this pod's, partly reserved by its requests in flight.
	var own []string
	if d.Reserved.IsPositive() {
		own = append(own, d.Reserved.String()+" USD of it reserved by this pod's requests in flight")
	}
	if d.Available.IsPositive() {
		own = append(own, d.Available.String()+" USD held by this pod, which is too little")
	}
	mine := ""
	if len(own) > 0 {
		mine = " (" + strings.Join(own, ", and ") + ")"
	}
	return fmt.Sprintf("%s, and what remains, %s USD, is held by the allowances of the policy's pods%s; not enough of it came free for this request, which may cost up to %s USD",
		spent, remaining, mine, maxCost)
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
// settles the budget reservation with the cost. An answer whose usage is
// unknown or incomplete (none sent, cut short, the app gone) is never
// free: it is charged chargeUnknown's conservative bound and marked
// Estimated. Tollgate's own static answers and cache hits cost nothing, nor
// does a provider's error answer that reports no usage: providers do not
// bill failed requests.
func (t *Transport) settle(rep *Report, rq provider.Request, res *budget.Reservation) {
	// The answers paid for and discarded (invalid outputs) are charged
	// whatever the final answer costs.
	discarded := rep.discardedCost()
	charge := func(cost proxyconfig.USD) { res.Settle(cost.Add(discarded)) }
	served := servedTarget(rep)
	if rep.Static || rep.Cache == CacheHit {
		rep.Priced = true
		charge(proxyconfig.USD{})
		return
	}
	if rep.Status >= 400 && !rep.Usage.Known {
		charge(proxyconfig.USD{})
		return
	}
	price, ok := t.priceOf(served.Provider, served.Model)
	if !ok {
		charge(proxyconfig.USD{}) // only without a budget: reserve refuses unpriced models
		return
	}
	rep.Priced = true
	cost := price.Cost(tokensOf(rep.Usage))
	if rep.Estimated = estimateReason(rep); rep.Estimated != "" {
		cost = proxyconfig.MaxUSD(cost, chargeUnknown(price, rq, rep.AnswerBytes))
	}
	rep.CostUSD = cost
	charge(cost)
}

// settleAbandoned charges a request the app abandoned before any answer
// reached it, once at least one attempt was sent: the provider may have
// processed the prompt and generated an answer nobody read, and an app
// must not be able to dodge its budget by hanging up early.
func (t *Transport) settleAbandoned(rep *Report, rq provider.Request, res *budget.Reservation) {
	discarded := rep.discardedCost()
	if rep.Attempts == 0 {
		res.Settle(discarded)
		return
	}
	price, ok := t.priceOf(rep.Provider, rq.Model)
	if !ok {
		res.Settle(discarded)
		return
	}
	rep.Priced, rep.Estimated = true, EstimateClientGone
	rep.CostUSD = chargeUnknown(price, rq, 0)
	res.Settle(rep.CostUSD.Add(discarded))
}

// estimateReason says why the answer's usage cannot be charged as it is,
// or "" when it can: the answer is complete and reported its usage.
func estimateReason(rep *Report) string {
	switch {
	case rep.End == "client_gone":
		return EstimateClientGone
	case rep.End != "complete":
		return EstimateCutShort
	case !rep.Usage.Known:
		return EstimateNoUsage
	}
	return ""
}

// chargeUnknown is what a request whose usage is unknown is charged: the
// larger of its reservation (the prompt estimate plus the request's max
// output tokens, or its model's when it sets none) and the
// prompt estimate plus the answer's bytes that reached the app counted as
// output tokens at bytesPerToken. Both price the prompt at the higher of
// the cached and uncached input price. The answer's bytes include its JSON
// or SSE framing, so they overcount the text; the prompt estimate is the
// token estimate's (provider.EstimateTokens), whose measured bounds its
// tests pin.
func chargeUnknown(price pricing.Price, rq provider.Request, answerBytes int64) proxyconfig.USD {
	prompt := provider.EstimatePromptTokens(rq)
	output := max(maxOutputTokens(rq, price), (answerBytes+provider.BytesPerToken-1)/provider.BytesPerToken)
	return price.MaxCost(prompt, output)
}

// maxOutputTokens is the most output rq can produce at price, as the
// budget assumes it: its own limit, else the model's, else
// DefaultMaxOutputTokens.
func maxOutputTokens(rq provider.Request, price pricing.Price) int64 {
	switch {
	case rq.MaxTokens > 0:
		return rq.MaxTokens
	case price.MaxOutputTokens > 0:
		return price.MaxOutputTokens
	}
	return DefaultMaxOutputTokens
}

// tokensOf is u as pricing counts it.
func tokensOf(u provider.Usage) pricing.Tokens {
	return pricing.Tokens{
		Input:        u.InputTokens,
		CachedInput:  u.CachedInputTokens,
		CacheWrite:   u.CacheWriteTokens,
		CacheWrite1h: u.CacheWrite1hTokens,
		Output:       u.OutputTokens,
	}
}

// servedTarget is the target that answered: what the app asked for, unless
// a fallback or downgrade served it.
func servedTarget(rep *Report) policy.Target {
	t := rep.Served
	if t.Provider == "" {
		t = policy.Target{Provider: rep.Provider, Model: rep.Model}
	}
	if t.Model == "" {
		t.Model = rep.Model
	}
	return t
}

// now is the Transport's clock (Options.Now).
func (t *Transport) now() time.Time {
	if t.opts.Now != nil {
		return t.opts.Now()
	}
	return time.Now()
}

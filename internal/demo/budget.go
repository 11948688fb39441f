package demo

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"tollgate.dev/tollgate/api/v1alpha1"
	"tollgate.dev/tollgate/internal/testkit/mockprovider"
	"tollgate.dev/tollgate/pkg/ledgerapi"
	"tollgate.dev/tollgate/pkg/llmclient"
	"tollgate.dev/tollgate/pkg/pricing"
	"tollgate.dev/tollgate/pkg/proxyconfig"
)

// expensiveUsage is what the mock reports per answer in the budget step:
// 600 tokens, $0.006 at the demo's $10 per million. It is sized for what
// the earlier steps leave of the $0.05 (a little under $0.05), given that
// each request reserves at least 4096 output tokens ($0.04096) before it
// is sent: two such answers fit, and what they leave does not cover a
// third request.
var expensiveUsage = mockprovider.Usage{InputTokens: 200, OutputTokens: 400}

// budgetJSONPath is the part of status.budget the budget step prints.
const budgetJSONPath = `spent: {.status.budget.spent}{"\n"}remaining: {.status.budget.remaining}{"\n"}` +
	`state: {.status.budget.state}{"\n"}requests: {.status.budget.requests}{"\n"}` +
	`topSpenders:{"\n"}{range .status.budget.topSpenders[*]}  {.workload}: {.spent}{"\n"}{end}` +
	`BudgetExhausted: {.status.conditions[?(@.type=="BudgetExhausted")].message}{"\n"}`

// sharedBudget shows the policy's one budget for both pods: answers
// through either pod's sidecar count in the policy's status.budget, and
// once what remains cannot cover a request, the next request through
// either pod is refused with tollgate_budget_exhausted, without reaching
// the mock.
func (d *demo) sharedBudget(ctx context.Context) (string, error) {
	if err := d.resetMock(ctx); err != nil {
		return "", err
	}
	b := d.manifests.spec.Budget
	price, ok := d.prices.Lookup(proxyconfig.OpenAI, primaryModel)
	if !ok {
		return "", fmt.Errorf("the policy has no price for %s", primaryModel)
	}
	d.say.say("budget: limit $%s per %s period, onExhausted: %s, for every pod the policy selects together: the operator's ledger adds up what their sidecars report",
		b.Limit, b.Period, b.OnExhausted)
	if _, err := d.waitBudget(ctx, ""); err != nil {
		return "", err
	}
	d.say.say("spent so far (steps 6–8, through %s): %s", d.first().name, d.bills())
	if _, err := d.getPolicies(ctx); err != nil {
		return "", err
	}
	reserved := price.MaxCost(0, llmclient.DefaultMaxOutputTokens)
	d.say.say("before a request is sent, its sidecar reserves what it may cost at most out of its pod's allowance: its prompt plus %d output tokens (the app sets no max_tokens), at least $%s at $%s per million output tokens",
		llmclient.DefaultMaxOutputTokens, reserved, price.OutputPerMillion)
	d.say.say("the ledger leases each pod its allowance out of what remains of the limit, never more than remains")
	cost := price.Cost(pricing.Tokens{Input: expensiveUsage.InputTokens, Output: expensiveUsage.OutputTokens})
	d.say.say("the mock now reports %d input and %d output tokens per answer: %d × $%s + %d × $%s per million = $%s each",
		expensiveUsage.InputTokens, expensiveUsage.OutputTokens, expensiveUsage.InputTokens, price.InputPerMillion, expensiveUsage.OutputTokens, price.OutputPerMillion, cost)
	expensive := mockprovider.Step{Usage: &expensiveUsage}
	if err := d.scriptMock(ctx, "", expensive, expensive); err != nil {
		return "", err
	}

	order := []*runningPod{d.pods[0], d.pods[1], d.pods[0], d.pods[1]}
	answers := make([]answer, len(order))
	for i, p := range order {
		answers[i] = p.app.chat(ctx, primaryModel)
		line := fmt.Sprintf("request %d: %s", i+1, answers[i])
		if answers[i].err == nil {
			line += fmt.Sprintf("; cost $%s", answers[i].cost)
		}
		d.say.app(p.name, "%s", line)
	}
	for i, a := range answers[:2] {
		if err := a.ok(primaryModel); err != nil {
			return "", fmt.Errorf("request %d via %s, which what remained covered: %w (do the earlier steps spend more than expensiveUsage allows for?)", i+1, order[i].name, err)
		}
		if !a.cost.Equal(cost) {
			return "", fmt.Errorf("request %d cost $%s, want $%s: the mock did not report the usage scripted", i+1, a.cost, cost)
		}
	}
	for i, a := range answers[2:] {
		if r := a.apiErr; r == nil || r.StatusCode != http.StatusTooManyRequests || r.Code != llmclient.CodeBudgetExhausted {
			return "", fmt.Errorf("request %d via %s got %s, want HTTP 429 %s once what remains cannot cover a request", i+3, order[i+2].name, a, llmclient.CodeBudgetExhausted)
		}
	}
	if n := len(d.mock.Requests()); n != 2 {
		return "", fmt.Errorf("the mock got %d requests, want 2: a refused request must not reach the provider", n)
	}

	st, err := d.waitBudget(ctx, v1alpha1.BudgetExhausted)
	if err != nil {
		return "", err
	}
	row, err := d.getPolicies(ctx)
	if err != nil {
		return "", err
	}
	if row.ready != "True" || row.state != string(v1alpha1.BudgetExhausted) || row.spent != st.Spent || row.limit != b.Limit {
		return "", fmt.Errorf("kubectl shows Ready %s, Budget %s, Spent %s, Limit %s; want True, %s, %s, %s", row.ready, row.state, row.spent, row.limit, v1alpha1.BudgetExhausted, st.Spent, b.Limit)
	}
	d.say.command("kubectl -n %s get llmpolicy %s -o jsonpath='%s'", demoNamespace, policyName, budgetJSONPath)
	out, err := d.kubectl(ctx, nil, "-n", demoNamespace, "get", "llmpolicy", policyName, "-o", "jsonpath="+budgetJSONPath)
	if err != nil {
		return "", err
	}
	d.say.block(out)
	if err := d.checkTopSpenders(st.TopSpenders); err != nil {
		return "", err
	}
	remaining, err := ledgerapi.ParseAmount(st.Remaining)
	if err != nil {
		return "", fmt.Errorf("status.budget.remaining: %w", err)
	}
	if !remaining.LessThan(reserved) {
		return "", fmt.Errorf("status.budget.remaining is $%s, enough for a request's reservation (at least $%s), yet both pods were refused", st.Remaining, reserved)
	}
	d.say.say("status.budget.spent $%s = %s: what the apps' answers cost, their usage × spec.pricing", st.Spent, d.bills())
	d.say.say("what remains, $%s, is less than a request reserves (at least $%s): neither pod is leased what a request needs, so both refuse without calling the provider, and spend stays within the limit",
		st.Remaining, reserved)
	return fmt.Sprintf("spent %s = %s + %s in one status; then 429 for both", st.Spent, d.pods[0].app.spent, d.pods[1].app.spent), nil
}

// bills lists what each pod's answers cost, e.g. "chat-app $0.00095 (5
// answers) + chat-worker $0 (0 answers)".
func (d *demo) bills() string {
	parts := make([]string, 0, len(d.pods))
	for _, p := range d.pods {
		answers := "answers"
		if p.app.answers == 1 {
			answers = "answer"
		}
		parts = append(parts, fmt.Sprintf("%s $%s (%d %s)", p.name, p.app.spent, p.app.answers, answers))
	}
	return strings.Join(parts, " + ")
}

// waitBudget waits until the policy's status.budget says what the apps'
// answers cost and how many there were, in state when it is set, and
// returns it.
func (d *demo) waitBudget(ctx context.Context, state v1alpha1.BudgetState) (*v1alpha1.BudgetStatus, error) {
	var spent proxyconfig.USD
	answers := 0
	for _, p := range d.pods {
		spent, answers = spent.Add(p.app.spent), answers+p.app.answers
	}
	var st *v1alpha1.BudgetStatus
	what := fmt.Sprintf("status.budget.spent of %s to be $%s over %d requests", policyName, spent, answers)
	if state != "" {
		what += ", state " + string(state)
	}
	err := waitFor(ctx, what, func(ctx context.Context) error {
		var p v1alpha1.LLMPolicy
		if err := d.env.Client.Get(ctx, client.ObjectKey{Namespace: demoNamespace, Name: policyName}, &p); err != nil {
			return err
		}
		st = p.Status.Budget
		if st == nil {
			return errors.New("no status.budget yet")
		}
		got, err := ledgerapi.ParseAmount(st.Spent)
		switch {
		case err != nil:
			return permanent(fmt.Errorf("status.budget.spent: %w", err))
		case !got.Equal(spent) || st.Requests != int64(answers):
			return fmt.Errorf("status.budget.spent is $%s over %d requests", st.Spent, st.Requests)
		case state != "" && st.State != state:
			return fmt.Errorf("status.budget.state is %s", st.State)
		}
		return nil
	})
	return st, err
}

// policyRow is the demo policy's row of `kubectl get llmpolicies`.
type policyRow struct {
	ready, state, spent, limit string
}

// getPolicies runs and shows `kubectl get llmpolicies`, and returns the
// demo policy's row.
func (d *demo) getPolicies(ctx context.Context) (policyRow, error) {
	d.say.command("kubectl -n %s get llmpolicies", demoNamespace)
	out, err := d.kubectl(ctx, nil, "-n", demoNamespace, "get", "llmpolicies")
	if err != nil {
		return policyRow{}, err
	}
	d.say.block(out)
	return parsePolicyRow(out, policyName)
}

// parsePolicyRow reads the row of policy name from `kubectl get
// llmpolicies`: NAME READY MODE BUDGET SPENT LIMIT AGE.
func parsePolicyRow(out, name string) (policyRow, error) {
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) < 2 || strings.Join(strings.Fields(lines[0]), " ") != "NAME READY MODE BUDGET SPENT LIMIT AGE" {
		return policyRow{}, fmt.Errorf("kubectl get llmpolicies printed no NAME READY MODE BUDGET SPENT LIMIT AGE table:\n%s", out)
	}
	for _, l := range lines[1:] {
		if f := strings.Fields(l); len(f) == 7 && f[0] == name {
			return policyRow{ready: f[1], state: f[3], spent: f[4], limit: f[5]}, nil
		}
	}
	return policyRow{}, fmt.Errorf("kubectl get llmpolicies has no full row for %s:\n%s", name, out)
}

// checkTopSpenders checks that status.budget.topSpenders lists what each
// pod's answers cost, under the pod's name: the demo's pods are workloads
// of their own.
func (d *demo) checkTopSpenders(top []v1alpha1.WorkloadSpend) error {
	got := map[string]string{}
	for _, w := range top {
		got[w.Workload] = w.Spent
	}
	for _, p := range d.pods {
		workload := "Pod/" + p.name
		if !p.app.spent.IsPositive() {
			continue
		}
		spent, err := ledgerapi.ParseAmount(got[workload])
		if err != nil || !spent.Equal(p.app.spent) {
			return fmt.Errorf("status.budget.topSpenders says %s spent %q, but its answers cost $%s: %v", workload, got[workload], p.app.spent, top)
		}
	}
	return nil
}

package demo

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	"tollgate.dev/tollgate/internal/testkit/mockprovider"
	"tollgate.dev/tollgate/pkg/llmclient"
)

// Breaker states in tollgate_circuit_breaker_state.
const (
	breakerClosed = 0
	breakerOpen   = 2
)

// expensiveUsage is what the mock reports per answer in the budget step:
// 3,000 tokens, $0.03 at the demo's $10 per million.
var expensiveUsage = mockprovider.Usage{InputTokens: 1000, OutputTokens: 2000}

// normalCompletion sends one request through the sidecar and expects the
// mock's answer, on the first attempt.
func (d *demo) normalCompletion(ctx context.Context) (string, error) {
	if err := d.resetMock(ctx); err != nil {
		return "", err
	}
	d.say.say("the app: openai.NewClient(option.WithBaseURL(%q), option.WithMaxRetries(0))", d.app.baseURL)
	d.say.say("(the SDK's own retries are off, so that what follows is the sidecar's doing)")
	d.say.command(`curl -i %s/chat/completions -H 'content-type: application/json' -d '{"model":"%s","messages":[{"role":"user","content":"Say hello"}]}'`, d.app.baseURL, primaryModel)
	a := d.app.chat(ctx, primaryModel)
	d.say.block(a.String())
	if err := a.ok(primaryModel); err != nil {
		return "", err
	}
	policy := a.header.Get(llmclient.HeaderPolicy)
	if want := demoNamespace + "/" + policyName; policy != want {
		return "", fmt.Errorf("x-tollgate-policy is %q, want %q: the answer did not go through the policy", policy, want)
	}
	if a.attempts() != "1" {
		return "", fmt.Errorf("x-tollgate-attempts is %q, want 1", a.attempts())
	}
	if got := d.mockAnswers(primaryModel); len(got) != 1 {
		return "", fmt.Errorf("the mock got %d requests for %s, want 1", len(got), primaryModel)
	}
	return fmt.Sprintf("HTTP 200 %q, 1 attempt", mockprovider.DefaultContent), nil
}

// retries makes the mock fail twice and expects the sidecar's third
// attempt to reach the app.
func (d *demo) retries(ctx context.Context) (string, error) {
	if err := d.resetMock(ctx); err != nil {
		return "", err
	}
	if err := d.scriptMock(ctx, primaryModel, mockprovider.Step{Status: http.StatusServiceUnavailable}, mockprovider.Step{Status: http.StatusServiceUnavailable}); err != nil {
		return "", err
	}
	a := d.app.chat(ctx, primaryModel)
	d.say.block(a.String())
	if err := a.ok(primaryModel); err != nil {
		return "", err
	}
	seen := d.mockAnswers(primaryModel)
	d.say.say("the mock answered %v", seen)
	if !slices.Equal(seen, []int{503, 503, 200}) {
		return "", fmt.Errorf("the mock answered %v, want [503 503 200]", seen)
	}
	if a.attempts() != "3" {
		return "", fmt.Errorf("x-tollgate-attempts is %q, want 3", a.attempts())
	}
	return "mock: 503, 503, 200 → app: HTTP 200, x-tollgate-attempts: 3", nil
}

// breakerAndFallback makes every attempt of one request fail, which opens
// the primary model's breaker and sends the request to the fallback; the
// next request skips the primary; once the breaker's openDuration has
// passed, a trial request closes it.
func (d *demo) breakerAndFallback(ctx context.Context) (string, error) {
	if err := d.resetMock(ctx); err != nil {
		return "", err
	}
	burst := slices.Repeat([]mockprovider.Step{{Status: http.StatusServiceUnavailable}}, 3)
	if err := d.scriptMock(ctx, primaryModel, burst...); err != nil {
		return "", err
	}
	wantFallback := "openai/" + fallbackModel

	first := d.app.chat(ctx, primaryModel)
	d.say.block("request 1: " + first.String())
	if err := first.ok(fallbackModel); err != nil {
		return "", fmt.Errorf("request 1: %w", err)
	}
	if first.fallback() != wantFallback {
		return "", fmt.Errorf("request 1: x-tollgate-fallback is %q, want %q", first.fallback(), wantFallback)
	}
	opened := time.Now()
	d.say.command("curl -s http://%s/metrics | grep 'tollgate_circuit_breaker_state{.*%s'   # 2 is open", d.adminAddr, primaryModel)
	if err := d.breakerIs(ctx, breakerOpen); err != nil {
		return "", fmt.Errorf("after request 1: %w", err)
	}

	second := d.app.chat(ctx, primaryModel)
	d.say.block("request 2: " + second.String())
	if err := second.ok(fallbackModel); err != nil {
		return "", fmt.Errorf("request 2: %w", err)
	}
	if seen := d.mockAnswers(primaryModel); len(seen) != len(burst) {
		return "", fmt.Errorf("the mock got %d requests for %s, want %d: an open breaker sends nothing", len(seen), primaryModel, len(burst))
	}

	open, err := d.manifests.spec.CircuitBreaker.OpenDuration.Parse()
	if err != nil {
		return "", err
	}
	d.say.say("waiting out the breaker's openDuration (%s)…", open)
	select {
	case <-time.After(time.Until(opened.Add(open + 100*time.Millisecond))):
	case <-ctx.Done():
		return "", ctx.Err()
	}
	third := d.app.chat(ctx, primaryModel)
	d.say.block("request 3: " + third.String())
	if err := third.ok(primaryModel); err != nil {
		return "", fmt.Errorf("request 3, after openDuration: %w", err)
	}
	if err := d.breakerIs(ctx, breakerClosed); err != nil {
		return "", fmt.Errorf("after request 3: %w", err)
	}
	return fmt.Sprintf("3×503 → open → %s answered twice; closed after %s", fallbackModel, open), nil
}

// breakerIs checks the primary model's breaker state on /metrics.
func (d *demo) breakerIs(ctx context.Context, want float64) error {
	got, err := d.metric(ctx, "tollgate_circuit_breaker_state", "provider", "openai", "model", primaryModel)
	if err != nil {
		return err
	}
	if got != want {
		return fmt.Errorf("tollgate_circuit_breaker_state of %s is %v, want %v (0 closed, 1 half-open, 2 open)", primaryModel, got, want)
	}
	d.say.block(fmt.Sprintf(`tollgate_circuit_breaker_state{model="%s",provider="openai"} %v`, primaryModel, got))
	return nil
}

// budgetBlock makes answers expensive until the policy's budget is spent,
// and expects the next request to be refused by the sidecar with
// tollgate_budget_exhausted, without reaching the mock.
func (d *demo) budgetBlock(ctx context.Context) (string, error) {
	if err := d.resetMock(ctx); err != nil {
		return "", err
	}
	b := d.manifests.spec.Budget
	d.say.say("budget: limit $%s, period %s, onExhausted: %s; spec.pricing of %s: $%s per million input tokens, $%s per million output",
		b.Limit, b.Period, b.OnExhausted, d.manifests.spec.Pricing[0].Model, d.manifests.spec.Pricing[0].InputPerMillion, d.manifests.spec.Pricing[0].OutputPerMillion)
	price := d.manifests.spec.Pricing[0]
	in, errIn := strconv.ParseFloat(price.InputPerMillion, 64)
	out, errOut := strconv.ParseFloat(price.OutputPerMillion, 64)
	if errIn == nil && errOut == nil {
		d.say.say("the mock now reports %d input and %d output tokens per answer: $%.4f each",
			expensiveUsage.InputTokens, expensiveUsage.OutputTokens, (float64(expensiveUsage.InputTokens)*in+float64(expensiveUsage.OutputTokens)*out)/1e6)
	}
	expensive := mockprovider.Step{Usage: &expensiveUsage}
	if err := d.scriptMock(ctx, "", expensive, expensive); err != nil {
		return "", err
	}
	var answers []answer
	for i := 1; i <= 4; i++ {
		a := d.app.chat(ctx, primaryModel)
		answers = append(answers, a)
		d.say.block(fmt.Sprintf("request %d: %s", i, a))
		if a.err != nil {
			break
		}
	}
	if spent, err := d.metric(ctx, "tollgate_cost_usd_total"); err == nil {
		d.say.say("tollgate_cost_usd_total: $%.4f", spent)
	}
	for i, a := range answers[:min(2, len(answers))] {
		if err := a.ok(primaryModel); err != nil {
			return "", fmt.Errorf("request %d, within the budget: %w", i+1, err)
		}
	}
	if len(answers) < 3 || answers[2].apiErr == nil {
		return "", fmt.Errorf("%d requests went through after the budget was spent: no tollgate_budget_exhausted (is the budget gate wired into the sidecar?)", len(answers)-2)
	}
	refused := answers[2].apiErr
	if refused.StatusCode != http.StatusTooManyRequests || refused.Code != llmclient.CodeBudgetExhausted {
		return "", fmt.Errorf("request 3 got HTTP %d %s, want HTTP 429 %s", refused.StatusCode, refused.Code, llmclient.CodeBudgetExhausted)
	}
	if n := len(d.mock.Requests()); n != 2 {
		return "", fmt.Errorf("the mock got %d requests, want 2: a refused request must not reach the provider", n)
	}
	return fmt.Sprintf("2 answers spent it; the 3rd: HTTP 429 %s", refused.Code), nil
}

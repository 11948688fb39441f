package demo

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"time"

	"tollgate.dev/tollgate/internal/testkit/mockprovider"
	"tollgate.dev/tollgate/pkg/llmclient"
)

// Breaker states in tollgate_circuit_breaker_state.
const (
	breakerClosed = 0
	breakerOpen   = 2
)

// normalCompletion sends one request through the sidecar and expects the
// mock's answer, on the first attempt.
func (d *demo) normalCompletion(ctx context.Context) (string, error) {
	if err := d.resetMock(ctx); err != nil {
		return "", err
	}
	app := d.first().app
	d.say.say("%s's app: openai.NewClient(option.WithBaseURL(%q), option.WithMaxRetries(0)); this step and the next two go through its sidecar", app.pod, app.baseURL)
	d.say.say("(the SDK's own retries are off, so that what follows is the sidecar's doing)")
	d.say.command(`curl -i %s/chat/completions -H 'content-type: application/json' -d '{"model":"%s","messages":[{"role":"user","content":"Say hello"}]}'`, app.baseURL, primaryModel)
	a := app.chat(ctx, primaryModel)
	d.say.app(app.pod, "%s", a)
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
	a := d.first().app.chat(ctx, primaryModel)
	d.say.app(d.first().app.pod, "%s", a)
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
	p := d.first()

	first := p.app.chat(ctx, primaryModel)
	d.say.app(d.first().app.pod, "request 1: %s", first)
	if err := first.ok(fallbackModel); err != nil {
		return "", fmt.Errorf("request 1: %w", err)
	}
	if first.fallback() != wantFallback {
		return "", fmt.Errorf("request 1: x-tollgate-fallback is %q, want %q", first.fallback(), wantFallback)
	}
	opened := time.Now()
	d.say.command("curl -s http://%s/metrics | grep 'tollgate_circuit_breaker_state{.*%s'   # 2 is open", p.adminAddr, primaryModel)
	if err := d.breakerIs(ctx, p, breakerOpen); err != nil {
		return "", fmt.Errorf("after request 1: %w", err)
	}

	second := p.app.chat(ctx, primaryModel)
	d.say.app(d.first().app.pod, "request 2: %s", second)
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
	third := p.app.chat(ctx, primaryModel)
	d.say.app(d.first().app.pod, "request 3: %s", third)
	if err := third.ok(primaryModel); err != nil {
		return "", fmt.Errorf("request 3, after openDuration: %w", err)
	}
	if err := d.breakerIs(ctx, p, breakerClosed); err != nil {
		return "", fmt.Errorf("after request 3: %w", err)
	}
	return fmt.Sprintf("3×503 → open → %s answered twice; closed after %s", fallbackModel, open), nil
}

// breakerIs checks the primary model's breaker state on p's /metrics.
func (d *demo) breakerIs(ctx context.Context, p *runningPod, want float64) error {
	got, err := p.metric(ctx, "tollgate_circuit_breaker_state", "provider", "openai", "model", primaryModel)
	if err != nil {
		return err
	}
	if got != want {
		return fmt.Errorf("tollgate_circuit_breaker_state of %s is %v, want %v (0 closed, 1 half-open, 2 open)", primaryModel, got, want)
	}
	d.say.block(fmt.Sprintf(`tollgate_circuit_breaker_state{model="%s",provider="openai"} %v`, primaryModel, got))
	return nil
}

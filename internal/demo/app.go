package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"tollgate.dev/tollgate/internal/testkit/mockprovider"
	"tollgate.dev/tollgate/internal/testkit/promtext"
	"tollgate.dev/tollgate/pkg/llmclient"
	"tollgate.dev/tollgate/pkg/pricing"
	"tollgate.dev/tollgate/pkg/proxyconfig"
)

// appAPIKey is the key the app sends; the mock accepts any.
const appAPIKey = "sk-demo-placeholder"

// app is the application in one pod: an openai-go client pointed at the
// pod's sidecar through the injected OPENAI_BASE_URL. It keeps the bill of
// the answers it got, as the sidecar charges them to the budget. Its
// methods are called by one step at a time.
type app struct {
	pod     string
	client  openai.Client
	baseURL string
	// prices price an answer's usage as the sidecar does.
	prices *pricing.Table
	// spent is what the answers so far cost, their usage at prices, and
	// answers counts them.
	spent   proxyconfig.USD
	answers int
}

func (d *demo) newApp(p *runningPod) (*app, error) {
	base, err := appBaseURL(p.view.baseURL, p.proxyAddr)
	if err != nil {
		return nil, err
	}
	return &app{pod: p.name, baseURL: base, prices: d.prices, client: openai.NewClient(
		option.WithBaseURL(base),
		option.WithAPIKey(appAPIKey),
		// The SDK's own retries are off, so that what the demo shows is
		// the sidecar's doing.
		option.WithMaxRetries(0),
		option.WithRequestTimeout(20*time.Second),
	)}, nil
}

// answer is what the app got from one chat completion.
type answer struct {
	completion *openai.ChatCompletion
	header     http.Header
	// err is the SDK's error; apiErr is set when it is an HTTP error.
	err    error
	apiErr *openai.Error
	// cost is what the answer's usage costs at the policy's prices.
	cost proxyconfig.USD
}

// chat makes one chat completion request for model, and adds what the
// answer cost to the app's bill.
func (a *app) chat(ctx context.Context, model string) answer {
	var raw *http.Response
	got, err := a.client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
		Model:    model,
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Say hello")},
	}, option.WithResponseInto(&raw))
	ans := answer{completion: got, err: err}
	if raw != nil {
		ans.header = raw.Header
	}
	errors.As(err, &ans.apiErr)
	if err == nil {
		u := got.Usage
		if price, ok := a.prices.Lookup(proxyconfig.OpenAI, got.Model); ok {
			ans.cost = price.Cost(pricing.Tokens{Input: u.PromptTokens, CachedInput: u.PromptTokensDetails.CachedTokens, Output: u.CompletionTokens})
		}
		a.spent = a.spent.Add(ans.cost)
		a.answers++
	}
	return ans
}

// attempts is the x-tollgate-attempts header.
func (a answer) attempts() string { return a.header.Get(llmclient.HeaderAttempts) }

// fallback is the x-tollgate-fallback header: who answered instead.
func (a answer) fallback() string { return a.header.Get(llmclient.HeaderFallback) }

// String is the answer as the narration shows it.
func (a answer) String() string {
	switch {
	case a.apiErr != nil:
		return fmt.Sprintf("HTTP %d %s: %s", a.apiErr.StatusCode, a.apiErr.Code, a.apiErr.Message)
	case a.err != nil:
		return "error: " + a.err.Error()
	}
	var b strings.Builder
	content := ""
	if len(a.completion.Choices) > 0 {
		content = a.completion.Choices[0].Message.Content
	}
	fmt.Fprintf(&b, "HTTP 200 from %s: %q", a.completion.Model, content)
	for _, h := range []string{llmclient.HeaderPolicy, llmclient.HeaderAttempts, llmclient.HeaderFallback, llmclient.HeaderBudget} {
		if v := a.header.Get(h); v != "" {
			fmt.Fprintf(&b, ", %s: %s", strings.ToLower(h), v)
		}
	}
	return b.String()
}

// ok reports an answer that is not a 200 from model with the mock's reply.
func (a answer) ok(model string) error {
	switch {
	case a.err != nil:
		return fmt.Errorf("the app got %s", a)
	case a.completion.Model != model:
		return fmt.Errorf("the answer came from %s, want %s (%s)", a.completion.Model, model, a)
	case len(a.completion.Choices) == 0 || a.completion.Choices[0].Message.Content != mockprovider.DefaultContent:
		return fmt.Errorf("the answer is not the mock's reply: %s", a)
	}
	return nil
}

// scriptMock queues answers in the mock provider, for model's requests or
// (model "") any request, through its HTTP control API, and shows the
// curl command that does the same.
func (d *demo) scriptMock(ctx context.Context, model string, steps ...mockprovider.Step) error {
	body, err := json.Marshal(struct {
		Model string              `json:"model,omitempty"`
		Steps []mockprovider.Step `json:"steps"`
	}{model, steps})
	if err != nil {
		return err
	}
	d.say.command("curl -X POST %s/_mock/enqueue -d '%s'", d.mock.URL(), body)
	return d.mockControl(ctx, "enqueue", body)
}

// resetMock empties the mock's queues and its record of requests, so that
// each step counts its own.
func (d *demo) resetMock(ctx context.Context) error {
	return d.mockControl(ctx, "reset", nil)
}

func (d *demo) mockControl(ctx context.Context, endpoint string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.mock.URL()+"/_mock/"+endpoint, bytes.NewReader(body))
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("mock control API: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		var msg bytes.Buffer
		_, _ = msg.ReadFrom(resp.Body)
		return fmt.Errorf("mock control API %s: %s: %s", endpoint, resp.Status, strings.TrimSpace(msg.String()))
	}
	return nil
}

// mockAnswers lists the statuses the mock answered model's requests with
// since the last reset, e.g. [503 503 200].
func (d *demo) mockAnswers(model string) []int {
	var statuses []int
	for _, r := range d.mock.Requests() {
		if r.Model == model {
			statuses = append(statuses, max(r.Step.Status, http.StatusOK))
		}
	}
	return statuses
}

// metric sums the samples of the metric name on p's sidecar whose labels
// include labels (name, value, name, value...).
func (p *runningPod) metric(ctx context.Context, name string, labels ...string) (float64, error) {
	exposition, err := httpGet(ctx, "http://"+p.adminAddr+"/metrics")
	if err != nil {
		return 0, err
	}
	return promtext.Sum(string(exposition), name, labels...)
}

package proxy

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tollgate.dev/tollgate/internal/sidecar/loader"
	"tollgate.dev/tollgate/internal/testkit/mockprovider"
	"tollgate.dev/tollgate/pkg/llmclient"
)

// budgetSpec prices gpt-4o-mini at $1000 per million tokens in and out,
// so that each mock answer (100 in + 100 out) costs exactly $0.20, and
// caps spend at $1.00 a month with a soft limit at 50%.
const budgetSpec = `
  pricing:
    - {model: gpt-4o-mini, inputPerMillion: "1000", outputPerMillion: "1000"}
    - {model: gpt-4o-nano, inputPerMillion: "1", outputPerMillion: "1"}
  budget:
    period: Monthly
    limit: "1.00"
    softLimitPercent: 50
`

const budgetChat = `{"model":"gpt-4o-mini","max_tokens":100,"messages":[{"role":"user","content":"hi"}]}`

// fakeClock is a settable clock for the budget gate.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *fakeClock) Set(t time.Time) { c.mu.Lock(); defer c.mu.Unlock(); c.now = t }

// budgetHarness is a harness whose Transport can be replaced, as a reload
// replaces it.
type budgetHarness struct {
	*harness
	current atomic.Pointer[llmclient.Transport]
	clock   *fakeClock
}

func newBudgetHarness(t *testing.T, spec string) *budgetHarness {
	t.Helper()
	mock, err := mockprovider.Start("127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { mock.Close() })
	mock.SetDefault(mockprovider.Step{Usage: &mockprovider.Usage{InputTokens: 100, OutputTokens: 100}})
	h := &budgetHarness{harness: &harness{t: t, mock: mock}, clock: &fakeClock{now: time.Date(2026, 11, 30, 23, 0, 0, 0, time.UTC)}}
	h.load(spec)
	srv := httptest.NewServer(New(func() *llmclient.Transport { return h.current.Load() }, nil))
	t.Cleanup(srv.Close)
	h.url = srv.URL
	return h
}

// load compiles spec as the policy, taking over from the current one as a
// reload does.
func (h *budgetHarness) load(spec string) {
	h.t.Helper()
	res, err := loader.Parse([]byte(strings.ReplaceAll(policyYAML+spec, "MOCK", h.mock.URL())), nil)
	require.NoError(h.t, err)
	tr, err := llmclient.New(*res.Policy, llmclient.Options{
		Previous: h.current.Load(),
		Now:      h.clock.Now,
		OnDone: func(r *llmclient.Report) {
			h.mu.Lock()
			defer h.mu.Unlock()
			h.reports = append(h.reports, r)
		},
	})
	require.NoError(h.t, err)
	h.current.Store(tr)
}

// spend sends one priced request and checks it was served.
func (h *budgetHarness) spend() *http.Response {
	h.t.Helper()
	before := h.reportCount()
	resp := h.post("/openai/v1/chat/completions", budgetChat)
	readAll(h.t, resp)
	require.Equal(h.t, http.StatusOK, resp.StatusCode)
	require.Eventually(h.t, func() bool { return h.reportCount() > before }, 5*time.Second, 5*time.Millisecond)
	return resp
}

func TestBudget_SoftLimitMarksAnswersThenHardLimitBlocks(t *testing.T) {
	h := newBudgetHarness(t, budgetSpec)

	// $0.00 → $0.20 → $0.40: under the $0.50 soft limit.
	for i := 0; i < 3; i++ {
		resp := h.spend()
		assert.Empty(t, resp.Header.Get(llmclient.HeaderBudget), "request %d: under the soft limit", i)
	}
	r := h.lastReport()
	assert.Equal(t, "0.2", r.CostUSD.String(), "each answer costs (100+100) tokens x $1000/M")
	assert.True(t, r.Priced)

	// $0.60 spent: past the soft limit; the first request that sees it is
	// the one logged.
	resp := h.spend()
	assert.Equal(t, "soft-limit", resp.Header.Get(llmclient.HeaderBudget))
	assert.Equal(t, llmclient.NoticeSoftLimit, h.lastReport().BudgetNotice)
	resp = h.spend()
	assert.Equal(t, "soft-limit", resp.Header.Get(llmclient.HeaderBudget))
	assert.Empty(t, h.lastReport().BudgetNotice, "the soft limit is announced once per period")

	// $1.00 spent == limit: blocked, in OpenAI's error shape, with
	// Retry-After until the period ends (midnight UTC, Dec 1st).
	attempts := len(h.mock.Requests())
	blocked := h.post("/openai/v1/chat/completions", budgetChat)
	body := readAll(t, blocked)
	assert.Equal(t, http.StatusTooManyRequests, blocked.StatusCode)
	assert.Equal(t, llmclient.CodeBudgetExhausted, errorCode(t, body))
	assert.Contains(t, body, "1 of 1 USD")
	assert.Equal(t, "3600", blocked.Header.Get("Retry-After"))
	assert.Equal(t, "ns/test", blocked.Header.Get(llmclient.HeaderPolicy))
	assert.Equal(t, attempts, len(h.mock.Requests()), "a blocked request never reaches the provider")
	assert.Equal(t, llmclient.NoticeExhausted, h.lastReport().BudgetNotice)

	// Anthropic apps see the refusal in Anthropic's error shape.
	claude := h.post("/claude/v1/messages", messages)
	assert.Equal(t, http.StatusTooManyRequests, claude.StatusCode)
	assert.Contains(t, readAll(t, claude), `"type":"error"`)
}

func TestBudget_PeriodRolloverAtMidnightUTCResetsSpend(t *testing.T) {
	h := newBudgetHarness(t, budgetSpec)
	for i := 0; i < 5; i++ {
		h.spend()
	}
	require.Equal(t, http.StatusTooManyRequests, h.post("/openai/v1/chat/completions", budgetChat).StatusCode)

	h.clock.Set(time.Date(2026, 11, 30, 23, 59, 59, 0, time.UTC))
	assert.Equal(t, http.StatusTooManyRequests, h.post("/openai/v1/chat/completions", budgetChat).StatusCode, "still November")
	h.clock.Set(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC))
	resp := h.spend()
	assert.Empty(t, resp.Header.Get(llmclient.HeaderBudget), "a new month starts from zero")
}

func TestBudget_SpendSurvivesAReload(t *testing.T) {
	h := newBudgetHarness(t, budgetSpec)
	for i := 0; i < 5; i++ {
		h.spend()
	}
	// The same policy reloaded (e.g. a retry setting changed): spend stays.
	h.load(budgetSpec + "\n  retry: {maxAttempts: 2}\n")
	assert.Equal(t, http.StatusTooManyRequests, h.post("/openai/v1/chat/completions", budgetChat).StatusCode)

	// A raised limit applies at once, with the spend so far.
	h.load(strings.Replace(budgetSpec, `limit: "1.00"`, `limit: "1.40"`, 1))
	h.spend() // $1.00 → $1.20
	h.spend() // $1.20 → $1.40: what remained covered its reservation
	assert.Equal(t, http.StatusTooManyRequests, h.post("/openai/v1/chat/completions", budgetChat).StatusCode, "$1.40 spent of $1.40")
}

func TestBudget_DowngradeServesTheCheaperModelWhenExhausted(t *testing.T) {
	h := newBudgetHarness(t, strings.Replace(budgetSpec, "softLimitPercent: 50", "softLimitPercent: 50\n    onExhausted: Downgrade\n    downgradeTo: {provider: openai, model: gpt-4o-nano}", 1))
	for i := 0; i < 5; i++ {
		h.spend()
	}
	resp := h.spend()
	assert.Equal(t, "downgraded", resp.Header.Get(llmclient.HeaderBudget))
	reqs := h.mock.Requests()
	assert.Equal(t, "gpt-4o-nano", reqs[len(reqs)-1].Model, "the provider saw the downgrade model")
	r := h.lastReport()
	assert.Equal(t, "gpt-4o-nano", r.Served.Model)
	assert.Equal(t, "0.0002", r.CostUSD.String(), "priced as the model that served it")
}

func TestBudget_PreflightBoundsOvershootUnderConcurrency(t *testing.T) {
	h := newBudgetHarness(t, budgetSpec)
	h.mock.SetDefault(mockprovider.Step{FirstByteDelay: 50 * time.Millisecond, Usage: &mockprovider.Usage{InputTokens: 100, OutputTokens: 100}})
	// Each request reserves its maximum cost before it is sent (about
	// $0.12: the prompt estimate plus its 100 output tokens), so 20
	// concurrent requests cannot all be admitted against a $1.00 budget.
	var wg sync.WaitGroup
	codes := make([]int, 20)
	for i := range codes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest(http.MethodPost, h.url+"/openai/v1/chat/completions", strings.NewReader(budgetChat))
			resp, err := http.DefaultClient.Do(req)
			if err == nil {
				readAll(t, resp)
				codes[i] = resp.StatusCode
			}
		}()
	}
	wg.Wait()
	ok := 0
	for _, c := range codes {
		if c == http.StatusOK {
			ok++
		}
	}
	assert.Less(t, ok, 20, "some requests are refused before they are sent: %v", codes)
	assert.LessOrEqual(t, ok, 10, "at most limit/maxCost requests are admitted at once")
	t.Logf("admitted %d of 20: %s", ok, fmt.Sprint(codes))
}

func TestBudget_ARequestRefusedWhileWhatRemainsIsReservedSaysSoAndToRetrySoon(t *testing.T) {
	h := newBudgetHarness(t, budgetSpec)
	for range 4 {
		h.spend() // $0.80 of $1.00
	}
	// A slow request reserves its prompt and 100 output tokens, a little
	// over $0.10, of what remains.
	h.mock.SetDefault(mockprovider.Step{FirstByteDelay: time.Second, Usage: &mockprovider.Usage{InputTokens: 100, OutputTokens: 100}})
	sent := len(h.mock.Requests())
	var wg sync.WaitGroup
	wg.Go(func() { readAll(t, h.post("/openai/v1/chat/completions", budgetChat)) })
	defer wg.Wait()
	require.Eventually(t, func() bool { return len(h.mock.Requests()) == sent+1 }, 5*time.Second, 5*time.Millisecond)

	// Another would fit, but not beside it.
	blocked := h.post("/openai/v1/chat/completions", budgetChat)
	body := readAll(t, blocked)
	assert.Equal(t, http.StatusTooManyRequests, blocked.StatusCode)
	assert.Equal(t, llmclient.CodeBudgetExhausted, errorCode(t, body))
	assert.Contains(t, body, "has spent 0.8 of its Monthly budget of 1 USD, and of what remains, 0.2 USD, ")
	assert.Contains(t, body, " USD is reserved by requests in flight, which leaves too little for this one")
	assert.NotContains(t, body, "has spent its", "the budget is not spent")
	assert.Equal(t, "5", blocked.Header.Get("Retry-After"), "what is reserved comes back when the requests settle, not at the period's end")
}

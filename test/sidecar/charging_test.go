package sidecare2e

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tollgate.dev/tollgate/internal/testkit/mockprovider"
	"tollgate.dev/tollgate/pkg/llmclient"
)

// An answer whose usage is unknown is never free. At $1 per million tokens
// in and $1000 out, with max_tokens 100, a request's reservation is
// (prompt estimate + 100 output tokens) at those prices: 100 output tokens
// cost $0.10, so an unknown answer costs at least $0.10, while the prompt
// of the test's requests is a few tokens ($0.000001 each).
const chargingBlock = `
  pricing:
    - {model: gpt-4o-mini, inputPerMillion: "1", outputPerMillion: "1000"}
  budget: {period: Daily, limit: "100"}
`

// costOf reads the cost the request log line of request id charged.
func costOf(t *testing.T, s *sidecar, id string) (decimal.Decimal, map[string]any) {
	t.Helper()
	line := s.requestLog(id)
	raw, ok := line["cost_usd"].(string)
	require.True(t, ok, "the request log line has no cost_usd: %v", line)
	cost, err := decimal.NewFromString(raw)
	require.NoError(t, err)
	return cost, line
}

// chargedBody is a chat request for gpt-4o-mini with max_tokens 100.
func chargedBody(stream bool) string {
	return fmt.Sprintf(`{"model":"gpt-4o-mini","max_tokens":100,"stream":%t,"messages":[{"role":"user","content":"hi"}]}`, stream)
}

// rawChat sends a chat request over a connection of its own and returns
// the connection and a reader positioned after the response headers.
func rawChat(t *testing.T, s *sidecar, id string, stream bool) (net.Conn, *bufio.Reader, *http.Response) {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(s.url, "http://"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	body := chargedBody(stream)
	_, err = fmt.Fprintf(conn, "POST /openai/v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nX-Request-Id: %s\r\nContent-Length: %d\r\n\r\n%s", id, len(body), body)
	require.NoError(t, err)
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	require.NoError(t, err)
	return conn, br, resp
}

func TestCharging_AStreamWithoutUsageIsChargedItsReservation(t *testing.T) {
	mock := startMock(t)
	// An OpenAI-compatible server that ignores stream_options.include_usage
	// (llama.cpp sends only its own "timings").
	mock.SetDefault(mockprovider.Step{
		Headers: map[string]string{"Content-Type": "text/event-stream"},
		Body: `data: {"id":"c1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"Hello"}}]}` + "\n\n" +
			`data: {"id":"c1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"timings":{"predicted_n":2}}` + "\n\n" +
			"data: [DONE]\n\n",
	})
	s := startWithSpec(t, mock, chargingBlock)

	_, br, resp := rawChat(t, s, "no-usage", true)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	_, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	_ = br

	cost, line := costOf(t, s, "no-usage")
	assert.True(t, cost.GreaterThanOrEqual(decimal.RequireFromString("0.1")), "charged %s: at least the 100 output tokens the request allowed", cost)
	assert.Equal(t, "estimated", line["usage"])
	assert.Equal(t, llmclient.EstimateNoUsage, line["estimate_reason"])
	s.awaitMetric(1, "tollgate_usage_estimated_total", "reason", llmclient.EstimateNoUsage)
	s.awaitMetric(1, "tollgate_requests_total", "outcome", "success")
	assert.InDelta(t, cost.InexactFloat64(), s.metric("tollgate_cost_usd_total", "model", "gpt-4o-mini"), 1e-9, "the estimate is spend like any other")
}

func TestCharging_AJSONAnswerThatIsNotJSONIsChargedItsReservation(t *testing.T) {
	mock := startMock(t)
	mock.SetDefault(mockprovider.Step{Fault: mockprovider.FaultMalformedJSON})
	s := startWithSpec(t, mock, chargingBlock)

	_, _, resp := rawChat(t, s, "bad-json", false)
	_, _ = io.ReadAll(resp.Body)

	cost, line := costOf(t, s, "bad-json")
	assert.True(t, cost.GreaterThanOrEqual(decimal.RequireFromString("0.1")), "charged %s", cost)
	assert.Equal(t, "estimated", line["usage"])
}

func TestCharging_AnAppThatHangsUpMidStreamIsChargedAndCountedAsGone(t *testing.T) {
	mock := startMock(t)
	// A long, slow stream: its usage would come at the end.
	mock.SetDefault(mockprovider.Step{Chunks: 200, ChunkDelay: 20 * time.Millisecond})
	s := startWithSpec(t, mock, chargingBlock)

	conn, br, resp := rawChat(t, s, "gone-mid-stream", true)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	// Read the first event, then leave.
	for {
		line, err := br.ReadString('\n')
		require.NoError(t, err)
		if strings.HasPrefix(line, "data:") {
			break
		}
	}
	require.NoError(t, conn.Close())

	cost, line := costOf(t, s, "gone-mid-stream")
	assert.True(t, cost.GreaterThanOrEqual(decimal.RequireFromString("0.1")), "charged %s: hanging up does not make a request free", cost)
	assert.Equal(t, "client_gone", line["end"])
	assert.Equal(t, llmclient.EstimateClientGone, line["estimate_reason"])
	s.awaitMetric(1, "tollgate_requests_total", "outcome", "client_gone")
	s.awaitMetric(0, "tollgate_requests_total", "outcome", "success")
}

func TestCharging_AnAppThatHangsUpBeforeTheAnswerIsChargedToo(t *testing.T) {
	mock := startMock(t)
	mock.SetDefault(mockprovider.Step{FirstByteDelay: 3 * time.Second})
	s := startWithSpec(t, mock, chargingBlock)

	conn, err := net.Dial("tcp", strings.TrimPrefix(s.url, "http://"))
	require.NoError(t, err)
	body := chargedBody(false)
	_, err = fmt.Fprintf(conn, "POST /openai/v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nX-Request-Id: gone-early\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
	require.NoError(t, err)
	require.Eventually(t, func() bool { return len(mock.Requests()) == 1 }, 5*time.Second, 10*time.Millisecond, "the request reached the provider")
	require.NoError(t, conn.Close())

	cost, line := costOf(t, s, "gone-early")
	assert.True(t, cost.GreaterThanOrEqual(decimal.RequireFromString("0.1")), "charged %s", cost)
	assert.Equal(t, "client_gone", line["end"])
	s.awaitMetric(1, "tollgate_usage_estimated_total", "reason", llmclient.EstimateClientGone)
}

func TestCharging_AnAnswerWithUsageIsChargedExactly(t *testing.T) {
	mock := startMock(t)
	mock.SetDefault(mockprovider.Step{Usage: &mockprovider.Usage{InputTokens: 1000, OutputTokens: 10}})
	s := startWithSpec(t, mock, chargingBlock)

	_, _, resp := rawChat(t, s, "exact", false)
	_, _ = io.ReadAll(resp.Body)
	cost, line := costOf(t, s, "exact")
	assert.Equal(t, "0.011", cost.String(), "1000 input at $1/M + 10 output at $1000/M")
	assert.NotContains(t, line, "usage", "not an estimate")
}

func TestCharging_UnderABudgetAModelWithoutAPriceIsRefused(t *testing.T) {
	mock := startMock(t)
	s := startWithSpec(t, mock, chargingBlock)
	c := s.openAI()

	res := chat(t, c, "my-finetune-7")
	apiErr := requireOpenAIError(t, res.err, http.StatusForbidden, llmclient.CodeModelUnpriced)
	assert.Contains(t, apiErr.Message, "add the model to spec.pricing")
	assert.Empty(t, mock.Requests(), "nothing was sent for free")

	// A body whose model cannot be read.
	resp, err := http.Post(s.url+"/openai/v1/chat/completions", "application/json", strings.NewReader(`{"messages":[{"role":"user","content":"hi"}]}`))
	require.NoError(t, err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode, "%s", b)
	assert.Equal(t, llmclient.CodeModelUnpriced, resp.Header.Get(llmclient.HeaderReason))
	assert.Empty(t, mock.Requests())
}

func TestCharging_AFallbackModelWithoutAPriceIsRefusedUnderABudget(t *testing.T) {
	mock := startMock(t)
	s := startWithSpec(t, mock, chargingBlock+`
  fallbacks: [{provider: openai, model: my-unpriced-fallback}]
`)
	res := chat(t, s.openAI(), "gpt-4o-mini")
	apiErr := requireOpenAIError(t, res.err, http.StatusForbidden, llmclient.CodeModelUnpriced)
	assert.Contains(t, apiErr.Message, "my-unpriced-fallback", "a fallback is never free")
}

func TestCharging_ReservationBoundsTheChargeOfAKnownAnswer(t *testing.T) {
	// The bound is documented: an unknown answer costs the larger of the
	// reservation and the prompt plus its bytes as output tokens. Check it
	// against what reached the app for a no-usage answer longer than the
	// request's max_tokens allows.
	mock := startMock(t)
	long := strings.Repeat("x", 2000)
	mock.SetDefault(mockprovider.Step{
		Headers: map[string]string{"Content-Type": "application/json"},
		Body:    `{"id":"c","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"` + long + `"}}]}`,
	})
	s := startWithSpec(t, mock, chargingBlock)
	_, _, resp := rawChat(t, s, "long-no-usage", false)
	b, _ := io.ReadAll(resp.Body)
	cost, _ := costOf(t, s, "long-no-usage")
	outputTokens := (len(b) + 3) / 4
	want := decimal.NewFromInt(int64(outputTokens)).Mul(decimal.NewFromInt(1000)).Shift(-6)
	assert.True(t, cost.GreaterThanOrEqual(want), "charged %s, the %d bytes that reached the app count at least %s", cost, len(b), want)
	assert.Equal(t, strconv.Itoa(len(b)), resp.Header.Get("Content-Length"))
}

func TestCharging_ARequestWithoutMaxTokensReservesItsModelsOutputLimit(t *testing.T) {
	mock := startMock(t)
	mock.SetDefault(mockprovider.Step{Fault: mockprovider.FaultMalformedJSON})
	s := startWithSpec(t, mock, `
  pricing:
    - {model: gpt-4o-mini, inputPerMillion: "1", outputPerMillion: "1000", maxOutputTokens: 300}
  budget: {period: Daily, limit: "100"}
`)
	conn, err := net.Dial("tcp", strings.TrimPrefix(s.url, "http://"))
	require.NoError(t, err)
	defer conn.Close()
	body := `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}`
	_, err = fmt.Fprintf(conn, "POST /openai/v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nX-Request-Id: no-max\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
	require.NoError(t, err)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err)
	_, _ = io.ReadAll(resp.Body)
	cost, _ := costOf(t, s, "no-max")
	// 300 output tokens at $1000 per million, plus a prompt of a few tokens.
	assert.True(t, cost.GreaterThanOrEqual(decimal.RequireFromString("0.3")), "charged %s", cost)
	assert.True(t, cost.LessThan(decimal.RequireFromString("0.31")), "charged %s: the model's limit, not 4096 tokens", cost)
}

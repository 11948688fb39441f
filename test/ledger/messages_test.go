package ledgere2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tollgate.dev/tollgate/internal/testkit/mockprovider"
	"tollgate.dev/tollgate/pkg/llmclient"
)

// bodyReserving is a chat request whose reservation is about usd at the
// test policy's $100 per million tokens: its prompt (about 60 estimated
// tokens) plus max_tokens.
func bodyReserving(usd float64) string {
	maxTokens := int(usd*1e4) - 60
	return fmt.Sprintf(`{"model":"gpt-4o-mini","max_tokens":%d,"messages":[{"role":"user","content":"%s"}]}`, maxTokens, strings.Repeat("word ", 48))
}

// answer is what the app sees of one request.
type answer struct {
	status              int
	code, message, wait string // the refusal's code and message, Retry-After
}

// send sends body through s and returns what the app sees.
func (s *sidecar) send(t *testing.T, body string) answer {
	req, err := http.NewRequest(http.MethodPost, "http://sidecar/openai/v1/chat/completions", strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.transport.RoundTrip(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	a := answer{status: resp.StatusCode, code: resp.Header.Get(llmclient.HeaderReason), wait: resp.Header.Get("Retry-After")}
	if a.code != "" {
		var e struct {
			Error struct {
				Message string `json:"message"`
			} `json:"error"`
		}
		require.NoError(t, json.Unmarshal(data, &e), "%s", data)
		a.message = e.Error.Message
	}
	return a
}

// TestBudget_ARefusalWhileOtherPodsHoldWhatRemainsSaysSo has one pod hold
// most of a $1 budget for a request in flight while another pod's request
// needs more than is left free: it is refused once its wait for an
// allowance ends, with a message that says the money is held, not spent,
// by whom, and to retry soon (Retry-After of seconds, not the period's
// end).
func TestBudget_ARefusalWhileOtherPodsHoldWhatRemainsSaysSo(t *testing.T) {
	mock := startMock(t)
	op := startLedger(t)
	ns := newNamespace(t)
	policy := createPolicy(t, budgetPolicy(ns, "held", "1", mock.URL()))
	a := startSidecar(t, []string{op.url}, op.caFile, createPod(t, ns, "chat-a", "chat"), policy, "")
	b := startSidecar(t, []string{op.url}, op.caFile, createPod(t, ns, "chat-b", "chat"), policy, "")
	body := bodyReserving(0.6)

	// chat-a's request holds its $0.60 until it is canceled.
	mock.SetDefault(mockprovider.Step{Fault: mockprovider.FaultHang})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	inFlight := make(chan error, 1)
	go func() {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://sidecar/openai/v1/chat/completions", strings.NewReader(body))
		resp, err := a.transport.RoundTrip(req)
		if err == nil {
			_, err = ioCopy(resp)
		}
		inFlight <- err
	}()
	require.Eventually(t, func() bool { return len(mock.Requests()) == 1 }, 5*time.Second, 5*time.Millisecond, "chat-a's request is in flight")

	start := time.Now()
	refused := b.send(t, body)
	waited := time.Since(start)
	t.Logf("chat-b, after %s: %d %s: %s (Retry-After %s)", waited.Round(time.Millisecond), refused.status, refused.code, refused.message, refused.wait)
	assert.Equal(t, http.StatusTooManyRequests, refused.status)
	assert.Equal(t, llmclient.CodeBudgetExhausted, refused.code)
	// Whether chat-b still holds the part it was granted, too little for
	// its request, or gave it back for another pod, depends on the moment.
	assert.Contains(t, refused.message, "has spent 0 of its Monthly budget of 1 USD, and what remains, 1 USD, is held by the allowances of the policy's pods")
	assert.Contains(t, refused.message, "not enough of it came free for this request, which may cost up to 0.6 USD")
	assert.Contains(t, refused.message, "Retry shortly, raise spec.budget.limit, or wait")
	assert.NotContains(t, refused.message, "has spent its")
	assert.Equal(t, "5", refused.wait)
	// The wait follows the intervals (the ledger's 1s wait for allowance,
	// two 200ms commits, the sidecar's 200ms interval), not a constant.
	assert.Less(t, waited, 2500*time.Millisecond)

	cancel()
	assert.ErrorIs(t, <-inFlight, context.Canceled)
}

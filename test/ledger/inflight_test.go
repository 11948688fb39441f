package ledgere2e

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tollgate.dev/tollgate/internal/testkit/mockprovider"
)

// TestBudget_ARequestInFlightWhenTheSidecarIsKilledIsChargedItsReservation:
// a sidecar SIGKILLed while a request is at the provider cannot know what
// that request cost, and its answer may yet have reached the app: the
// sidecar journaled the admission before sending it, and charges what it
// reserved when it comes back. Never free.
func TestBudget_ARequestInFlightWhenTheSidecarIsKilledIsChargedItsReservation(t *testing.T) {
	mock := slowMock(t)
	op := startLedger(t)
	ns := newNamespace(t)
	createPolicy(t, budgetPolicy(ns, "shared", "1000", mock.URL()))
	p := createPod(t, ns, "chat-1", "chat")
	file, stateDir := policyFile(t, ns, "shared", "1000", mock.URL()), t.TempDir()
	s := startSidecarProcess(t, op.url, op.caFile, p, file, stateDir)

	const answered = 5
	for range answered {
		status, _ := s.chat()
		require.Equal(t, http.StatusOK, status)
	}
	settled := unitCost.Mul(decimal.NewFromInt(answered))
	requireSpent(t, ns, "shared", settled)

	// One more request, which the provider holds.
	mock.Enqueue(mockprovider.Step{FirstByteDelay: 20 * time.Second, Usage: &mockprovider.Usage{InputTokens: 50, OutputTokens: 20}})
	go func() {
		resp, err := http.Post(s.url+"/openai/v1/chat/completions", "application/json", strings.NewReader(chatBody))
		if err == nil {
			resp.Body.Close()
		}
	}()
	require.Eventually(t, func() bool { return mock.InFlight() == 1 }, 10*time.Second, 10*time.Millisecond, "the request reaches the provider")
	require.NoError(t, syscallKill(s.process.Pid()))
	<-s.process.Exited()

	s.start()
	var charged decimal.Decimal
	require.Eventually(t, func() bool {
		for _, l := range s.process.Log().JSONLines() {
			if strings.HasPrefix(l["msg"].(string), "requests were in flight when the sidecar stopped") {
				assert.EqualValues(t, 1, l["requests"])
				charged = decimal.RequireFromString(l["chargedUSD"].(string))
				return true
			}
		}
		return false
	}, 10*time.Second, 10*time.Millisecond, "the restarted sidecar says what it charged for the request in flight")
	assert.True(t, charged.GreaterThanOrEqual(unitCost), "the reservation (%s) bounds what the request could cost (%s)", charged, unitCost)
	requireSpent(t, ns, "shared", settled.Add(charged))
	t.Logf("%d answers settled at %s each; the request in flight at the kill charged its reservation, %s", answered, unitCost, charged)
}

package ledgere2e

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	operatorledger "tollgate.dev/tollgate/internal/operator/ledger"
	sidecarledger "tollgate.dev/tollgate/internal/sidecar/ledger"
	"tollgate.dev/tollgate/pkg/llmclient"
)

// The tests of this file run the ledger and the sidecars with the intervals
// a cluster runs them with (commit every 2s, sidecar sync every 1s, lease
// 2m), where a request that needs a new allowance must not wait for the
// next status write.

// defaultLedger starts a ledger with the operator's default intervals.
func defaultLedger(t *testing.T) *operator {
	return startLedger(t, func(o *operatorledger.Options) {
		o.Lease, o.Sync, o.Commit = operatorledger.DefaultLease, operatorledger.DefaultSync, operatorledger.DefaultCommit
	})
}

// withDefaultInterval gives a sidecar the default --ledger-interval.
func withDefaultInterval(o *sidecarledger.Options) { o.Interval = sidecarledger.DefaultInterval }

// timedChat sends body through s and returns the status, the refusal code
// and how long the answer took (the mock answers at once: the time is the
// sidecar's, the ledger's wait included).
func (s *sidecar) timedChat(t *testing.T, body string) (int, string, time.Duration) {
	req, err := http.NewRequest(http.MethodPost, "http://sidecar/openai/v1/chat/completions", strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	start := time.Now()
	resp, err := s.transport.RoundTrip(req)
	require.NoError(t, err)
	_, _ = ioCopy(resp)
	return resp.StatusCode, resp.Header.Get(llmclient.HeaderReason), time.Since(start)
}

// stopAll stops sidecars at once: each reports what is left and waits for
// the ledger's next status write (2s apart at the defaults), which one
// write answers for all.
func stopAll(sidecars ...*sidecar) {
	var wg sync.WaitGroup
	for _, s := range sidecars {
		wg.Add(1)
		go func() { defer wg.Done(); s.stop() }()
	}
	wg.Wait()
}

// percentiles are p50, p99 and the max of took, sorted in place.
func percentiles(took []time.Duration) (p50, p99, most time.Duration) {
	slices.Sort(took)
	return took[len(took)/2], took[(len(took)*99)/100], took[len(took)-1]
}

// TestBudget_WithDefaultIntervalsRequestsThatNeedANewAllowanceArePromptlyAdmitted
// runs 4 pods of one policy with $100 left, each request reserving more
// than its pod holds (about $1.01 against a target of 1% of what remains),
// so that every request waits for the ledger to top its allowance up.
func TestBudget_WithDefaultIntervalsRequestsThatNeedANewAllowanceArePromptlyAdmitted(t *testing.T) {
	mock := startMock(t)
	op := defaultLedger(t)
	ns := newNamespace(t)
	policy := createPolicy(t, budgetPolicy(ns, "defaults", "100", mock.URL()))
	const pods, each = 4, 10
	sidecars := make([]*sidecar, pods)
	for i, name := range names("chat", pods) {
		sidecars[i] = startSidecar(t, []string{op.url}, op.caFile, createPod(t, ns, name, "chat"), policy, "", withDefaultInterval)
	}
	body := bodyReserving(1.01)

	var mu sync.Mutex
	var took []time.Duration
	refused := map[string]int{}
	var wg sync.WaitGroup
	for _, s := range sidecars {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				status, reason, d := s.timedChat(t, body)
				mu.Lock()
				if status == http.StatusOK {
					took = append(took, d)
				} else {
					refused[fmt.Sprintf("%d %s", status, reason)]++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	stopAll(sidecars...)
	require.NotEmpty(t, took, "no request was admitted (refused: %v)", refused)
	p50, p99, most := percentiles(took)
	t.Logf("default intervals, %d pods × %d requests, each needing a new allowance: %d admitted (p50 %s, p99 %s, max %s), refused %v",
		pods, each, len(took), p50.Round(time.Millisecond), p99.Round(time.Millisecond), most.Round(time.Millisecond), refused)
	assert.Empty(t, refused, "with $100 left, no request is refused")
	assert.Less(t, p50, 500*time.Millisecond, "a request waits for an expedited status write, not the next 2s one")
	assert.Less(t, most, operatorledger.DefaultCommit, "no request waits as long as the ledger's commit interval")
}

// TestBudget_WithDefaultIntervalsAnIdlePodGivesBackWhatAnotherNeeds has two
// pods take turns with requests that each reserve $0.60 of a $1 budget:
// what remains after one request covers the next only once the pod that
// sent it gives back what it did not spend.
func TestBudget_WithDefaultIntervalsAnIdlePodGivesBackWhatAnotherNeeds(t *testing.T) {
	mock := startMock(t)
	op := defaultLedger(t)
	ns := newNamespace(t)
	policy := createPolicy(t, budgetPolicy(ns, "turns", "1", mock.URL()))
	a := startSidecar(t, []string{op.url}, op.caFile, createPod(t, ns, "chat-a", "chat"), policy, "", withDefaultInterval)
	b := startSidecar(t, []string{op.url}, op.caFile, createPod(t, ns, "chat-b", "chat"), policy, "", withDefaultInterval)
	body := bodyReserving(0.6)

	var took []time.Duration
	for i := range 8 {
		s := []*sidecar{a, b}[i%2]
		status, reason, d := s.timedChat(t, body)
		require.Equal(t, http.StatusOK, status, "request %d via %s: %s after %s", i+1, s.pod.name, reason, d.Round(time.Millisecond))
		took = append(took, d)
	}
	stopAll(a, b)
	p50, _, most := percentiles(took)
	t.Logf("default intervals, two pods taking turns on a $1 budget with $0.60 requests: 8 admitted, p50 %s, max %s", p50.Round(time.Millisecond), most.Round(time.Millisecond))
	assert.Less(t, most, operatorledger.DefaultCommit, "no request waits as long as the ledger's commit interval")
}

package policy

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tollgate.dev/tollgate/pkg/proxyconfig"
)

func fallbackPolicy() proxyconfig.Policy {
	p := basePolicy()
	p.Retry = fastRetry(2)
	p.Fallbacks = []proxyconfig.Fallback{{Provider: "backup", Model: "m2"}, {StaticResponse: "sorry"}}
	return p
}

func staticResponse() (*http.Response, error) {
	return &http.Response{StatusCode: 200, Header: http.Header{}, Body: io.NopCloser(strings.NewReader("static"))}, nil
}

func TestFallback_TriesRungsInOrder(t *testing.T) {
	tests := map[string]struct {
		primary, backup []answer
		skipBackup      bool
		noStatic        bool
		wantBody        string
		wantRung        int
		wantStatic      bool
		wantAttempts    int
		wantStatus      int
	}{
		"a healthy primary answers": {
			wantBody: "primary/m1", wantRung: 0, wantAttempts: 1, wantStatus: 200,
		},
		"after retries the backup answers": {
			primary:  []answer{{status: 503}, {status: 503}},
			wantBody: "backup/m2", wantRung: 1, wantAttempts: 3, wantStatus: 200,
		},
		"when both fail the static response answers": {
			primary: []answer{{status: 503}, {status: 503}}, backup: []answer{{status: 500}, {status: 500}},
			wantBody: "static", wantRung: 2, wantStatic: true, wantAttempts: 4, wantStatus: 200,
		},
		"a rung that cannot take the request is skipped": {
			primary: []answer{{status: 503}, {status: 503}}, skipBackup: true,
			wantBody: "static", wantRung: 2, wantStatic: true, wantAttempts: 2, wantStatus: 200,
		},
		"without a static rendering the last failure comes back": {
			primary: []answer{{status: 503}, {status: 503}}, backup: []answer{{status: 502}, {status: 502}}, noStatic: true,
			wantBody: "backup/m2", wantRung: 1, wantAttempts: 4, wantStatus: 502,
		},
		"an app error does not fall back": {
			primary:  []answer{{status: 400}},
			wantBody: "primary/m1", wantRung: 0, wantAttempts: 1, wantStatus: 400,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			s := compile(t, fallbackPolicy(), nil, Options{})
			up := newUpstream().on(primary, tc.primary...).on(backup, tc.backup...)
			rung := &backup
			if tc.skipBackup {
				rung = nil
			}
			call := up.call(primary, rung, nil)
			if !tc.noStatic {
				call.Static = staticResponse
			}
			res := s.Execute(context.Background(), call)
			assert.Equal(t, tc.wantBody, body(t, res))
			assert.Equal(t, tc.wantStatus, res.Response.StatusCode)
			assert.Equal(t, tc.wantRung, res.Rung)
			assert.Equal(t, tc.wantStatic, res.Static)
			assert.Equal(t, tc.wantAttempts, res.Attempts)
		})
	}
}

func TestFallback_OpenBreakerGoesStraightToTheNextRung(t *testing.T) {
	p := fallbackPolicy()
	p.CircuitBreaker = &proxyconfig.CircuitBreaker{ConsecutiveFailures: 1, OpenDuration: proxyconfig.Duration(time.Hour), HalfOpenRequests: 1}
	p.Retry.RetryOn = []proxyconfig.RetryCondition{proxyconfig.RetryOnServerError}
	s := compile(t, p, nil, Options{})
	up := newUpstream().on(primary, answer{status: 503})
	s.Execute(context.Background(), up.call(primary, &backup, nil))
	require.Equal(t, 1, up.count(primary))

	res := s.Execute(context.Background(), up.call(primary, &backup, nil))
	assert.Equal(t, "backup/m2", body(t, res))
	assert.Equal(t, 1, up.count(primary), "the open breaker kept the request off the primary")
}

func TestTimeout_FirstTokenTimeoutIsRetriedThenFallsBack(t *testing.T) {
	p := fallbackPolicy()
	p.Timeouts.FirstToken = proxyconfig.Duration(50 * time.Millisecond)
	s := compile(t, p, nil, Options{})
	up := newUpstream().on(primary, answer{hang: true}, answer{hang: true})

	res := s.Execute(context.Background(), up.call(primary, &backup, nil))
	assert.Equal(t, "backup/m2", body(t, res))
	assert.Equal(t, 2, up.count(primary))
}

func TestTimeout_WithoutFallbackReportsTheTimeout(t *testing.T) {
	p := basePolicy()
	p.Timeouts.FirstToken = proxyconfig.Duration(20 * time.Millisecond)
	s := compile(t, p, nil, Options{})
	res := s.Execute(context.Background(), newUpstream().on(primary, answer{hang: true}).call(primary))
	assert.ErrorIs(t, res.Err, ErrTimeout)
	assert.Equal(t, Timeout, res.Failure)
}

func TestExecute_ACanceledRequestIsNotRetried(t *testing.T) {
	p := fallbackPolicy()
	s := compile(t, p, nil, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	up := newUpstream().on(primary, answer{hang: true})
	time.AfterFunc(20*time.Millisecond, cancel)

	res := s.Execute(ctx, up.call(primary, &backup, nil))
	assert.Nil(t, res.Response)
	assert.Equal(t, Canceled, res.Failure)
	assert.Equal(t, 1, up.count(primary))
	assert.Equal(t, 0, up.count(backup), "no fallback for a request the app abandoned")
}

func TestExecute_ClosesTheBodiesOfDiscardedAnswers(t *testing.T) {
	s := compile(t, fallbackPolicy(), nil, Options{})
	var bodies []*trackedBody
	call := &Call{Primary: primary, Rungs: []*Target{&backup, nil}, Classify: classify,
		Attempt: func(_ context.Context, tg Target) (*http.Response, error) {
			b := &trackedBody{Reader: strings.NewReader("x")}
			bodies = append(bodies, b)
			status := 503
			if tg == backup {
				status = 200
			}
			return &http.Response{StatusCode: status, Header: http.Header{}, Body: b}, nil
		}}
	res := s.Execute(context.Background(), call)
	require.Len(t, bodies, 3)
	assert.True(t, bodies[0].closed)
	assert.True(t, bodies[1].closed)
	assert.False(t, bodies[2].closed, "the answer handed to the app stays open")
	assert.Equal(t, 200, res.Response.StatusCode)
}

type trackedBody struct {
	*strings.Reader
	closed bool
}

func (b *trackedBody) Close() error { b.closed = true; return nil }

// ladderPolicy is primary → cachedResponse → backup → static.
func ladderPolicy() proxyconfig.Policy {
	p := basePolicy()
	p.Retry = fastRetry(2)
	p.Fallbacks = []proxyconfig.Fallback{
		{CachedResponse: &proxyconfig.CachedResponse{MaxStale: proxyconfig.Duration(time.Hour), MaxEntries: 10}},
		{Provider: "backup", Model: "m2"},
		{StaticResponse: "sorry"},
	}
	return p
}

func cachedAnswer() *http.Response {
	return &http.Response{StatusCode: 200, Header: http.Header{}, Body: io.NopCloser(strings.NewReader("cached"))}
}

func TestFallback_TheCachedRungAnswersBeforeTheNextProvider(t *testing.T) {
	tests := map[string]struct {
		primary      []answer
		cached       func() *http.Response // Call.Cached
		wantBody     string
		wantRung     int
		wantCached   bool
		wantAttempts int
		wantBackup   int
	}{
		"a healthy primary answers without the cache": {
			cached:   cachedAnswer,
			wantBody: "primary/m1", wantAttempts: 1,
		},
		"after the primary's retries the cached answer": {
			primary: []answer{{status: 503}, {status: 503}}, cached: cachedAnswer,
			wantBody: "cached", wantRung: 1, wantCached: true, wantAttempts: 2,
		},
		"after connection errors the cached answer": {
			primary: []answer{{err: errors.New("connection reset by peer")}, {err: errors.New("connection reset by peer")}}, cached: cachedAnswer,
			wantBody: "cached", wantRung: 1, wantCached: true, wantAttempts: 2,
		},
		"no cached answer: the next provider": {
			primary: []answer{{status: 503}, {status: 503}}, cached: func() *http.Response { return nil },
			wantBody: "backup/m2", wantRung: 2, wantAttempts: 3, wantBackup: 1,
		},
		"a request that cannot have one: the next provider": {
			primary:  []answer{{status: 503}, {status: 503}},
			wantBody: "backup/m2", wantRung: 2, wantAttempts: 3, wantBackup: 1,
		},
		"an app error is the app's, not the cache's": {
			primary: []answer{{status: 400}}, cached: cachedAnswer,
			wantBody: "primary/m1", wantAttempts: 1,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			s := compile(t, ladderPolicy(), nil, Options{})
			up := newUpstream().on(primary, tc.primary...)
			call := up.call(primary, nil, &backup, nil)
			call.Static = staticResponse
			call.Cached = tc.cached
			res := s.Execute(context.Background(), call)
			assert.Equal(t, tc.wantBody, body(t, res))
			assert.Equal(t, tc.wantRung, res.Rung)
			assert.Equal(t, tc.wantCached, res.Cached)
			assert.False(t, res.Static)
			assert.Equal(t, tc.wantAttempts, res.Attempts)
			assert.Equal(t, tc.wantBackup, up.count(backup))
		})
	}
}

func TestFallback_OpenBreakerGoesStraightToTheCachedAnswer(t *testing.T) {
	p := ladderPolicy()
	p.CircuitBreaker = &proxyconfig.CircuitBreaker{ConsecutiveFailures: 1, OpenDuration: proxyconfig.Duration(time.Hour), HalfOpenRequests: 1}
	p.Retry.RetryOn = []proxyconfig.RetryCondition{proxyconfig.RetryOnServerError}
	s := compile(t, p, nil, Options{})
	up := newUpstream().on(primary, answer{status: 503})
	call := func() *Call {
		c := up.call(primary, nil, &backup, nil)
		c.Cached = cachedAnswer
		return c
	}
	first := s.Execute(context.Background(), call())
	require.True(t, first.Cached, "the failure that opens the breaker is answered from the cache")
	require.Equal(t, 1, up.count(primary))

	res := s.Execute(context.Background(), call())
	assert.Equal(t, "cached", body(t, res))
	assert.True(t, res.Cached)
	assert.Equal(t, 0, res.Attempts, "no attempt: the breaker is open and the cache answers")
	assert.Equal(t, 1, up.count(primary))
	assert.Equal(t, 0, up.count(backup))
}

func TestExecute_ClosesTheFailedAnswerWhenTheCacheAnswers(t *testing.T) {
	s := compile(t, ladderPolicy(), nil, Options{})
	var bodies []*trackedBody
	call := &Call{Primary: primary, Rungs: []*Target{nil, &backup, nil}, Classify: classify, Cached: cachedAnswer,
		Attempt: func(context.Context, Target) (*http.Response, error) {
			b := &trackedBody{Reader: strings.NewReader("x")}
			bodies = append(bodies, b)
			return &http.Response{StatusCode: 503, Header: http.Header{}, Body: b}, nil
		}}
	res := s.Execute(context.Background(), call)
	require.True(t, res.Cached)
	require.Len(t, bodies, 2)
	assert.True(t, bodies[0].closed)
	assert.True(t, bodies[1].closed, "the provider's error answer is closed: the app gets the cached one")
}

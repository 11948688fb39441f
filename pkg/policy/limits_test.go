package policy

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tollgate.dev/tollgate/pkg/proxyconfig"
)

func limits(t *testing.T, rl proxyconfig.RateLimit) *Limits {
	t.Helper()
	p := basePolicy()
	p.RateLimit = &rl
	return compile(t, p, nil, Options{}).Limits()
}

func TestLimits_RequestsPerMinute(t *testing.T) {
	l := limits(t, proxyconfig.RateLimit{RequestsPerMinute: 2})
	for range 2 {
		a, err := l.Admit(context.Background(), 0)
		require.NoError(t, err)
		a.Done(-1)
	}
	_, err := l.Admit(context.Background(), 0)
	var le *LimitError
	require.ErrorAs(t, err, &le)
	assert.Equal(t, LimitRequests, le.Limit)
	assert.Greater(t, le.RetryAfter, time.Duration(0))
	assert.LessOrEqual(t, le.RetryAfter, time.Minute, "capacity frees up at the next minute window")
}

func TestLimits_ConcurrencyWaitsUpToMaxWait(t *testing.T) {
	l := limits(t, proxyconfig.RateLimit{MaxConcurrent: 1, MaxWait: proxyconfig.Duration(20 * time.Millisecond)})
	first, err := l.Admit(context.Background(), 0)
	require.NoError(t, err)

	_, err = l.Admit(context.Background(), 0)
	var le *LimitError
	require.ErrorAs(t, err, &le, "the slot is held")
	assert.Equal(t, LimitConcurrency, le.Limit)

	done := make(chan error)
	go func() {
		l2 := limits(t, proxyconfig.RateLimit{MaxConcurrent: 1, MaxWait: proxyconfig.Duration(5 * time.Second)})
		a, _ := l2.Admit(context.Background(), 0)
		go func() { time.Sleep(10 * time.Millisecond); a.Done(-1) }()
		_, err := l2.Admit(context.Background(), 0)
		done <- err
	}()
	require.NoError(t, <-done, "a request waits for a slot to free up")
	first.Done(-1)
	a, err := l.Admit(context.Background(), 0)
	require.NoError(t, err, "Done frees the slot")
	a.Done(-1)
}

func TestLimits_TokensAreChargedByEstimateAndSettledByUsage(t *testing.T) {
	l := limits(t, proxyconfig.RateLimit{TokensPerMinute: 100})

	a, err := l.Admit(context.Background(), 60)
	require.NoError(t, err)
	_, err = l.Admit(context.Background(), 60)
	require.Error(t, err, "60 + 60 exceeds 100")

	a.Done(10) // used 10 of the 60 charged: 50 come back as credit
	b, err := l.Admit(context.Background(), 80)
	require.NoError(t, err, "50 credit + 40 left cover 80")
	b.Done(100) // used 20 more than charged: the limiter goes into debt
	_, err = l.Admit(context.Background(), 1)
	var le *LimitError
	require.ErrorAs(t, err, &le)
	assert.Equal(t, LimitTokens, le.Limit)
}

func TestLimits_ARequestLargerThanTheAllowanceCanRun(t *testing.T) {
	l := limits(t, proxyconfig.RateLimit{TokensPerMinute: 100})
	a, err := l.Admit(context.Background(), 5000)
	require.NoError(t, err)
	a.Done(-1)
}

func TestLimits_NilAdmitsEverything(t *testing.T) {
	var l *Limits
	a, err := l.Admit(context.Background(), 1e9)
	require.NoError(t, err)
	a.Done(5)
}

func TestLimits_StateSurvivesReloadWhenUnchanged(t *testing.T) {
	p := basePolicy()
	p.RateLimit = &proxyconfig.RateLimit{RequestsPerMinute: 1}
	s1 := compile(t, p, nil, Options{})
	_, err := s1.Limits().Admit(context.Background(), 0)
	require.NoError(t, err)

	p.Retry = fastRetry(2)
	s2 := compile(t, p, s1, Options{})
	_, err = s2.Limits().Admit(context.Background(), 0)
	assert.Error(t, err, "the reloaded policy still counts the request made before")

	p.RateLimit.RequestsPerMinute = 2
	s3 := compile(t, p, s2, Options{})
	_, err = s3.Limits().Admit(context.Background(), 0)
	assert.NoError(t, err, "changed limits start afresh")
}

func TestLimits_CanceledWhileWaiting(t *testing.T) {
	l := limits(t, proxyconfig.RateLimit{MaxConcurrent: 1, MaxWait: proxyconfig.Duration(time.Minute)})
	a, err := l.Admit(context.Background(), 0)
	require.NoError(t, err)
	defer a.Done(-1)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	_, err = l.Admit(ctx, 0)
	var le *LimitError
	assert.False(t, errors.As(err, &le), "cancellation is not a limit refusal: %v", err)
	assert.Error(t, err)
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	tests := map[string]struct {
		header, value string
		want          time.Duration
		wantOK        bool
	}{
		"delay seconds":       {header: "Retry-After", value: "7", want: 7 * time.Second, wantOK: true},
		"fractional seconds":  {header: "Retry-After", value: "0.5", want: 500 * time.Millisecond, wantOK: true},
		"an HTTP date":        {header: "Retry-After", value: "Mon, 23 Nov 2026 12:00:30 GMT", want: 30 * time.Second, wantOK: true},
		"a date in the past":  {header: "Retry-After", value: "Mon, 23 Nov 2026 11:00:00 GMT", want: 0, wantOK: true},
		"milliseconds header": {header: "Retry-After-Ms", value: "250", want: 250 * time.Millisecond, wantOK: true},
		"garbage":             {header: "Retry-After", value: "soon", wantOK: false},
		"negative":            {header: "Retry-After", value: "-3", wantOK: false},
		"absent":              {header: "X-Other", value: "1", wantOK: false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			h := map[string][]string{}
			if tc.header != "" {
				h[tc.header] = []string{tc.value}
			}
			d, ok := ParseRetryAfter(h, now)
			assert.Equal(t, tc.wantOK, ok)
			assert.Equal(t, tc.want, d)
		})
	}
}

func TestLimits_AdmitDryRunRefusesWhatAdmitRefusesWithoutWaitingOrRefusing(t *testing.T) {
	cases := map[string]struct {
		rl        proxyconfig.RateLimit
		tokens    int64
		n         int
		wantLimit []string // per request, "" when admitted
	}{
		"requests per minute": {
			rl: proxyconfig.RateLimit{RequestsPerMinute: 2}, n: 4,
			wantLimit: []string{"", "", LimitRequests, LimitRequests},
		},
		"tokens per minute": {
			rl: proxyconfig.RateLimit{TokensPerMinute: 100}, tokens: 40, n: 4,
			wantLimit: []string{"", "", LimitTokens, LimitTokens},
		},
		"concurrency, while every request is in flight": {
			rl: proxyconfig.RateLimit{MaxConcurrent: 2}, n: 4,
			wantLimit: []string{"", "", LimitConcurrency, LimitConcurrency},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			enforce, dryRun := limits(t, tc.rl), limits(t, tc.rl)
			var held []*Admission
			for i := range tc.n {
				a, err := enforce.Admit(context.Background(), tc.tokens)
				var le *LimitError
				if tc.wantLimit[i] == "" {
					require.NoError(t, err, "request %d", i)
					held = append(held, a)
				} else {
					require.ErrorAs(t, err, &le, "request %d", i)
					assert.Equal(t, tc.wantLimit[i], le.Limit)
				}

				start := time.Now()
				d, would := dryRun.AdmitDryRun(tc.tokens)
				assert.Less(t, time.Since(start), 50*time.Millisecond, "never waits")
				require.NotNil(t, d, "always admitted")
				held = append(held, d)
				if tc.wantLimit[i] == "" {
					assert.Nil(t, would, "request %d: Enforce admits it", i)
				} else {
					require.NotNil(t, would, "request %d: Enforce refuses it", i)
					assert.Equal(t, tc.wantLimit[i], would.Limit)
					assert.Equal(t, le.Limit, would.Limit)
				}
			}
			for _, a := range held {
				a.Done(-1)
			}
		})
	}
}

func TestLimits_AdmitDryRunTakesThePermitsAWaitWouldHaveTaken(t *testing.T) {
	// With a minute's wait allowed, Admit would wait for the next minute's
	// allowance; AdmitDryRun takes it at once, so the request after it is
	// the one refused.
	l := limits(t, proxyconfig.RateLimit{RequestsPerMinute: 1, MaxWait: proxyconfig.Duration(90 * time.Second)})
	_, would := l.AdmitDryRun(0)
	assert.Nil(t, would)
	_, would = l.AdmitDryRun(0)
	assert.Nil(t, would, "Admit would have waited for the next minute's permit")
	_, would = l.AdmitDryRun(0)
	require.NotNil(t, would, "the permits of this minute and the next are taken")
	assert.Equal(t, LimitRequests, would.Limit)
}

func TestLimits_AdmitDryRunFreesTheSlotOfARequestItWouldRefuse(t *testing.T) {
	l := limits(t, proxyconfig.RateLimit{MaxConcurrent: 1, RequestsPerMinute: 1})
	first, would := l.AdmitDryRun(0)
	require.Nil(t, would)
	first.Done(-1)
	_, would = l.AdmitDryRun(0)
	require.NotNil(t, would, "the minute's request is spent")
	assert.Equal(t, LimitRequests, would.Limit)
	_, would = l.AdmitDryRun(0)
	require.NotNil(t, would)
	assert.Equal(t, LimitRequests, would.Limit, "the refused request gave its concurrency slot back at once")
}

package budget

import (
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tollgate.dev/tollgate/pkg/proxyconfig"
)

// fakeClock is a clock tests set by hand; safe for concurrent use.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock(now time.Time) *fakeClock { return &fakeClock{now: now} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Set(now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = now
}

// utc is a time of day in UTC.
func utc(y int, m time.Month, d, h, min, s int) time.Time {
	return time.Date(y, m, d, h, min, s, 0, time.UTC)
}

func usd(s string) proxyconfig.USD { return proxyconfig.USDFromDecimal(decimal.RequireFromString(s)) }

// assertUSD compares amounts by value, so "10" equals "10.00".
func assertUSD(t *testing.T, want string, got proxyconfig.USD, msgAndArgs ...any) {
	t.Helper()
	assert.Equal(t, usd(want).String(), got.String(), msgAndArgs...)
}

// blockAt returns Settings that block at limit, soft limit at 80%, monthly.
func blockAt(limit string) Settings {
	return Settings{Period: proxyconfig.Monthly, Limit: usd(limit), SoftLimitPercent: 80, OnExhausted: proxyconfig.Block}
}

// downgradeAt returns Settings that downgrade to openai/gpt-4o-mini at limit.
func downgradeAt(limit string) Settings {
	s := blockAt(limit)
	s.OnExhausted = proxyconfig.Downgrade
	s.DowngradeTo = &proxyconfig.ModelRef{Provider: "openai", Model: "gpt-4o-mini"}
	return s
}

func newGate(t *testing.T, s Settings, c *fakeClock) *Local {
	t.Helper()
	return NewLocal(s, c.Now)
}

// spend settles amount on g as one request that cost what it reserved.
func spend(t *testing.T, g *Local, amount string) {
	t.Helper()
	// Reserved at nothing and charged amount, as a request that cost more
	// than its reservation: whatever amount, the gate admits it while
	// anything remains.
	r, d := g.Reserve(usd("0"))
	require.NotNil(t, r, "spend %s: the gate refused the request (%s)", amount, d.State)
	require.True(t, r.Settle(usd(amount)))
}

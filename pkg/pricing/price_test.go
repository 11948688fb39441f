package pricing

import (
	"math"
	"math/big"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tollgate.dev/tollgate/pkg/proxyconfig"
)

// price builds a Price from decimal strings: input, cached input, output.
func price(t *testing.T, in, cached, out string) Price {
	t.Helper()
	return Price{InputPerMillion: usd(in), CachedInputPerMillion: usd(cached), OutputPerMillion: usd(out)}
}

func TestPrice_Cost(t *testing.T) {
	tests := map[string]struct {
		price  [3]string // input, cached input, output per million
		tokens Tokens
		want   string
	}{
		"zero usage costs nothing": {
			price: [3]string{"2.50", "1.25", "10"}, tokens: Tokens{}, want: "0",
		},
		"input and output at their prices": {
			price: [3]string{"2.50", "1.25", "10"}, tokens: Tokens{Input: 1000, Output: 500},
			want: "0.0075", // 1000*2.50/1e6 + 500*10/1e6
		},
		"cached input at the cached price, the rest of the input at the input price": {
			price: [3]string{"2.50", "1.25", "10"}, tokens: Tokens{Input: 2000, CachedInput: 1500, Output: 100},
			want: "0.004125", // (500*2.50 + 1500*1.25 + 100*10) / 1e6
		},
		"input served wholly from the cache": {
			price: [3]string{"3", "0.30", "15"}, tokens: Tokens{Input: 10000, CachedInput: 10000},
			want: "0.003",
		},
		"one token at the smallest price keeps every decimal": {
			price: [3]string{"0.05", "0.005", "0.40"}, tokens: Tokens{Input: 1, CachedInput: 1},
			want: "0.000000005",
		},
		"embeddings: input only, output free": {
			price: [3]string{"0.02", "0.02", "0"}, tokens: Tokens{Input: 8191},
			want: "0.00016382",
		},
		"huge counts do not overflow": {
			price: [3]string{"150", "150", "600"}, tokens: Tokens{Input: math.MaxInt64, Output: math.MaxInt64},
			want: "6917529027641081.85525", // (2^63-1) * (150+600) / 1e6
		},
		"negative counts are taken as zero": {
			price: [3]string{"2.50", "1.25", "10"}, tokens: Tokens{Input: -1000, CachedInput: -5, Output: -1},
			want: "0",
		},
		"a negative output count does not cancel the input's cost": {
			price: [3]string{"2.50", "1.25", "10"}, tokens: Tokens{Input: 1000, Output: -1000},
			want: "0.0025",
		},
		"cached input beyond the input is capped at the input": {
			price: [3]string{"2.50", "1.25", "10"}, tokens: Tokens{Input: 100, CachedInput: 300},
			want: "0.000125", // 100 cached tokens, none uncached
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			p := price(t, tc.price[0], tc.price[1], tc.price[2])
			got := p.Cost(tc.tokens)
			assert.Equal(t, tc.want, got.String())
			assert.True(t, got.Decimal().Equal(decimal.RequireFromString(tc.want)), "FormatUSD rounded %s", got)
		})
	}
}

func TestPrice_CostOfCacheWrites(t *testing.T) {
	// Claude Sonnet 4.5: $3 input, $0.30 cache reads, $3.75 5-minute and $6
	// one-hour cache writes, $15 output per million tokens.
	p := Price{InputPerMillion: usd("3"), CachedInputPerMillion: usd("0.30"), CacheWritePerMillion: usd("3.75"), CacheWrite1hPerMillion: usd("6"), OutputPerMillion: usd("15")}
	tests := map[string]struct {
		tokens Tokens
		want   string
	}{
		"5-minute writes at their rate, the rest of the input at the input price": {
			tokens: Tokens{Input: 1594, CacheWrite: 1591, Output: 4},
			want:   "0.00603525", // (3*3 + 1591*3.75 + 4*15) / 1e6
		},
		"one-hour writes at theirs": {
			tokens: Tokens{Input: 1510, CacheWrite: 1000, CacheWrite1h: 500, Output: 40},
			want:   "0.00738", // (10*3 + 1000*3.75 + 500*6 + 40*15) / 1e6
		},
		"reads and writes in one answer": {
			tokens: Tokens{Input: 3100, CachedInput: 2000, CacheWrite: 1000},
			want:   "0.00465", // (100*3 + 2000*0.30 + 1000*3.75) / 1e6
		},
		"writes beyond what is left of the input are capped": {
			tokens: Tokens{Input: 100, CachedInput: 60, CacheWrite: 30, CacheWrite1h: 500},
			want:   "0.0001905", // (60*0.30 + 30*3.75 + 10*6) / 1e6
		},
		"negative writes are taken as zero": {
			tokens: Tokens{Input: 100, CacheWrite: -50, CacheWrite1h: -1},
			want:   "0.0003",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			assert.Equal(t, tc.want, p.Cost(tc.tokens).String())
		})
	}
}

// TestPrice_CostOfAMillionSmallRequestsSumsWithoutDrift sums the cost of a
// million requests one by one, as a budget does, and compares the total
// with the cost of their summed usage and with exact rational arithmetic.
// Summed as float64 the same costs drift in the last digits.
func TestPrice_CostOfAMillionSmallRequestsSumsWithoutDrift(t *testing.T) {
	const n = 1_000_000
	p := price(t, "0.15", "0.075", "0.60") // gpt-4o-mini
	var total proxyconfig.USD
	var usage Tokens
	for i := range int64(n) {
		tk := Tokens{Input: 37 + i%11, CachedInput: 8 * (i % 3), Output: 5 + i%7}
		total = total.Add(p.Cost(tk))
		usage.Input += tk.Input
		usage.CachedInput += tk.CachedInput
		usage.Output += tk.Output
	}

	assert.True(t, total.Equal(p.Cost(usage)), "sum of costs %s, cost of summed usage %s", total, p.Cost(usage))

	exact := new(big.Rat)
	for _, term := range []struct {
		tokens int64
		price  string
	}{{usage.Input - usage.CachedInput, "15/100"}, {usage.CachedInput, "75/1000"}, {usage.Output, "60/100"}} {
		r, ok := new(big.Rat).SetString(term.price)
		require.True(t, ok)
		exact.Add(exact, r.Mul(r, new(big.Rat).SetInt64(term.tokens)))
	}
	exact.Quo(exact, big.NewRat(1_000_000, 1))
	assert.Zero(t, total.Decimal().Rat().Cmp(exact), "sum of costs %s, exact %s", total, exact.FloatString(12))
}

func TestPrice_MaxCost(t *testing.T) {
	tests := map[string]struct {
		price          [3]string
		write, write1h string // cache-write prices, or none
		input, maxOut  int64
		want           string
	}{
		"input at the input price plus the output limit at the output price": {
			price: [3]string{"2.50", "1.25", "10"}, input: 1000, maxOut: 4096,
			want: "0.04346", // (1000*2.50 + 4096*10) / 1e6
		},
		"never assumes a cache discount": {
			price: [3]string{"3", "0.30", "15"}, input: 1_000_000, maxOut: 0,
			want: "3",
		},
		"a cached price above the input price bounds the input": {
			price: [3]string{"1", "2", "4"}, input: 1_000_000, maxOut: 0,
			want: "2",
		},
		"bounds the actual cost of any usage within the limits": {
			price: [3]string{"0.15", "0.075", "0.60"}, input: 500, maxOut: 200,
			want: "0.000195",
		},
		"negative counts are taken as zero": {
			price: [3]string{"2.50", "1.25", "10"}, input: -5, maxOut: -7,
			want: "0",
		},
		"the one-hour cache-write price bounds the input": {
			price: [3]string{"3", "0.30", "15"}, write: "3.75", write1h: "6", input: 1_000_000, maxOut: 0,
			want: "6",
		},
		"the 5-minute cache-write price bounds the input when it is the highest": {
			price: [3]string{"1", "0.10", "5"}, write: "1.25", write1h: "1.10", input: 2000, maxOut: 100,
			want: "0.003", // (2000*1.25 + 100*5) / 1e6
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			p := price(t, tc.price[0], tc.price[1], tc.price[2])
			if tc.write != "" {
				p.CacheWritePerMillion, p.CacheWrite1hPerMillion = usd(tc.write), usd(tc.write1h)
			}
			got := p.MaxCost(tc.input, tc.maxOut)
			assert.Equal(t, tc.want, got.String())
			for _, used := range []Tokens{
				{Input: max(tc.input, 0), Output: max(tc.maxOut, 0)},
				{Input: max(tc.input, 0), CachedInput: max(tc.input, 0), Output: max(tc.maxOut, 0)},
				{Input: max(tc.input, 0) / 2, CachedInput: max(tc.input, 0) / 4},
				{Input: max(tc.input, 0), CacheWrite: max(tc.input, 0), Output: max(tc.maxOut, 0)},
				{Input: max(tc.input, 0), CacheWrite1h: max(tc.input, 0), Output: max(tc.maxOut, 0)},
				{Input: max(tc.input, 0), CachedInput: max(tc.input, 0) / 3, CacheWrite: max(tc.input, 0) / 3, CacheWrite1h: max(tc.input, 0) / 3},
			} {
				assert.True(t, p.Cost(used).LessThanOrEqual(got), "cost of %+v is %s, above the bound %s", used, p.Cost(used), got)
			}
		})
	}
}

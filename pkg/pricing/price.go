package pricing

import (
	"github.com/shopspring/decimal"

	"tollgate.dev/tollgate/pkg/proxyconfig"
)

// Price is what one model costs, in USD per million tokens.
type Price struct {
	// InputPerMillion prices input tokens neither read from nor written to
	// the prompt cache.
	InputPerMillion proxyconfig.USD
	// OutputPerMillion prices output tokens, reasoning tokens included.
	OutputPerMillion proxyconfig.USD
	// CachedInputPerMillion prices input tokens read from the provider's
	// prompt cache.
	CachedInputPerMillion proxyconfig.USD
	// CacheWritePerMillion prices input tokens written to the prompt cache
	// for Anthropic's 5-minute lifetime (or a lifetime not reported).
	CacheWritePerMillion proxyconfig.USD
	// CacheWrite1hPerMillion prices input tokens written to Anthropic's
	// one-hour prompt cache.
	CacheWrite1hPerMillion proxyconfig.USD
	// MaxOutputTokens is the most output the model writes in one answer,
	// or 0 when not known.
	MaxOutputTokens int64
	// writesDefaulted is set when neither write price was given, so that
	// the defaults can follow the provider type (see forType).
	writesDefaulted bool
}

// Tokens is the token usage of one request.
type Tokens struct {
	// Input counts every input token: CachedInput, CacheWrite and
	// CacheWrite1h included.
	Input int64
	// CachedInput is the part of Input read from the prompt cache.
	CachedInput int64
	// CacheWrite is the part of Input written to the prompt cache for the
	// 5-minute lifetime (or a lifetime not reported).
	CacheWrite int64
	// CacheWrite1h is the part of Input written to the one-hour cache.
	CacheWrite1h int64
	// Output counts every output token, reasoning tokens included.
	Output int64
}

// Cost is what usage t costs at price p: each part of the input at its
// price, the rest of the input at InputPerMillion, the output at
// OutputPerMillion, divided by a million.
//
// Counts come from provider answers and are not trusted: a negative count
// is taken as 0, and the parts of the input (cached, written to the cache
// for 5 minutes, for an hour, in that order) are capped at what is left of
// Input (they are a part of the input, never more), so a strange answer
// never makes spend negative or panics. The result is exact.
func (p Price) Cost(t Tokens) proxyconfig.USD {
	rest := max(t.Input, 0)
	part := func(n int64) int64 {
		n = min(max(n, 0), rest)
		rest -= n
		return n
	}
	cached := part(t.CachedInput)
	write := part(t.CacheWrite)
	write1h := part(t.CacheWrite1h)
	output := max(t.Output, 0)
	// Parts of no tokens cost nothing and are left out: each costs a
	// multiplication and an addition of big numbers, and most requests use
	// two of the five.
	var sum decimal.Decimal
	started := false
	for _, part := range [...]struct {
		tokens int64
		price  proxyconfig.USD
	}{{rest, p.InputPerMillion}, {cached, p.CachedInputPerMillion}, {write, p.CacheWritePerMillion}, {write1h, p.CacheWrite1hPerMillion}, {output, p.OutputPerMillion}} {
		switch {
		case part.tokens == 0:
		case started:
			sum = sum.Add(perMillion(part.tokens, part.price))
		default:
			sum, started = perMillion(part.tokens, part.price), true
		}
	}
	if !started {
		return proxyconfig.USD{}
	}
	return proxyconfig.USDFromDecimal(sum.Shift(-6))
}

// perMillion is tokens at price per million tokens, not yet divided by a
// million.
func perMillion(tokens int64, price proxyconfig.USD) decimal.Decimal {
	return decimal.NewFromInt(tokens).Mul(price.Decimal())
}

// MaxCost bounds what a request can cost before it is sent: inputTokens
// (an estimate) at the highest of the input prices (uncached, cached,
// written to either cache), as nothing says how the provider's cache will
// treat the prompt, plus maxOutputTokens at the output price. A budget
// reserves this much and settles with Cost once usage is known, so for
// usage within these counts Cost never exceeds it. The caller passes the
// model's output limit when the request sets none; negative counts are
// taken as 0.
func (p Price) MaxCost(inputTokens, maxOutputTokens int64) proxyconfig.USD {
	highest := proxyconfig.MaxUSD(
		proxyconfig.MaxUSD(p.InputPerMillion, p.CachedInputPerMillion),
		proxyconfig.MaxUSD(p.CacheWritePerMillion, p.CacheWrite1hPerMillion))
	in := perMillion(max(inputTokens, 0), highest)
	out := perMillion(max(maxOutputTokens, 0), p.OutputPerMillion)
	return proxyconfig.USDFromDecimal(in.Add(out).Shift(-6))
}

package pricing

import (
	"github.com/shopspring/decimal"

	"tollgate.dev/tollgate/pkg/proxyconfig"
)

// Price is what one model costs, in USD per million tokens.
type Price struct {
	// InputPerMillion prices input tokens not read from the prompt cache.
	InputPerMillion proxyconfig.USD
	// OutputPerMillion prices output tokens, reasoning tokens included.
	OutputPerMillion proxyconfig.USD
	// CachedInputPerMillion prices input tokens read from the provider's
	// prompt cache.
	CachedInputPerMillion proxyconfig.USD
}

// Tokens is the token usage of one request.
type Tokens struct {
	// Input counts every input token, CachedInput included.
	Input int64
	// CachedInput is the part of Input read from the prompt cache.
	CachedInput int64
	// Output counts every output token, reasoning tokens included.
	Output int64
}

// Cost is what usage t costs at price p:
//
//	((Input-CachedInput)*InputPerMillion + CachedInput*CachedInputPerMillion + Output*OutputPerMillion) / 1e6
//
// Counts come from provider answers and are not trusted: a negative count
// is taken as 0, and CachedInput is capped at Input (cached tokens are a
// part of the input, never more), so a strange answer never makes spend
// negative or panics. The result is exact.
func (p Price) Cost(t Tokens) proxyconfig.USD {
	input := max(t.Input, 0)
	cached := min(max(t.CachedInput, 0), input)
	output := max(t.Output, 0)
	sum := perMillion(input-cached, p.InputPerMillion).
		Add(perMillion(cached, p.CachedInputPerMillion)).
		Add(perMillion(output, p.OutputPerMillion))
	return proxyconfig.USDFromDecimal(sum.Shift(-6))
}

// perMillion is tokens at price per million tokens, not yet divided by a
// million.
func perMillion(tokens int64, price proxyconfig.USD) decimal.Decimal {
	return decimal.NewFromInt(tokens).Mul(price.Decimal())
}

// MaxCost bounds what a request can cost before it is sent: inputTokens
// (an estimate) at the higher of the uncached and cached input prices, as
// nothing says how much of the prompt the cache will serve, plus
// maxOutputTokens at the output price. A budget reserves this much and
// settles with Cost once usage is known. The caller passes the model's
// output limit when the request sets none; negative counts are taken as 0.
func (p Price) MaxCost(inputTokens, maxOutputTokens int64) proxyconfig.USD {
	in := perMillion(max(inputTokens, 0), proxyconfig.MaxUSD(p.InputPerMillion, p.CachedInputPerMillion))
	out := perMillion(max(maxOutputTokens, 0), p.OutputPerMillion)
	return proxyconfig.USDFromDecimal(in.Add(out).Shift(-6))
}

package pricing

import (
	"strings"

	"github.com/shopspring/decimal"
)

// Price is what one model costs, in USD per million tokens.
type Price struct {
	// InputPerMillion prices input tokens not read from the prompt cache.
	InputPerMillion decimal.Decimal
	// OutputPerMillion prices output tokens, reasoning tokens included.
	OutputPerMillion decimal.Decimal
	// CachedInputPerMillion prices input tokens read from the provider's
	// prompt cache.
	CachedInputPerMillion decimal.Decimal
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
func (p Price) Cost(t Tokens) decimal.Decimal {
	input := max(t.Input, 0)
	cached := min(max(t.CachedInput, 0), input)
	output := max(t.Output, 0)
	sum := decimal.NewFromInt(input - cached).Mul(p.InputPerMillion).
		Add(decimal.NewFromInt(cached).Mul(p.CachedInputPerMillion)).
		Add(decimal.NewFromInt(output).Mul(p.OutputPerMillion))
	return sum.Shift(-6)
}

// MaxCost bounds what a request can cost before it is sent: inputTokens
// (an estimate) at the higher of the uncached and cached input prices, as
// nothing says how much of the prompt the cache will serve, plus
// maxOutputTokens at the output price. A budget reserves this much and
// settles with Cost once usage is known. The caller passes the model's
// output limit when the request sets none; negative counts are taken as 0.
func (p Price) MaxCost(inputTokens, maxOutputTokens int64) decimal.Decimal {
	in := decimal.NewFromInt(max(inputTokens, 0)).Mul(decimal.Max(p.InputPerMillion, p.CachedInputPerMillion))
	out := decimal.NewFromInt(max(maxOutputTokens, 0)).Mul(p.OutputPerMillion)
	return in.Add(out).Shift(-6)
}

// usdPlaces is how many decimals FormatUSD keeps: every cost computed from
// prices with at most six decimals fits exactly.
const usdPlaces = 12

// FormatUSD formats an amount of USD for logs and headers in plain decimal
// notation without trailing zeros ("0.000125", "12.5", "0"), rounded to 12
// decimals. Unlike decimal.Decimal.String it never uses scientific notation,
// whatever the decimal package's global settings.
func FormatUSD(d decimal.Decimal) string {
	s := d.StringFixed(usdPlaces)
	if strings.IndexByte(s, '.') >= 0 {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	if s == "-0" {
		return "0"
	}
	return s
}

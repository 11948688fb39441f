package proxyconfig

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/shopspring/decimal"
)

// USD is an exact amount of US dollars: a budget limit, a price per million
// tokens, a cost, spend. It is a decimal, never a float, so that a million
// requests of a fraction of a cent add up to the cent.
//
// Amounts written by people (a policy's budget.limit and spec.pricing, the
// built-in price table) are parsed once, by ParseUSD, into this type; every
// later layer computes with it. Its zero value is zero dollars. In JSON it
// is a decimal string ("19.99"), as in the LLMPolicy API.
type USD struct{ d decimal.Decimal }

// USDPlaces is how many decimals an amount written by people may have.
const USDPlaces = 6

// maxUSDIntDigits is how many digits an amount written by people may have
// before the decimal point: up to a billion dollars.
const maxUSDIntDigits = 9

// ErrNotUSD is wrapped by ParseUSD's errors.
var ErrNotUSD = errors.New(`not a USD amount: write a decimal string with at most 9 digits before the point and 6 after, such as "250" or "19.99"`)

// ParseUSD parses an amount as policies write it: a plain non-negative
// decimal, at most 9 digits before the point and USDPlaces after. Signs,
// exponents, spaces, hex, NaN and Inf (which a float parser would take) are
// refused. This is the one Go copy of the syntax; the CRD's CEL rules are
// the API server's.
func ParseUSD(s string) (USD, error) {
	intPart, frac, hasPoint := strings.Cut(s, ".")
	if !digits(intPart, 1, maxUSDIntDigits) || (hasPoint && !digits(frac, 1, USDPlaces)) {
		return USD{}, fmt.Errorf("%q is %w", s, ErrNotUSD)
	}
	d, err := decimal.NewFromString(s)
	if err != nil { // cannot happen for the syntax above; kept as an error
		return USD{}, fmt.Errorf("%q is %w", s, ErrNotUSD)
	}
	return USD{d}, nil
}

// digits reports whether s is between lo and hi ASCII digits.
func digits(s string, lo, hi int) bool {
	if len(s) < lo || len(s) > hi {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// MustUSD is ParseUSD for amounts known to be valid (constants, tests). It
// panics on a bad amount.
func MustUSD(s string) USD {
	u, err := ParseUSD(s)
	if err != nil {
		panic(err)
	}
	return u
}

// USDFromDecimal returns d as an amount. It is for amounts computed from
// other amounts, which may have more decimals than people write.
func USDFromDecimal(d decimal.Decimal) USD { return USD{d} }

// Decimal returns u as a decimal, for arithmetic USD does not offer.
func (u USD) Decimal() decimal.Decimal { return u.d }

// Add returns u + v.
func (u USD) Add(v USD) USD { return USD{u.d.Add(v.d)} }

// Times returns u × n.
func (u USD) Times(n int64) USD { return USD{u.d.Mul(decimal.NewFromInt(n))} }

// Sub returns u - v.
func (u USD) Sub(v USD) USD { return USD{u.d.Sub(v.d)} }

// Percent returns p percent of u, exactly.
func (u USD) Percent(p int) USD { return USD{u.d.Mul(decimal.NewFromInt(int64(p))).Shift(-2)} }

// Cmp compares u and v: -1 when u < v, 0 when equal, +1 when u > v.
func (u USD) Cmp(v USD) int { return u.d.Cmp(v.d) }

// Equal reports whether u == v.
func (u USD) Equal(v USD) bool { return u.d.Equal(v.d) }

// GreaterThan reports whether u > v.
func (u USD) GreaterThan(v USD) bool { return u.d.GreaterThan(v.d) }

// GreaterThanOrEqual reports whether u >= v.
func (u USD) GreaterThanOrEqual(v USD) bool { return u.d.GreaterThanOrEqual(v.d) }

// LessThan reports whether u < v.
func (u USD) LessThan(v USD) bool { return u.d.LessThan(v.d) }

// LessThanOrEqual reports whether u <= v.
func (u USD) LessThanOrEqual(v USD) bool { return u.d.LessThanOrEqual(v.d) }

// IsZero reports whether u is zero dollars.
func (u USD) IsZero() bool { return u.d.IsZero() }

// IsPositive reports whether u > 0.
func (u USD) IsPositive() bool { return u.d.IsPositive() }

// IsNegative reports whether u < 0.
func (u USD) IsNegative() bool { return u.d.IsNegative() }

// MaxUSD returns the larger of a and b.
func MaxUSD(a, b USD) USD {
	if a.d.GreaterThanOrEqual(b.d) {
		return a
	}
	return b
}

// MinUSD returns the smaller of a and b.
func MinUSD(a, b USD) USD {
	if a.d.LessThanOrEqual(b.d) {
		return a
	}
	return b
}

// Float64 returns u as a float, for metrics only: never compute money with
// it.
func (u USD) Float64() float64 {
	f, _ := u.d.Float64()
	return f
}

// stringPlaces is how many decimals String keeps: every cost computed from
// prices of USDPlaces decimals per million tokens fits exactly.
const stringPlaces = 12

// String formats u in plain decimal notation without trailing zeros
// ("0.000125", "12.5", "0"), rounded to 12 decimals. Unlike
// decimal.Decimal.String it never uses scientific notation, whatever the
// decimal package's global settings.
func (u USD) String() string {
	s := u.d.StringFixed(stringPlaces)
	if strings.IndexByte(s, '.') >= 0 {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	if s == "-0" {
		return "0"
	}
	return s
}

// MarshalJSON encodes u as a decimal string.
func (u USD) MarshalJSON() ([]byte, error) {
	return json.Marshal(u.String())
}

// UnmarshalJSON decodes an amount written as ParseUSD reads it. A bundle
// holds only amounts people wrote (limits, prices), so the syntax is
// checked here, once, when the contract is read.
func (u *USD) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("a USD amount must be a decimal string such as \"19.99\": %w", err)
	}
	v, err := ParseUSD(s)
	if err != nil {
		return err
	}
	*u = v
	return nil
}

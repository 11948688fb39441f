package wire

import (
	"strconv"
	"strings"
)

// maxExponent bounds the decimal exponents canonicalNumber normalizes; a
// literal beyond it is kept as written, which can only lower the hit rate.
const maxExponent = 1 << 40

// canonicalNumber returns the canonical form of a JSON number literal (as
// json.Valid accepts it): its exact decimal value written as
// [-]digits[e exponent], digits without leading or trailing zeros, so that
// 1, 1.0, 10e-1 and 0.1e1 are all "1", 0.70 and 7e-1 are "7e-1", 100 is
// "1e2", and every zero (0, -0, 0.0e5) is "0". Values are compared as
// decimals, never through float64: two integers too large for a float64
// (seeds, say) keep distinct forms.
func CanonicalNumber(lit string) string {
	s := lit
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	mantissa, expPart, hasExp := strings.Cut(strings.ToLower(s), "e")
	intPart, fracPart, _ := strings.Cut(mantissa, ".")

	digits := strings.TrimLeft(intPart+fracPart, "0")
	if digits == "" {
		return "0"
	}
	trimmed := strings.TrimRight(digits, "0")
	shift := int64(len(digits)-len(trimmed)) - int64(len(fracPart))

	var exp int64
	if hasExp {
		var err error
		exp, err = strconv.ParseInt(expPart, 10, 64)
		if err != nil || exp > maxExponent || exp < -maxExponent {
			return lit
		}
	}
	exp += shift

	var b strings.Builder
	b.Grow(len(trimmed) + 24)
	if neg {
		b.WriteByte('-')
	}
	b.WriteString(trimmed)
	if exp != 0 {
		b.WriteByte('e')
		b.WriteString(strconv.FormatInt(exp, 10))
	}
	return b.String()
}

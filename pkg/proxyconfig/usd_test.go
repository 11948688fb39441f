package proxyconfig

import (
	"encoding/json"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseUSD_AcceptsOnlyPlainDecimals(t *testing.T) {
	tests := map[string]struct {
		in      string
		wantErr bool
	}{
		"whole dollars":                    {in: "250"},
		"cents":                            {in: "19.99"},
		"six decimals":                     {in: "0.000001"},
		"zero":                             {in: "0"},
		"nine digits before the point":     {in: "999999999.5"},
		"empty":                            {in: "", wantErr: true},
		"ten digits before the point":      {in: "1000000000", wantErr: true},
		"seven decimals":                   {in: "0.0000001", wantErr: true},
		"a comma for a decimal point":      {in: "2,50", wantErr: true},
		"a negative amount":                {in: "-1", wantErr: true},
		"a plus sign":                      {in: "+1", wantErr: true},
		"a currency sign":                  {in: "$0.10", wantErr: true},
		"NaN":                              {in: "NaN", wantErr: true},
		"infinity":                         {in: "Inf", wantErr: true},
		"an exponent":                      {in: "1e3", wantErr: true},
		"a hex float":                      {in: "0x1p-2", wantErr: true},
		"a point without decimals":         {in: "1.", wantErr: true},
		"decimals without a whole part":    {in: ".5", wantErr: true},
		"spaces":                           {in: " 1", wantErr: true},
		"an underscore between the digits": {in: "1_000", wantErr: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := ParseUSD(tc.in)
			if tc.wantErr {
				require.ErrorIs(t, err, ErrNotUSD)
				assert.Contains(t, err.Error(), `"`+tc.in+`"`, "the error quotes the value")
				return
			}
			require.NoError(t, err)
			assert.True(t, got.Decimal().Equal(decimal.RequireFromString(tc.in)))
		})
	}
}

func TestUSD_StringIsPlainDecimalWithoutTrailingZeros(t *testing.T) {
	tests := map[string]struct {
		in   decimal.Decimal
		want string
	}{
		"zero":                                {decimal.Zero, "0"},
		"the zero value":                      {decimal.Decimal{}, "0"},
		"a fraction of a cent":                {decimal.RequireFromString("0.000125"), "0.000125"},
		"trailing zeros are trimmed":          {decimal.RequireFromString("12.500"), "12.5"},
		"whole dollars have no point":         {decimal.RequireFromString("3.000"), "3"},
		"twelve decimals are kept":            {decimal.New(5, -12), "0.000000000005"},
		"beyond twelve decimals it rounds":    {decimal.New(4, -13), "0"},
		"a negative amount rounding to zero":  {decimal.New(-4, -13), "0"},
		"large amounts are not in e-notation": {decimal.New(1, 20), "100000000000000000000"},
		"small amounts are not in e-notation": {decimal.New(7, -9), "0.000000007"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			assert.Equal(t, tc.want, USDFromDecimal(tc.in).String())
		})
	}
}

func TestUSD_JSONIsADecimalString(t *testing.T) {
	var b Budget
	require.NoError(t, json.Unmarshal([]byte(`{"limit":"19.990"}`), &b))
	assert.Equal(t, "19.99", b.Limit.String())
	out, err := json.Marshal(b.Limit)
	require.NoError(t, err)
	assert.Equal(t, `"19.99"`, string(out))

	assert.ErrorContains(t, json.Unmarshal([]byte(`{"limit":19.99}`), &b), "must be a decimal string")
	assert.ErrorIs(t, json.Unmarshal([]byte(`{"limit":"1e3"}`), &b), ErrNotUSD)
}

func TestUSD_ArithmeticIsExact(t *testing.T) {
	tenth := MustUSD("0.1")
	var sum USD
	for range 10 {
		sum = sum.Add(tenth)
	}
	assert.True(t, sum.Equal(MustUSD("1")), "ten dimes are a dollar, got %s", sum)
	assert.Equal(t, "0.8", MustUSD("1").Percent(80).String())
	assert.Equal(t, "-0.9", tenth.Sub(MustUSD("1")).String())
	assert.True(t, MaxUSD(tenth, sum).Equal(sum))
	assert.True(t, MinUSD(tenth, sum).Equal(tenth))
}

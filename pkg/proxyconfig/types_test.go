package proxyconfig

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSelector_Matches(t *testing.T) {
	labels := map[string]string{"app": "chat", "tier": "web"}
	tests := map[string]struct {
		sel  *Selector
		want bool
	}{
		"nil selects every pod":      {sel: nil, want: true},
		"empty selects every pod":    {sel: &Selector{}, want: true},
		"matching labels":            {sel: &Selector{MatchLabels: map[string]string{"app": "chat"}}, want: true},
		"a label with another value": {sel: &Selector{MatchLabels: map[string]string{"app": "batch"}}, want: false},
		"a missing label":            {sel: &Selector{MatchLabels: map[string]string{"team": "x"}}, want: false},
		"In":                         {sel: &Selector{MatchExpressions: []Requirement{{Key: "tier", Operator: "In", Values: []string{"web", "api"}}}}, want: true},
		"NotIn":                      {sel: &Selector{MatchExpressions: []Requirement{{Key: "tier", Operator: "NotIn", Values: []string{"web"}}}}, want: false},
		"NotIn of a missing label":   {sel: &Selector{MatchExpressions: []Requirement{{Key: "x", Operator: "NotIn", Values: []string{"web"}}}}, want: true},
		"Exists":                     {sel: &Selector{MatchExpressions: []Requirement{{Key: "app", Operator: "Exists"}}}, want: true},
		"DoesNotExist":               {sel: &Selector{MatchExpressions: []Requirement{{Key: "app", Operator: "DoesNotExist"}}}, want: false},
		"an unknown operator":        {sel: &Selector{MatchExpressions: []Requirement{{Key: "app", Operator: "Like"}}}, want: false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			assert.Equal(t, tc.want, tc.sel.Matches(labels))
		})
	}
}

func TestBundle_SelectPicksTheFirstMatch(t *testing.T) {
	b := Bundle{Policies: []Policy{
		{Name: "batch-only", Selector: &Selector{MatchLabels: map[string]string{"app": "batch"}}},
		{Name: "older", Selector: &Selector{MatchLabels: map[string]string{"app": "chat"}}},
		{Name: "newer"},
	}}
	assert.Equal(t, "older", b.Select(map[string]string{"app": "chat"}).Name)
	assert.Equal(t, "newer", b.Select(map[string]string{"app": "other"}).Name)
	assert.Nil(t, (&Bundle{}).Select(nil))
}

func TestDuration_JSON(t *testing.T) {
	var d Duration
	require.NoError(t, json.Unmarshal([]byte(`"1m30s"`), &d))
	assert.Equal(t, 90*time.Second, d.D())
	b, err := json.Marshal(d)
	require.NoError(t, err)
	assert.Equal(t, `"1m30s"`, string(b))
	assert.ErrorContains(t, json.Unmarshal([]byte(`"soon"`), &d), `"soon" is not a duration`)
	assert.ErrorContains(t, json.Unmarshal([]byte(`30`), &d), "must be a string")
}

func TestDecode_RefusesUnknownFields(t *testing.T) {
	_, err := Decode([]byte(`{"apiVersion":"proxyconfig.tollgate.dev/v1","kind":"Bundle","policies":[],"polices":[]}`))
	assert.ErrorContains(t, err, `unknown field "polices"`)
}

func TestValidate_ReportsWhatIsWrongAndWhere(t *testing.T) {
	p := Policy{
		Name:      "p",
		Providers: []Provider{{Name: "openai", Type: OpenAI, BaseURL: "https://api.openai.com"}, {Name: "openai", Type: "Mistral", BaseURL: "ftp://x"}},
		Timeouts:  Timeouts{Connect: Duration(time.Second), FirstToken: Duration(time.Minute), Total: Duration(time.Second)},
		Fallbacks: []Fallback{
			{StaticResponse: "x"}, {Provider: "nope"}, {CachedResponse: &CachedResponse{MaxEntries: 1}},
			{CachedResponse: &CachedResponse{MaxStale: Duration(time.Hour)}}, {Provider: "openai", CachedResponse: &CachedResponse{}}, {},
		},
		Budget:         &Budget{Period: Monthly, Limit: USD{}, SoftLimitPercent: 80, OnExhausted: Downgrade},
		FailureRecords: &FailureRecords{IncludeRequestBody: true},
	}
	err := p.Validate()
	require.Error(t, err)
	for _, want := range []string{
		`providers[1].name: "openai" is declared twice`,
		`providers[1].type: "Mistral" is not one of`,
		`providers[1].baseURL: "ftp://x" must be an absolute http or https URL`,
		"timeouts.firstToken: must not exceed timeouts.total",
		"fallbacks[0].staticResponse: is only allowed on the last rung",
		`fallbacks[1].provider: "nope" is not a declared provider`,
		"fallbacks[2].cachedResponse.maxStale: must be a positive duration",
		"fallbacks[3].cachedResponse: is allowed on one rung only",
		"fallbacks[3].cachedResponse.maxEntries: is 0; must be at least 1",
		"fallbacks[4]: set exactly one of provider, cachedResponse and staticResponse",
		"fallbacks[5]: set exactly one of provider, cachedResponse and staticResponse",
		"budget.limit: is 0; set a USD amount above zero",
		"budget.downgradeTo: is required when onExhausted is Downgrade",
		"failureRecords.maxBodyBytes: is 0; must be at least 1",
	} {
		assert.ErrorContains(t, err, want)
	}
}

func TestPolicy_CachedRungIsTheCachedResponseRungsSettings(t *testing.T) {
	p := Policy{Fallbacks: []Fallback{{Provider: "openai"}, {StaticResponse: "x"}}}
	assert.Nil(t, p.CachedRung())
	c := &CachedResponse{MaxStale: Duration(time.Hour), MaxEntries: 5}
	p.Fallbacks = []Fallback{{Provider: "openai"}, {CachedResponse: c}, {StaticResponse: "x"}}
	assert.Same(t, c, p.CachedRung())
}

func TestBundle_ValidateChecksTheVersion(t *testing.T) {
	b := Bundle{APIVersion: "proxyconfig.tollgate.dev/v9", Kind: KindBundle}
	assert.ErrorContains(t, b.Validate(), "this sidecar reads proxyconfig.tollgate.dev/v1/Bundle")
}

func TestDecode_USDAmountsArePlainDecimals(t *testing.T) {
	tests := map[string]struct {
		limit, price string
		wantErr      string
	}{
		"plain decimals":  {limit: "250", price: "2.50"},
		"a price of zero": {limit: "0.01", price: "0"},
		"zero limit":      {limit: "0.00", price: "1", wantErr: "budget.limit: is 0"},
		"NaN":             {limit: "NaN", price: "1", wantErr: `"NaN" is not a USD amount`},
		"infinity":        {limit: "1", price: "Inf", wantErr: `"Inf" is not a USD amount`},
		"exponent":        {limit: "1e3", price: "1", wantErr: `"1e3" is not a USD amount`},
		"hex float":       {limit: "1", price: "0x1p-2", wantErr: `"0x1p-2" is not a USD amount`},
		"negative":        {limit: "1", price: "-1", wantErr: `"-1" is not a USD amount`},
		"a currency sign": {limit: "$5", price: "1", wantErr: `"$5" is not a USD amount`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			doc := fmt.Sprintf(`{"apiVersion":%q,"kind":"Bundle","policies":[{"name":"p",
				"providers":[{"name":"openai","type":"OpenAI","baseURL":"https://api.openai.com"}],
				"timeouts":{"connect":"1s","firstToken":"1m","total":"1h"},
				"budget":{"period":"Monthly","limit":%q,"softLimitPercent":80,"onExhausted":"Block"},
				"pricing":[{"model":"m","inputPerMillion":%q,"outputPerMillion":"1"}]}]}`, APIVersion, tc.limit, tc.price)
			b, err := Decode([]byte(doc))
			if err == nil {
				err = b.Validate()
			}
			if tc.wantErr == "" {
				assert.NoError(t, err)
				return
			}
			assert.ErrorContains(t, err, tc.wantErr)
		})
	}
}

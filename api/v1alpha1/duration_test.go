package v1alpha1

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDuration_Parse(t *testing.T) {
	tests := map[string]struct {
		in      Duration
		want    time.Duration
		wantErr string
	}{
		"empty is zero":           {in: "", want: 0},
		"milliseconds":            {in: "500ms", want: 500 * time.Millisecond},
		"compound":                {in: "1h30m", want: 90 * time.Minute},
		"fractional":              {in: "1.5s", want: 1500 * time.Millisecond},
		"not a duration":          {in: "soon", wantErr: `"soon" is not a duration; write it like 500ms, 30s or 2m`},
		"zero is not positive":    {in: "0s", wantErr: `"0s" must be positive`},
		"negative is not allowed": {in: "-1s", wantErr: `"-1s" must be positive`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := tc.in.Parse()
			if tc.wantErr != "" {
				require.EqualError(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

package demo

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParsePolicyRow(t *testing.T) {
	tests := map[string]struct {
		out     string
		want    policyRow
		wantErr string
	}{
		"kubectl get llmpolicies": {
			out:  "NAME   READY   MODE      BUDGET      SPENT     LIMIT   AGE\nchat   True    Enforce   Exhausted   0.01295   0.05    7s\n",
			want: policyRow{ready: "True", state: "Exhausted", spent: "0.01295", limit: "0.05"},
		},
		"the row of the named policy among others": {
			out:  "NAME   READY   MODE      BUDGET   SPENT   LIMIT   AGE\nbatch  True    DryRun    Ok       0.2     1       3m\nchat   True    Enforce   Ok       0       0.05    7s\n",
			want: policyRow{ready: "True", state: "Ok", spent: "0", limit: "0.05"},
		},
		"a policy with no budget status yet has empty columns": {
			out:     "NAME   READY   MODE      BUDGET   SPENT   LIMIT   AGE\nchat   True    Enforce                     0.05    1s\n",
			wantErr: "no full row for chat",
		},
		"columns the demo does not know": {
			out:     "NAME   READY   AGE\nchat   True    1s\n",
			wantErr: "no NAME READY MODE BUDGET SPENT LIMIT AGE table",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := parsePolicyRow(tc.out, "chat")
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

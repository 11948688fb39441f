package jsonlog

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDuplicateKeys(t *testing.T) {
	tests := map[string]struct {
		line    string
		want    []string
		wantErr bool
	}{
		"distinct keys":                    {line: `{"a":1,"b":{"a":2},"c":[{"a":3}]}`},
		"a key twice at the top":           {line: `{"namespace":"a","name":"x","namespace":"a"}`, want: []string{"namespace"}},
		"a key twice in a nested object":   {line: `{"a":{"b":1,"b":2}}`, want: []string{"a.b"}},
		"a key twice in an array's object": {line: `{"a":[{"b":1},{"b":1,"b":2}]}`, want: []string{"a[].b"}},
		"the same key in sibling objects":  {line: `{"a":{"x":1},"b":{"x":1}}`},
		"not JSON":                         {line: `I1201 12:00:00.000 leaderelection.go:257] attempting`, wantErr: true},
		"two values":                       {line: `{"a":1}{"b":2}`, wantErr: true},
		"cut short":                        {line: `{"a":1,"b":`, wantErr: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := DuplicateKeys([]byte(tc.line))
			if tc.wantErr {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestCheck(t *testing.T) {
	const log = `{"level":"info","msg":"started"}
{"level":"info","msg":"bundle written","namespace":"a","namespace":"a"}
tollgate-operator: something
{"level":"error","msg":"Reconciler error","error":"conflict"}
{"level":"info","msg":"odd","stacktrace":"main.main\n\tmain.go:1"}
{"level":"warn","msg":"odd","error":"e","errorVerbose":"e\nmain.main\n\tmain.go:1"}
`
	tests := map[string]struct {
		opts Options
		want []string
	}{
		"repeated keys only": {
			want: []string{`line 2: key "namespace" appears more than once: {"level":"info","msg":"bundle written","namespace":"a","namespace":"a"}`},
		},
		"strict": {
			opts: Options{OnlyJSON: true, NoErrors: true},
			want: []string{
				`line 2: key "namespace" appears more than once: {"level":"info","msg":"bundle written","namespace":"a","namespace":"a"}`,
				`line 3: not a JSON object: tollgate-operator: something`,
				`line 4: logged at level error: {"level":"error","msg":"Reconciler error","error":"conflict"}`,
				`line 5: carries a stack trace: {"level":"info","msg":"odd","stacktrace":"main.main\n\tmain.go:1"}`,
				`line 6: carries a stack trace: {"level":"warn","msg":"odd","error":"e","errorVerbose":"e\nmain.main\n\tmain.go:1"}`,
			},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			assert.Equal(t, tc.want, Check(log, tc.opts))
		})
	}
}

package sidecar

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestParseCgroupLimit(t *testing.T) {
	tests := map[string]struct {
		content   string
		wantLimit int64
		wantOK    bool
	}{
		"a v2 limit of 128Mi":             {content: "134217728\n", wantLimit: 128 << 20, wantOK: true},
		"no v2 limit":                     {content: "max\n", wantOK: false},
		"no v1 limit (a page below 2^63)": {content: "9223372036854771712\n", wantOK: false},
		"an empty file":                   {content: "", wantOK: false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			limit, ok := parseCgroupLimit(tc.content)
			assert.Equal(t, tc.wantOK, ok)
			assert.Equal(t, tc.wantLimit, limit)
		})
	}
}

package sidecar

import (
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zapcore"
)

func TestParse_Flags(t *testing.T) {
	tests := map[string]struct {
		args    []string
		wantErr []string
	}{
		"only --policy: loopback defaults": {args: []string{"--policy", "p.yaml"}},
		"every flag": {args: []string{"--policy", "p.yaml", "--pod-labels", "l", "--credentials-dir", "c", "--listen", "127.0.0.1:1",
			"--admin", "0.0.0.0:2", "--log-level", "debug", "--max-request-bytes", "10", "--allow-missing-policy"}},
		"no --policy":            {args: nil, wantErr: []string{"--policy is required"}},
		"a bad listen address":   {args: []string{"--policy", "p", "--listen", "nonsense"}, wantErr: []string{`--listen "nonsense" is not host:port`}},
		"a bad log level":        {args: []string{"--policy", "p", "--log-level", "loud"}, wantErr: []string{`--log-level "loud": use debug, info, warn or error`}},
		"a stray argument":       {args: []string{"--policy", "p", "extra"}, wantErr: []string{`unexpected argument "extra"`}},
		"several problems":       {args: []string{"--listen", "x", "--admin", "y"}, wantErr: []string{"--policy is required", "--listen", "--admin"}},
		"a non-positive maximum": {args: []string{"--policy", "p", "--max-request-bytes", "0"}, wantErr: []string{"--max-request-bytes must be positive"}},
		"failure records":        {args: []string{"--policy", "p.yaml", "--failure-records-dir", "/var/run/tollgate-failures", "--failure-records-max-bytes", "65536", "--failure-records-max-count", "10"}},
		"failure records without room": {args: []string{"--policy", "p", "--failure-records-max-bytes", "100"},
			wantErr: []string{"--failure-records-max-bytes must be at least 4096"}},
		"failure records without a count": {args: []string{"--policy", "p", "--failure-records-max-count", "0"},
			wantErr: []string{"--failure-records-max-count at least 1"}},
		"a buffer budget smaller than one body": {args: []string{"--policy", "p", "--max-request-bytes", "2000", "--max-buffered-bytes", "1000"},
			wantErr: []string{"--max-buffered-bytes 1000 cannot hold one body of --max-request-bytes 2000"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			o, err := Parse(tc.args, io.Discard)
			if len(tc.wantErr) == 0 {
				require.NoError(t, err)
				assert.Equal(t, "p.yaml", o.PolicyFile)
				return
			}
			require.Error(t, err)
			for _, want := range tc.wantErr {
				assert.Contains(t, err.Error(), want)
			}
		})
	}
}

func TestParse_Defaults(t *testing.T) {
	o, err := Parse([]string{"--policy", "p.yaml"}, io.Discard)
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1:15000", o.Listen)
	assert.Equal(t, "127.0.0.1:15020", o.Admin)
	assert.Equal(t, zapcore.InfoLevel, o.LogLevel)
	assert.True(t, loopback(o.Listen))
	assert.False(t, loopback("0.0.0.0:15000"))
	assert.True(t, loopback("[::1]:15000"))
	assert.Equal(t, FailureRecordOptions{MaxBytes: 8 << 20, MaxCount: 1000}, o.FailureRecords, "records are off standalone")
}

package ledgerbench

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseStatLine_ReadsThePidTheParentAndTheName(t *testing.T) {
	// A name with a space and parentheses, as names may be.
	pid, ppid, comm, err := parseStatLine("4242 (kube (api) srv) S 77 4242 4242 0 -1 4194560 100 0 0 0 150 25")
	require.NoError(t, err)
	assert.Equal(t, 4242, pid)
	assert.Equal(t, 77, ppid)
	assert.Equal(t, "kube (api) srv", comm)
}

func TestParseStatLine_RefusesATruncatedLine(t *testing.T) {
	for _, line := range []string{"4242 (etcd) S", "4242 etcd S 1", "x (etcd) S 1"} {
		_, _, _, err := parseStatLine(line)
		assert.Error(t, err, line)
	}
}

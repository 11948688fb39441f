package testenv

import (
	"net"
	"testing"

	"github.com/stretchr/testify/require"
)

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago,
// for a server a test starts with its port given.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

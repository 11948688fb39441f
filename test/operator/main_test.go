// Package operatore2e runs the tollgate-operator binary against a real
// kube-apiserver (internal/testkit/testenv), as a cluster runs it: leader
// election, the injection webhook with self-managed certificates, the
// budget ledger. It checks what only the whole program shows, such as
// its log.
package operatore2e

import (
	"context"
	"os"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"tollgate.dev/tollgate/internal/testkit/proc"
	"tollgate.dev/tollgate/internal/testkit/testenv"
)

var env *testenv.Env

func TestMain(m *testing.M) { testenv.Main(m, &env) }

var (
	buildOnce   sync.Once
	operatorBin string
	buildErr    error
)

// operatorBinary builds cmd/operator once, with -race when the tests run
// with it.
func operatorBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		root, err := proc.RepoRoot()
		if err != nil {
			buildErr = err
			return
		}
		dir, err := os.MkdirTemp("", "tollgate-operator-e2e-")
		if err != nil {
			buildErr = err
			return
		}
		bins, err := proc.Build(context.Background(), root, dir, proc.RaceEnabled, "./cmd/operator")
		operatorBin, buildErr = bins["./cmd/operator"], err
	})
	require.NoError(t, buildErr)
	return operatorBin
}

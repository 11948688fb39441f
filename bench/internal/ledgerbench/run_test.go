package ledgerbench

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tollgate.dev/tollgate/internal/testkit/proc"
)

// haveControlPlane tells whether testenv can start kube-apiserver and etcd:
// KUBEBUILDER_ASSETS is set, or bin/k8s holds them.
func haveControlPlane(t *testing.T) bool {
	if os.Getenv("KUBEBUILDER_ASSETS") != "" {
		return true
	}
	root, err := proc.RepoRoot()
	require.NoError(t, err)
	found, _ := filepath.Glob(filepath.Join(root, "bin", "k8s", "*", "kube-apiserver"))
	return len(found) > 0
}

func TestRun_MeasuresEveryScenarioAgainstTheRealOperatorAndChecksTheSpend(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the operator and starts a control plane")
	}
	if !haveControlPlane(t) {
		t.Skip("no kube-apiserver: set KUBEBUILDER_ASSETS or run `make control-plane`")
	}
	o := Defaults()
	o.Quick, o.Pods, o.Policies, o.Clients = true, 12, []int{1, 3}, []string{ClientLean, ClientSidecar}
	o.Commit, o.Warmup, o.Duration = 500*time.Millisecond, 2*time.Second, 3*time.Second
	o.Out = ""
	var progress bytes.Buffer
	rep, err := Run(t.Context(), o, &progress)
	require.NoError(t, err, "progress:\n%s", progress.String())

	require.Len(t, rep.Scenarios, 4)
	for _, s := range rep.Scenarios {
		assert.Positive(t, s.Syncs, s.Name)
		assert.Positive(t, s.Latency.Count, s.Name)
		assert.Positive(t, s.Server.Syncs, s.Name)
		assert.Positive(t, s.Server.ProcessingMeanMs, s.Name)
		assert.Positive(t, s.Operator.CPUSeconds, s.Name)
		assert.Positive(t, s.APIServer.CPUSeconds, s.Name)
		require.NotNil(t, s.Operator.Memory, s.Name)
		assert.Positive(t, s.Operator.Memory.HWM, s.Name)
		assert.Positive(t, s.StatusWrites.Watched, s.Name)
		assert.Positive(t, s.StatusBytes, s.Name)
		assert.True(t, s.Check.Match, "%s: %+v", s.Name, s.Check)
		assert.Len(t, s.Check.Policies, s.Policies, s.Name)
	}
	var md bytes.Buffer
	require.NoError(t, rep.WriteMarkdown(&md))
	assert.Contains(t, md.String(), "| Measurement | lean, 1 policy | lean, 3 policies | sidecar, 1 policy | sidecar, 3 policies |")
}

package ledgere2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"

	"tollgate.dev/tollgate/api/v1alpha1"
	operatorwiring "tollgate.dev/tollgate/internal/operator"
	"tollgate.dev/tollgate/internal/operator/inject"
	"tollgate.dev/tollgate/internal/testkit/testenv"
)

// startOperator runs the whole operator in process (reconciler and ledger,
// no webhook) with its ledger on a free port.
func startOperator(t *testing.T) (url, caFile string) {
	t.Helper()
	certDir := t.TempDir()
	require.NoError(t, testenv.ServingCert(certDir, "127.0.0.1"))
	port := testenv.FreePort(t)
	url = fmt.Sprintf("https://127.0.0.1:%d", port)
	opts, err := operatorwiring.Parse([]string{
		"--enable-webhook=false", "--metrics-bind-address=0", "--health-probe-bind-address=0",
		fmt.Sprintf("--ledger-bind-address=127.0.0.1:%d", port), "--ledger-cert-dir=" + certDir, "--ledger-url=" + url,
		"--ledger-commit-interval=" + testCommit.String(),
	}, io.Discard)
	require.NoError(t, err)
	opts.SharedProcess = true // go test -count=2 runs it twice
	mgr, err := operatorwiring.NewManager(env.Config, opts, logr.Discard())
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
	})
	return url, filepath.Join(certDir, "ca.crt")
}

// TestBundle_APolicyEditIsEnforcedWithinAboutASecond applies 20 edits of a
// policy and measures, for each, the time from the API server accepting it
// to the sidecar enforcing it: through the ledger, without waiting for the
// kubelet to refresh the mounted ConfigMap (which never happens here: the
// sidecar's file stays as it was).
func TestBundle_APolicyEditIsEnforcedWithinAboutASecond(t *testing.T) {
	ctx := context.Background()
	mock := startMock(t)
	url, caFile := startOperator(t)
	ns := newNamespace(t)
	createPolicy(t, budgetPolicy(ns, "chat", "100", mock.URL()))
	p := createPod(t, ns, "chat-1", "chat")

	// The bundle as the kubelet would have mounted it at the pod's start.
	var cm corev1.ConfigMap
	require.Eventually(t, func() bool {
		return env.Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: inject.ConfigMapName}, &cm) == nil
	}, 10*time.Second, 20*time.Millisecond, "the reconciler renders the bundle")
	dir := t.TempDir()
	bundleFile, labelsFile := filepath.Join(dir, "bundle.json"), filepath.Join(dir, "labels")
	require.NoError(t, os.WriteFile(bundleFile, []byte(cm.Data[inject.BundleKey]), 0o600))
	require.NoError(t, os.WriteFile(labelsFile, []byte(`app="chat"`+"\n"), 0o600))
	s := startSidecarProcess(t, url, caFile, p, bundleFile, t.TempDir(), "--pod-labels="+labelsFile)

	var took []time.Duration
	for i := range 20 {
		var gen int64
		require.NoError(t, retry.RetryOnConflict(retry.DefaultRetry, func() error {
			var policy v1alpha1.LLMPolicy
			if err := env.Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: "chat"}, &policy); err != nil {
				return err
			}
			policy.Spec.Budget.Limit = fmt.Sprintf("%d", 101+i)
			if err := env.Client.Update(ctx, &policy); err != nil {
				return err
			}
			gen = policy.Generation
			return nil
		}))
		applied := time.Now()
		require.Eventually(t, func() bool { return s.enforcedGeneration() == gen }, 10*time.Second, 5*time.Millisecond, "edit %d (generation %d) never reached the sidecar", i, gen)
		took = append(took, time.Since(applied))
	}
	sort.Slice(took, func(i, j int) bool { return took[i] < took[j] })
	p50, p99 := took[len(took)/2], took[len(took)*99/100]
	t.Logf("apply-to-enforced over %d edits: p50 %s, p99 %s, max %s", len(took), p50.Round(time.Millisecond), p99.Round(time.Millisecond), took[len(took)-1].Round(time.Millisecond))
	require.Less(t, p50, 2*time.Second, "an edit is enforced within about a second")
	onDisk, err := os.ReadFile(bundleFile)
	require.NoError(t, err)
	require.Equal(t, cm.Data[inject.BundleKey], string(onDisk), "the mounted file never changed: the ledger delivered every edit")
}

// enforcedGeneration is the generation of the policy in force, from
// /config, or -1.
func (s *sidecarProcess) enforcedGeneration() int64 {
	resp, err := http.Get(s.admin + "/config")
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var view struct {
		Policy *struct {
			Generation int64 `json:"generation"`
		} `json:"policy"`
	}
	if json.NewDecoder(bytes.NewReader(b)).Decode(&view) != nil || view.Policy == nil {
		return -1
	}
	return view.Policy.Generation
}

package install

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "tollgate.dev/tollgate/api/v1alpha1"
)

// TestHelm_InstallFollowTheNotesUpgradeUninstall drives the chart the way a
// user does: helm install, then every kubectl command the install notes
// print (label a namespace, apply the sample LLMPolicy, list policies), an
// upgrade that keeps the CA the operator wrote, and helm uninstall.
func TestHelm_InstallFollowTheNotesUpgradeUninstall(t *testing.T) {
	const namespace = "tollgate-helm"
	kubeconfig := env.Kubeconfig
	helmArgs := func(args ...string) []string {
		return append(args, "--namespace", namespace, "--kubeconfig", kubeconfig)
	}
	ctx := context.Background()

	notes := helm(t, helmArgs("install", "tollgate", chartDir, "--create-namespace")...)
	t.Cleanup(func() {
		_, _, _ = run(t, "", helmPath(t), helmArgs("uninstall", "tollgate", "--ignore-not-found")...)
	})
	var d appsv1.Deployment
	require.NoError(t, env.Client.Get(ctx, client.ObjectKey{Namespace: namespace, Name: "tollgate-operator"}, &d))
	var mwc admissionregistrationv1.MutatingWebhookConfiguration
	require.NoError(t, env.Client.Get(ctx, client.ObjectKey{Name: "tollgate-sidecar-injector"}, &mwc))

	t.Run("the notes' commands work as printed", func(t *testing.T) {
		createNamespace(t, "my-app")
		commands := notesCommands(t, notes)
		for _, c := range commands {
			line := strings.TrimSuffix(c.line, " <<'POLICY'")
			// Rollouts need a kubelet and controllers, which envtest has
			// not: check that the named Deployment exists instead.
			if strings.Contains(line, "rollout restart") {
				continue
			}
			line = strings.Replace(line, "rollout status", "get", 1)
			args := strings.Fields(line)[1:]
			kubectl(t, c.stdin, args...)
		}
		var ns corev1.Namespace
		require.NoError(t, env.Client.Get(ctx, client.ObjectKey{Name: "my-app"}, &ns))
		assert.Equal(t, "enabled", ns.Labels["tollgate.dev/injection"])
		var policy v1alpha1.LLMPolicy
		require.NoError(t, env.Client.Get(ctx, client.ObjectKey{Namespace: "my-app", Name: "default"}, &policy))
		assert.NotEmpty(t, policy.Spec.Providers)
		out, _ := kubectl(t, "", "get", "llmpolicies", "-A")
		assert.Contains(t, out, "default")
	})

	t.Run("an upgrade keeps the CA the operator wrote", func(t *testing.T) {
		// What the operator does with --cert-management=self.
		ca := []byte("-----BEGIN CERTIFICATE-----\ntest\n-----END CERTIFICATE-----\n")
		patched := mwc.DeepCopy()
		for i := range patched.Webhooks {
			patched.Webhooks[i].ClientConfig.CABundle = ca
		}
		require.NoError(t, env.Client.Patch(ctx, patched, client.MergeFrom(&mwc), client.FieldOwner("tollgate-operator")))

		helm(t, helmArgs("upgrade", "tollgate", chartDir, "--set", "webhook.failurePolicy=Fail")...)

		var got admissionregistrationv1.MutatingWebhookConfiguration
		require.NoError(t, env.Client.Get(ctx, client.ObjectKey{Name: "tollgate-sidecar-injector"}, &got))
		for _, w := range got.Webhooks {
			assert.Equal(t, admissionregistrationv1.Fail, *w.FailurePolicy, w.Name)
			assert.Equal(t, ca, w.ClientConfig.CABundle, "%s lost its caBundle", w.Name)
		}
	})

	t.Run("uninstall removes everything but the CRD", func(t *testing.T) {
		helm(t, helmArgs("uninstall", "tollgate")...)
		err := env.Client.Get(ctx, client.ObjectKey{Name: "tollgate-sidecar-injector"}, &admissionregistrationv1.MutatingWebhookConfiguration{})
		assert.True(t, apierrors.IsNotFound(err), "MutatingWebhookConfiguration left behind: %v", err)
		err = env.Client.Get(ctx, client.ObjectKey{Name: "tollgate-operator"}, &rbacv1.ClusterRole{})
		assert.True(t, apierrors.IsNotFound(err), "ClusterRole left behind: %v", err)
		// Helm never deletes CRDs: that would delete every LLMPolicy.
		require.NoError(t, env.Client.Get(ctx, client.ObjectKey{Name: "llmpolicies.tollgate.dev"}, &apiextensionsv1.CustomResourceDefinition{}))
	})
}

// TestHelm_AnUpgradeThatAddsAValueWorksWithResetThenReuseValues: the
// README upgrades with --reset-then-reuse-values. A chart that adds a
// required value (as errorRatio.minRequests was added) cannot be upgraded to
// with --reuse-values, which keeps the old chart's defaults; with
// --reset-then-reuse-values the new defaults apply and the release's own
// overrides stay.
func TestHelm_AnUpgradeThatAddsAValueWorksWithResetThenReuseValues(t *testing.T) {
	const namespace = "tollgate-upgrade"
	helmArgs := func(args ...string) []string {
		return append(args, "--namespace", namespace, "--kubeconfig", env.Kubeconfig)
	}
	// The chart as it was before minRequests.
	older := filepath.Join(t.TempDir(), "tollgate")
	require.NoError(t, os.CopyFS(older, os.DirFS(filepath.Join(env.RepoRoot, chartDir))))
	edit := func(name, old, new string) {
		path := filepath.Join(older, name)
		b, err := os.ReadFile(path)
		require.NoError(t, err)
		require.Contains(t, string(b), old, "%s changed: update this test", name)
		require.NoError(t, os.WriteFile(path, []byte(strings.Replace(string(b), old, new, 1)), 0o644))
	}
	edit("values.yaml", "      minRequests: 20\n", "")
	edit("values.schema.json", `"required": ["threshold", "window", "for", "minRequests", "outcomes"]`, `"required": ["threshold", "window", "for", "outcomes"]`)

	helm(t, helmArgs("install", "tollgate", older, "--create-namespace", "--set", "ledger.lease=3m", "--set", "prometheusRule.enabled=false")...)
	t.Cleanup(func() {
		_, _, _ = run(t, "", helmPath(t), helmArgs("uninstall", "tollgate", "--ignore-not-found")...)
	})

	_, stderr, err := run(t, "", helmPath(t), helmArgs("upgrade", "tollgate", chartDir, "--reuse-values")...)
	require.Error(t, err, "--reuse-values keeps the old defaults, without minRequests")
	assert.Contains(t, stderr, "minRequests")

	helm(t, helmArgs("upgrade", "tollgate", chartDir, "--reset-then-reuse-values", "--set", "sidecar.otel.endpoint=http://otel-collector.observability:4318")...)
	values := helm(t, helmArgs("get", "values", "tollgate", "--all", "--output", "json")...)
	assert.Contains(t, values, `"minRequests":20`, "the new chart's default")
	assert.Contains(t, values, `"lease":"3m"`, "the release's own override")
	assert.Contains(t, values, `"endpoint":"http://otel-collector.observability:4318"`, "the upgrade's")
}

// notesCommand is a kubectl command line from the install notes, with the
// here-document it reads, if any.
type notesCommand struct {
	line, stdin string
}

// notesCommands returns the kubectl commands of the install notes in order.
func notesCommands(t *testing.T, notes string) []notesCommand {
	t.Helper()
	_, notes, found := strings.Cut(notes, "NOTES:\n")
	require.True(t, found, "helm install printed no notes")
	var commands []notesCommand
	lines := strings.Split(notes, "\n")
	for i := 0; i < len(lines); i++ {
		line := strings.TrimSpace(lines[i])
		if !strings.HasPrefix(line, "kubectl ") {
			continue
		}
		c := notesCommand{line: line}
		if strings.HasSuffix(line, "<<'POLICY'") {
			indent := len(lines[i]) - len(strings.TrimLeft(lines[i], " "))
			var doc []string
			for i++; i < len(lines) && strings.TrimSpace(lines[i]) != "POLICY"; i++ {
				doc = append(doc, strings.TrimPrefix(lines[i], strings.Repeat(" ", indent)))
			}
			require.Less(t, i, len(lines), "the notes' here-document never ends")
			c.stdin = strings.Join(doc, "\n") + "\n"
		}
		commands = append(commands, c)
	}
	require.NotEmpty(t, commands, "the notes show no kubectl command:\n%s", notes)
	return commands
}

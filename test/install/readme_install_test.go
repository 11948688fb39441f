package install

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "tollgate.dev/tollgate/api/v1alpha1"
	"tollgate.dev/tollgate/internal/translate"
)

// TestREADME_InstallSectionWorksAsWritten pastes the README's "Install with
// Helm" commands, in order, into bash with only helm and kubectl on PATH,
// against the test API server. The API server has no kubelet and no
// controllers, and no pod may be created while the chart's webhook (which
// names a Service) is installed; so `rollout status` becomes `get` (the
// object must exist) and `exec` into the app's pod is the one command left
// out — the test fails if any other command would need the same.
func TestREADME_InstallSectionWorksAsWritten(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join(env.RepoRoot, "README.md"))
	require.NoError(t, err)
	commands := shellBlock(t, string(readme), "## Install with Helm")

	tools := t.TempDir()
	require.NoError(t, os.Symlink(helmPath(t), filepath.Join(tools, "helm")))
	require.NoError(t, os.Symlink(env.Kubectl, filepath.Join(tools, "kubectl")))
	shellEnv := []string{
		"PATH=" + tools + ":/usr/bin:/bin",
		"HOME=" + t.TempDir(),
		"KUBECONFIG=" + env.Kubeconfig,
		"OPENAI_API_KEY=sk-test-openai",
		"ANTHROPIC_API_KEY=sk-ant-test",
	}
	t.Cleanup(func() {
		cmd := exec.Command("helm", "uninstall", "tollgate", "--namespace", "tollgate-system", "--ignore-not-found")
		cmd.Path = filepath.Join(tools, "helm")
		cmd.Env = shellEnv
		_ = cmd.Run()
	})

	var skipped []string
	for _, line := range commands {
		switch {
		case strings.Contains(line, "kubectl") && strings.Contains(line, " exec "):
			skipped = append(skipped, line)
			continue
		case strings.Contains(line, "rollout status"):
			line = strings.Replace(line, "rollout status", "get", 1)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		cmd := exec.CommandContext(ctx, "bash", "-euo", "pipefail", "-c", line)
		cmd.Dir = env.RepoRoot
		cmd.Env = shellEnv
		out, err := cmd.CombinedOutput()
		cancel()
		require.NoError(t, err, "README command failed: %s\n%s", line, out)
		t.Logf("$ %s\n%s", line, out)
	}
	assert.Len(t, skipped, 1, "only the exec into the app's pod needs a kubelet: %q", skipped)

	ctx := context.Background()
	var operator appsv1.Deployment
	require.NoError(t, env.Client.Get(ctx, client.ObjectKey{Namespace: "tollgate-system", Name: "tollgate-operator"}, &operator))
	var ns corev1.Namespace
	require.NoError(t, env.Client.Get(ctx, client.ObjectKey{Name: "my-apps"}, &ns))
	assert.Equal(t, "enabled", ns.Labels["tollgate.dev/injection"])

	var policy v1alpha1.LLMPolicy
	require.NoError(t, env.Client.Get(ctx, client.ObjectKey{Namespace: "my-apps", Name: "chat-apps"}, &policy))
	for _, p := range policy.Spec.Providers {
		require.NotNil(t, p.CredentialsSecretRef, p.Name)
		var secret corev1.Secret
		require.NoError(t, env.Client.Get(ctx, client.ObjectKey{Namespace: "my-apps", Name: p.CredentialsSecretRef.Name}, &secret),
			"the README creates the Secret provider %s names", p.Name)
		assert.NotEmpty(t, secret.Data[p.CredentialsSecretRef.Key], "Secret %s has key %s", secret.Name, p.CredentialsSecretRef.Key)
	}

	var app appsv1.Deployment
	require.NoError(t, env.Client.Get(ctx, client.ObjectKey{Namespace: "my-apps", Name: "chat"}, &app))
	assert.True(t, translate.Selector(policy.Spec.PodSelector).Matches(app.Spec.Template.Labels), "the sample policy selects the app's pods: %v", app.Spec.Template.Labels)

	// What the exec left out can be checked: its target and container.
	require.Len(t, skipped, 1)
	kubectlPart, _, _ := strings.Cut(skipped[0], " -- ")
	fields := strings.Fields(kubectlPart)
	for i, f := range fields[:len(fields)-1] {
		switch f {
		case "-c":
			require.Len(t, app.Spec.Template.Spec.Containers, 1)
			assert.Equal(t, app.Spec.Template.Spec.Containers[0].Name, fields[i+1], "the exec names the app's container")
		case "exec":
			assert.Equal(t, "deploy/"+app.Name, fields[i+1], "the exec targets the app")
		}
	}
}

// shellBlock returns the lines of the first ```sh block after heading.
func shellBlock(t *testing.T, markdown, heading string) []string {
	t.Helper()
	_, section, ok := strings.Cut(markdown, "\n"+heading+"\n")
	require.True(t, ok, "README has no %q", heading)
	_, block, ok := strings.Cut(section, "```sh\n")
	require.True(t, ok, "%s has no sh block", heading)
	block, _, ok = strings.Cut(block, "```")
	require.True(t, ok, "the sh block of %s does not end", heading)
	var lines []string
	for _, l := range strings.Split(block, "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			lines = append(lines, l)
		}
	}
	require.NotEmpty(t, lines)
	return lines
}

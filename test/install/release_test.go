package install

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"

	"tollgate.dev/tollgate/internal/operator/inject"
)

// TestRelease_IsOneVersionEverywhere holds the release's version together:
// the chart's appVersion (which `make images` tags the images with), the
// images the kustomize manifests run, and the sidecar image an operator
// started without --sidecar-image injects.
func TestRelease_IsOneVersionEverywhere(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(env.RepoRoot, "charts", "tollgate", "Chart.yaml"))
	require.NoError(t, err)
	var chart struct {
		AppVersion string `json:"appVersion"`
	}
	require.NoError(t, yaml.Unmarshal(raw, &chart))
	require.NotEmpty(t, chart.AppVersion)

	assert.Equal(t, chart.AppVersion, inject.Release, "inject.Release must be the chart's appVersion")
	assert.Equal(t, "ghcr.io/tollgate-dev/tollgate-sidecar:"+chart.AppVersion, inject.DefaultImage)

	manager, err := os.ReadFile(filepath.Join(env.RepoRoot, "config", "manager", "manager.yaml"))
	require.NoError(t, err)
	images := regexp.MustCompile(`ghcr\.io/tollgate-dev/tollgate-(?:operator|sidecar):[^\s"']+`).FindAllString(string(manager), -1)
	require.Len(t, images, 2, "config/manager/manager.yaml names the operator's image and --sidecar-image")
	for _, image := range images {
		assert.Regexp(t, ":"+regexp.QuoteMeta(chart.AppVersion)+"$", image, "config/manager/manager.yaml")
	}
}

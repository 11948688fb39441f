package install

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// TestChartAndKustomize_InstallTheSameObjects keeps the two install paths
// in step: release "tollgate" of the chart in tollgate-system renders the
// objects config/default does (which adds the Namespace), equal but for the
// labels that name the tool and version.
func TestChartAndKustomize_InstallTheSameObjects(t *testing.T) {
	tests := map[string]struct {
		helmArgs   []string
		components []string
	}{
		"self-managed certificates": {},
		"cert-manager certificates": {
			helmArgs:   []string{"--set", "webhook.certManager.enabled=true"},
			components: []string{"config/certmanager"},
		},
		"Prometheus scrape configs and alerts": {
			helmArgs:   []string{"--set", "serviceMonitor.enabled=true", "--set", "podMonitor.enabled=true", "--set", "prometheusRule.enabled=true"},
			components: []string{"config/prometheus"},
		},
		"Grafana dashboard": {
			helmArgs:   []string{"--set", "grafanaDashboard.enabled=true"},
			components: []string{"config/grafana"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			chart := helmTemplate(t, operatorNamespace, tc.helmArgs...)
			kust := kustomize(t, kustomization(t, []string{"config/default"}, tc.components))

			var withoutNamespace []*unstructured.Unstructured
			for _, o := range kust {
				if o.GetKind() == "Namespace" {
					assert.Equal(t, operatorNamespace, o.GetName())
					continue
				}
				withoutNamespace = append(withoutNamespace, o)
			}
			require.ElementsMatch(t, ids(chart), ids(withoutNamespace))
			for _, want := range chart {
				got := find(t, withoutNamespace, want.GetKind(), want.GetName())
				assert.Equal(t, normalized(t, want), normalized(t, got), "%s differs between the chart and config/default", id(want))
			}
		})
	}
}

// kustomization writes a kustomization in a temporary directory that builds
// resources and components (directories relative to the repository root),
// and returns the directory.
func kustomization(t *testing.T, resources, components []string) string {
	t.Helper()
	dir := t.TempDir()
	// kustomize accepts only relative paths to other kustomizations.
	rel := func(p string) string {
		r, err := filepath.Rel(dir, filepath.Join(env.RepoRoot, p))
		require.NoError(t, err)
		return r
	}
	content := "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n"
	for _, r := range resources {
		content += "  - " + rel(r) + "\n"
	}
	if len(components) > 0 {
		content += "components:\n"
		for _, c := range components {
			content += "  - " + rel(c) + "\n"
		}
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "kustomization.yaml"), []byte(content), 0o600))
	return dir
}

// toolLabels differ by design between Helm and kustomize.
var toolLabels = []string{"helm.sh/chart", "app.kubernetes.io/managed-by", "app.kubernetes.io/version"}

// normalized returns the object as YAML (for a readable diff) without
// toolLabels, on the object and on a Deployment's pod template.
func normalized(t *testing.T, o *unstructured.Unstructured) string {
	t.Helper()
	c := o.DeepCopy()
	strip := func(fields ...string) {
		labels, found, _ := unstructured.NestedStringMap(c.Object, fields...)
		if !found {
			return
		}
		for _, l := range toolLabels {
			delete(labels, l)
		}
		if len(labels) == 0 {
			unstructured.RemoveNestedField(c.Object, fields...)
			return
		}
		_ = unstructured.SetNestedStringMap(c.Object, labels, fields...)
	}
	strip("metadata", "labels")
	strip("spec", "template", "metadata", "labels")
	out, err := yaml.Marshal(c.Object)
	require.NoError(t, err)
	return string(out)
}

package install

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCRDCopies_MatchTheGeneratedCRDs catches a chart or config/default that
// installs a stale CRD: both hold byte-for-byte copies of config/crd/bases
// (Helm reads CRDs from the chart's crds/ only, and kustomize refuses files
// outside its directory), refreshed by `make manifests`.
func TestCRDCopies_MatchTheGeneratedCRDs(t *testing.T) {
	bases := filepath.Join(env.RepoRoot, "config", "crd", "bases")
	want, err := filepath.Glob(filepath.Join(bases, "*.yaml"))
	require.NoError(t, err)
	require.NotEmpty(t, want, "no CRDs in %s: run `make manifests`", bases)

	for _, dir := range []string{"charts/tollgate/crds", "config/default/crd"} {
		t.Run(dir, func(t *testing.T) {
			got, err := filepath.Glob(filepath.Join(env.RepoRoot, dir, "*.yaml"))
			require.NoError(t, err)
			assert.Equal(t, baseNames(want), baseNames(got), "%s must hold exactly the CRDs of config/crd/bases: run `make manifests`", dir)
			for _, path := range want {
				generated, err := os.ReadFile(path)
				require.NoError(t, err)
				copied, err := os.ReadFile(filepath.Join(env.RepoRoot, dir, filepath.Base(path)))
				if err != nil {
					continue // reported above
				}
				assert.True(t, string(generated) == string(copied),
					"%s/%s differs from config/crd/bases: run `make manifests` to copy the generated CRD", dir, filepath.Base(path))
			}
		})
	}
}

func baseNames(paths []string) []string {
	names := make([]string, 0, len(paths))
	for _, p := range paths {
		names = append(names, filepath.Base(p))
	}
	return names
}

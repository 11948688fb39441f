package proc

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFindRoot(t *testing.T) {
	tests := map[string]struct {
		// gomods are go.mod files to write, by directory under the root.
		gomods  map[string]string
		from    string
		want    string // under the root; "" wants an error
		wantErr error
	}{
		"the module's directory": {
			gomods: map[string]string{".": "module tollgate.dev/tollgate\n"}, from: ".", want: ".",
		},
		"from a subdirectory, past a comment and quotes": {
			gomods: map[string]string{".": "// comment\nmodule \"tollgate.dev/tollgate\"\n\ngo 1.26\n"}, from: "bench/internal", want: ".",
		},
		"past another module's go.mod": {
			gomods: map[string]string{".": "module tollgate.dev/tollgate\n", "hack/tool": "module example.com/tool\n"}, from: "hack/tool", want: ".",
		},
		"not in another module": {
			gomods: map[string]string{".": "module example.com/other\n"}, from: ".", wantErr: ErrNoModule,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			root := t.TempDir()
			for dir, gomod := range tc.gomods {
				require.NoError(t, os.MkdirAll(filepath.Join(root, dir), 0o755))
				require.NoError(t, os.WriteFile(filepath.Join(root, dir, "go.mod"), []byte(gomod), 0o644))
			}
			from := filepath.Join(root, tc.from)
			require.NoError(t, os.MkdirAll(from, 0o755))

			got, err := FindRoot(from)

			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, filepath.Join(root, tc.want), got)
		})
	}
}

func TestRepoRoot_IsTheCheckoutThisPackageIsIn(t *testing.T) {
	root, err := RepoRoot()
	require.NoError(t, err)
	wd, err := os.Getwd()
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(root, "internal", "testkit", "proc"), wd)
}

func TestRepoRoot_FallsBackToTheSourceOutsideACheckout(t *testing.T) {
	want, err := RepoRoot()
	require.NoError(t, err)
	t.Chdir(t.TempDir())

	got, err := RepoRoot()

	require.NoError(t, err)
	assert.Equal(t, want, got)
}

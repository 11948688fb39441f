package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// toyReport writes its pod count as JSON and as its table.
type toyReport struct{ pods int }

func (r toyReport) WriteJSON(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, fmt.Appendf(nil, `{"pods":%d}`, r.pods), 0o644)
}

func (r toyReport) WriteMarkdown(w io.Writer) error {
	_, err := fmt.Fprintf(w, "| pods | %d |\n", r.pods)
	return err
}

func count(_ context.Context, o toy, progress io.Writer) (toyReport, error) {
	fmt.Fprintln(progress, "counting")
	return toyReport{pods: o.Pods}, nil
}

// repo is a directory that is the tollgate repository to FindRoot.
func repo(t *testing.T) string {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module tollgate.dev/tollgate\n"), 0o644))
	require.NoError(t, os.Mkdir(filepath.Join(dir, "bench"), 0o755))
	return dir
}

func TestMain_WritesTheJSONIntoTheRepositoryAndPrintsTheTable(t *testing.T) {
	root := repo(t)
	var stdout, stderr bytes.Buffer
	code := Main(toyCommand, []string{"-pods", "3", "-repo", filepath.Join(root, "bench")}, &stdout, &stderr, count)
	require.Equal(t, 0, code, stderr.String())
	data, err := os.ReadFile(filepath.Join(root, "results", "toy.json"))
	require.NoError(t, err, "a relative -out is under the repository's root, not -repo")
	assert.JSONEq(t, `{"pods":3}`, string(data))
	assert.Equal(t, "| pods | 3 |\n", stdout.String())
	assert.Equal(t, "counting\nwrote "+filepath.Join(root, "results", "toy.json")+"\n", stderr.String())
}

func TestMain_WritesNoJSONWithoutOut(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := Main(toyCommand, []string{"-out", "", "-repo", t.TempDir()}, &stdout, &stderr, count)
	require.Equal(t, 0, code, stderr.String())
	assert.Equal(t, "counting\n", stderr.String())
	assert.Equal(t, "| pods | 1000 |\n", stdout.String())
}

func TestMain_ExitCodes(t *testing.T) {
	failing := func(context.Context, toy, io.Writer) (toyReport, error) {
		return toyReport{}, errors.New("the mock did not start")
	}
	tests := map[string]struct {
		args       []string
		run        func(context.Context, toy, io.Writer) (toyReport, error)
		wantCode   int
		wantStderr string
	}{
		"-help":                   {args: []string{"-help"}, run: count, wantCode: 0, wantStderr: "Usage: toy-bench"},
		"a command line in error": {args: []string{"-pods", "0"}, run: count, wantCode: 2, wantStderr: "toy-bench: -pods must be positive\n"},
		"a run that fails":        {args: []string{"-out", ""}, run: failing, wantCode: 1, wantStderr: "toy-bench: the mock did not start\n"},
		"no repository to write into": {
			args: []string{"-repo", t.TempDir()}, run: count, wantCode: 1, wantStderr: "run the benchmark from the repository, or pass -repo",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			assert.Equal(t, tc.wantCode, Main(toyCommand, tc.args, &stdout, &stderr, tc.run))
			assert.Contains(t, stderr.String(), tc.wantStderr)
			if tc.wantCode != 0 {
				assert.Empty(t, stdout.String(), "no table")
			}
		})
	}
}

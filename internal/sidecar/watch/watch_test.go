package watch

import (
	"context"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestFiles_SeesAnAtomicSymlinkSwap(t *testing.T) {
	// The layout kubelet gives a mounted ConfigMap: policy.json ->
	// ..data/policy.json, ..data -> ..<timestamp>.
	dir := t.TempDir()
	write := func(version, content string) {
		ts := filepath.Join(dir, "..v"+version)
		require.NoError(t, os.Mkdir(ts, 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(ts, "policy.json"), []byte(content), 0o644))
		tmp := filepath.Join(dir, "..data_tmp")
		require.NoError(t, os.Symlink(filepath.Base(ts), tmp))
		require.NoError(t, os.Rename(tmp, filepath.Join(dir, "..data")))
	}
	write("1", "one")
	require.NoError(t, os.Symlink(filepath.Join("..data", "policy.json"), filepath.Join(dir, "policy.json")))

	var changes atomic.Int32
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() {
		done <- Files(ctx, []string{filepath.Join(dir, "policy.json")}, time.Hour, func() { changes.Add(1) })
	}()
	t.Cleanup(func() { cancel(); require.NoError(t, <-done) })

	time.Sleep(50 * time.Millisecond) // let the watch start
	write("2", "two")
	require.Eventually(t, func() bool { return changes.Load() >= 1 }, 5*time.Second, 10*time.Millisecond)
	content, err := os.ReadFile(filepath.Join(dir, "policy.json"))
	require.NoError(t, err)
	require.Equal(t, "two", string(content))
}

func TestFiles_ChecksPeriodicallyEvenWithoutEvents(t *testing.T) {
	var changes atomic.Int32
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		_ = Files(ctx, []string{"/nonexistent/dir/policy.yaml"}, 20*time.Millisecond, func() { changes.Add(1) })
	}()
	require.Eventually(t, func() bool { return changes.Load() >= 2 }, 5*time.Second, 10*time.Millisecond)
}

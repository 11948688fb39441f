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

func TestFiles_ABusyDirectoryHoldsAChangeBackAtMostMaxDebounce(t *testing.T) {
	dir := t.TempDir()
	changes := make(chan struct{}, 16)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() {
		done <- Files(ctx, []string{filepath.Join(dir, "policy.yaml")}, time.Hour, func() { changes <- struct{}{} })
	}()
	t.Cleanup(func() { cancel(); require.NoError(t, <-done) })
	time.Sleep(50 * time.Millisecond) // let the watch start

	// A neighbour of the policy is written more often than Debounce, for
	// three times MaxDebounce: the change must be looked at while the
	// writes go on, not after them.
	neighbour := filepath.Join(dir, "sidecar.log")
	end := time.Now().Add(3 * MaxDebounce)
	seen := false
	for !seen && time.Now().Before(end) {
		require.NoError(t, os.WriteFile(neighbour, []byte(time.Now().String()), 0o644))
		select {
		case <-changes:
			seen = true
		case <-time.After(Debounce / 4):
		}
	}
	require.True(t, seen, "events every %s for %s held the reload back all along", Debounce/4, 3*MaxDebounce)
}

func TestDebounceWait_IsDebounceUntilMaxDebounceAfterTheFirstEvent(t *testing.T) {
	first := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := map[string]struct {
		sinceFirst time.Duration
		want       time.Duration
	}{
		"the first event waits Debounce":                {sinceFirst: 0, want: Debounce},
		"an event well within the bound waits Debounce": {sinceFirst: MaxDebounce / 2, want: Debounce},
		"an event near the bound waits what is left":    {sinceFirst: MaxDebounce - Debounce/2, want: Debounce / 2},
		"an event past the bound waits nothing":         {sinceFirst: 2 * MaxDebounce, want: 0},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			require.Equal(t, tc.want, debounceWait(first, first.Add(tc.sinceFirst)))
		})
	}
}

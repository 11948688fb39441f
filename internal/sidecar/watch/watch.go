// Package watch tells the sidecar when the files it reads may have changed.
package watch

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"
)

// Debounce is how long Files waits after a file event for the burst to end:
// Kubernetes updates a mounted ConfigMap or Secret by writing a new
// timestamped directory and swapping the ..data symlink, several events in
// a row.
const Debounce = 100 * time.Millisecond

// MaxDebounce bounds how long a busy directory can hold a reload back: the
// change is looked at no later than this after the first event of a burst,
// however long the events go on (a log file or a cache written beside the
// policy would otherwise restart the debounce for ever).
const MaxDebounce = time.Second

// Files calls onChange, from one goroutine, whenever any of paths may have
// changed, until ctx ends. It watches the directories holding paths rather
// than the files themselves, because a file watch follows the inode that an
// atomic symlink swap or rename replaces. Every interval it calls onChange
// regardless, as a safety net for missed events (directories created later,
// events dropped under load); onChange should therefore be cheap when
// nothing changed.
func Files(ctx context.Context, paths []string, interval time.Duration, onChange func()) error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("watch files: %w", err)
	}
	defer w.Close()
	watched := map[string]bool{}
	for _, p := range paths {
		if p == "" {
			continue
		}
		dir := filepath.Dir(p)
		if watched[dir] {
			continue
		}
		// A directory that does not exist yet is covered by the periodic
		// check; the sidecar still starts.
		if err := w.Add(dir); err == nil {
			watched[dir] = true
		}
	}

	tick := time.NewTicker(interval)
	defer tick.Stop()
	debounce := time.NewTimer(time.Hour)
	debounce.Stop()
	var first time.Time // of the burst being waited out; zero when none
	pending := func() {
		now := time.Now()
		if first.IsZero() {
			first = now
		}
		debounce.Reset(debounceWait(first, now))
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case _, ok := <-w.Events:
			if !ok {
				return nil
			}
			pending()
		case <-w.Errors:
			// An overflow or similar: look at the files now.
			pending()
		case <-debounce.C:
			first = time.Time{}
			onChange()
		case <-tick.C:
			onChange()
		}
	}
}

// debounceWait is how long to wait, after an event at now, for the burst
// that began at first to end: Debounce, but never past MaxDebounce after
// first.
func debounceWait(first, now time.Time) time.Duration {
	return max(min(Debounce, first.Add(MaxDebounce).Sub(now)), 0)
}

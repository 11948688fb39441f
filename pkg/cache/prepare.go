package cache

import "time"

// Prepare returns e as a Store would keep it — a copy with only
// keptHeaders and StoredAt set to now — or, wrapping the same errors as
// Store.Add, why e must not be stored. It is for caches that keep Entries
// by other keys (pkg/semantic) under the same rules.
func Prepare(e *Entry, maxEntryBytes int64) (*Entry, error) {
	if maxEntryBytes <= 0 {
		maxEntryBytes = DefaultMaxEntryBytes
	}
	if err := check(e, maxEntryBytes); err != nil {
		return nil, err
	}
	c := e.clone()
	c.StoredAt = time.Now()
	return c, nil
}

// Size estimates the memory e holds, as the Store's byte limits count it.
func (e *Entry) Size() int64 { return e.size() }

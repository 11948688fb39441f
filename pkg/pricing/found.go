package pricing

import "sync"

// maxFound bounds the lookups a Table remembers: apps choose the model
// names they send, and the set of names must not grow without end. Names
// past it are looked up each time, as before.
const maxFound = 1024

// found remembers a Table's lookups by family and model name: every request
// looks its model up several times (its budget reservation, its cost, its
// metrics' labels), almost always a model already seen. It is safe for
// concurrent use; a Table is immutable, so an answer never goes stale.
type found struct {
	mu sync.RWMutex // guards byName
	// byName holds up to maxFound answers of Table.search.
	byName map[foundKey]foundEntry
}

type foundKey struct{ family, model string }

type foundEntry struct {
	name  string
	price Price
	ok    bool
}

func newFound() *found { return &found{byName: make(map[foundKey]foundEntry)} }

func (f *found) get(k foundKey) (foundEntry, bool) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	e, ok := f.byName[k]
	return e, ok
}

func (f *found) put(k foundKey, e foundEntry) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.byName) < maxFound {
		f.byName[k] = e
	}
}

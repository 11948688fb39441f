package semantic

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/golang-lru/v2/expirable"

	"tollgate.dev/tollgate/pkg/cache"
)

// Defaults of a Store.
const (
	// DefaultMaxEntries is used when New is given maxEntries <= 0.
	DefaultMaxEntries = 1000
	// DefaultTTL is used when New is given ttl <= 0.
	DefaultTTL = 5 * time.Minute
	// DefaultMaxBytes caps the answers, vectors and message texts of a
	// Store together: with the exact cache's 64 MiB and the request
	// buffers' 32 MiB it keeps the sidecar near its chart's 128 MiB. It
	// also bounds the cost of a lookup: exact search reads at most
	// DefaultMaxBytes/4 vector components (about 2500 vectors of 1536).
	DefaultMaxBytes = 16 << 20
)

// ErrClosed is returned by Add once the Store is closed.
var ErrClosed = errors.New("semantic cache store is closed")

// ErrBadVector is returned by Add for a vector that is empty, too long,
// or not of unit length (see Normalize).
var ErrBadVector = errors.New("embedding vector is unusable")

// Option tunes a Store.
type Option func(*settings)

// WithMaxBytes sets the total size of what a Store keeps. Default
// DefaultMaxBytes.
func WithMaxBytes(n int64) Option { return func(s *settings) { s.maxBytes = n } }

// WithMaxEntryBytes sets the size above which an answer is refused, as
// cache.WithMaxEntryBytes does. Default cache.DefaultMaxEntryBytes.
func WithMaxEntryBytes(n int64) Option { return func(s *settings) { s.maxEntryBytes = n } }

// settings are what a Store was built with; Reuse compares them.
type settings struct {
	space         string
	maxEntries    int
	ttl           time.Duration
	maxBytes      int64
	maxEntryBytes int64
}

func newSettings(space string, maxEntries int, ttl time.Duration, opts []Option) settings {
	s := settings{space: space, maxEntries: maxEntries, ttl: ttl, maxBytes: DefaultMaxBytes, maxEntryBytes: cache.DefaultMaxEntryBytes}
	for _, o := range opts {
		o(&s)
	}
	if s.maxEntries <= 0 {
		s.maxEntries = DefaultMaxEntries
	}
	if s.ttl <= 0 {
		s.ttl = DefaultTTL
	}
	if s.maxBytes <= 0 {
		s.maxBytes = DefaultMaxBytes
	}
	if s.maxEntryBytes <= 0 {
		s.maxEntryBytes = cache.DefaultMaxEntryBytes
	}
	s.maxEntryBytes = min(s.maxEntryBytes, s.maxBytes)
	return s
}

// item is one stored answer with the message it answered.
type item struct {
	id        uint64
	partition string
	vector    []float32 // unit length
	text      string    // the last user message, for Guard
	entry     *cache.Entry
	size      int64
}

// Store keeps answers by partition and the embedding of the message they
// answered, for a TTL counted from when they were stored, evicting the
// least recently used beyond maxEntries or the byte limit. It is safe for
// concurrent use.
//
// A lookup is an exact search: the request's vector against every vector
// of its partition. Partitions hold the variants of one context, and the
// byte limit caps what any lookup reads (BenchmarkLookup measures it: at
// 1536 dimensions about 0.6 to 2 ms per 1000 entries on a shared 2-core
// VM); an
// approximate index (HNSW) would answer in tens of microseconds at any
// size, but every eviction is a delete, which the Go HNSW library tried
// (coder/hnsw v0.6.1) does not survive: see bench/internal/semanticindex.
type Store struct {
	cfg settings
	lru *expirable.LRU[uint64, *item]

	// mu guards partitions and closed. The LRU's eviction callback takes
	// it, so it is never held while calling into the LRU.
	mu         sync.RWMutex
	partitions map[string][]*item
	closed     bool

	nextID atomic.Uint64
	bytes  atomic.Int64
}

// New returns a Store of at most maxEntries answers, each served for ttl
// after it was stored. space names the vector space (the embedding
// model): Reuse keeps a Store only for the same space.
func New(space string, maxEntries int, ttl time.Duration, opts ...Option) *Store {
	s := &Store{cfg: newSettings(space, maxEntries, ttl, opts), partitions: map[string][]*item{}}
	s.lru = expirable.NewLRU(s.cfg.maxEntries, s.evicted, s.cfg.ttl)
	return s
}

// Reuse returns prev when it was built with the same settings, so that a
// policy reload keeps what it stored; otherwise it closes prev (when not
// nil) and returns a new Store.
func Reuse(prev *Store, space string, maxEntries int, ttl time.Duration, opts ...Option) *Store {
	if prev != nil && prev.cfg == newSettings(space, maxEntries, ttl, opts) {
		return prev
	}
	if prev != nil {
		prev.Close()
	}
	return New(space, maxEntries, ttl, opts...)
}

// evicted removes an item the LRU dropped (evicted, expired, replaced or
// purged) from its partition.
func (s *Store) evicted(_ uint64, it *item) {
	s.bytes.Add(-it.size)
	s.mu.Lock()
	defer s.mu.Unlock()
	items := s.partitions[it.partition]
	if i := slices.Index(items, it); i >= 0 {
		items[i] = items[len(items)-1]
		items[len(items)-1] = nil
		items = items[:len(items)-1]
	}
	if len(items) == 0 {
		delete(s.partitions, it.partition)
	} else {
		s.partitions[it.partition] = items
	}
}

// Match is the outcome of a lookup.
type Match struct {
	// Entry is the answer to serve, or nil for a miss. Shared: read it,
	// never modify it; call its Response method for an answer of one's
	// own.
	Entry *cache.Entry
	// Similarity is the cosine similarity of the best entry of the
	// partition, served or not; 0 when the partition is empty.
	Similarity float64
	// Guard is why the best entry at or above the threshold was not
	// served (Guard's reasons), or "".
	Guard string
	// Entries is how many entries the lookup compared.
	Entries int
}

// candidate is an entry at or above the threshold.
type candidate struct {
	it  *item
	sim float32
}

// Lookup returns the answer stored in partition for the message text
// whose unit vector is v: that of the most similar entry at or above
// threshold that Guard does not tell apart from text, if it is unexpired.
// A hit is marked recently used.
func (s *Store) Lookup(partition string, v []float32, text string, threshold float64) Match {
	var m Match
	var found []candidate
	best := float32(-2)
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return m
	}
	items := s.partitions[partition]
	m.Entries = len(items)
	for _, it := range items {
		if len(it.vector) != len(v) {
			continue // another model's; Reuse keeps models apart, this is a safeguard
		}
		sim := dot(v, it.vector)
		best = max(best, sim)
		if float64(sim) >= threshold {
			found = append(found, candidate{it, sim})
		}
	}
	s.mu.RUnlock()
	if m.Entries > 0 && best > -2 {
		m.Similarity = float64(min(best, 1))
	}
	slices.SortFunc(found, func(a, b candidate) int {
		switch {
		case a.sim > b.sim:
			return -1
		case a.sim < b.sim:
			return 1
		}
		return 0
	})
	for _, c := range found {
		if reason := Guard(text, c.it.text); reason != "" {
			if m.Guard == "" {
				m.Guard = reason
			}
			continue
		}
		// Get, not the item itself: it may have expired, or been evicted
		// since the scan; it also marks the entry recently used.
		if it, ok := s.lru.Get(c.it.id); ok && it == c.it {
			m.Entry, m.Similarity, m.Guard = it.entry, float64(min(c.sim, 1)), ""
			return m
		}
	}
	return m
}

// Add stores the answer e to the message text with unit vector v in
// partition. It refuses, wrapping the errors of cache.Prepare,
// ErrBadVector or ErrClosed, what must not be served again. The caller
// stores only complete answers of the target the app asked for, as for
// the exact cache.
func (s *Store) Add(partition string, v []float32, text string, e *cache.Entry) error {
	if len(v) == 0 || len(v) > MaxDimensions {
		return fmt.Errorf("%w: %d dimensions; between 1 and %d are kept", ErrBadVector, len(v), MaxDimensions)
	}
	kept, err := cache.Prepare(e, s.cfg.maxEntryBytes)
	if err != nil {
		return err
	}
	it := &item{
		id:        s.nextID.Add(1),
		partition: partition,
		vector:    slices.Clone(v),
		text:      text,
		entry:     kept,
	}
	it.size = kept.Size() + int64(4*len(v)+len(text)+len(partition)) + 96
	if it.size > s.cfg.maxEntryBytes {
		return fmt.Errorf("%w: about %d bytes with its vector, over the limit of %d bytes", cache.ErrTooLarge, it.size, s.cfg.maxEntryBytes)
	}

	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	s.partitions[partition] = append(s.partitions[partition], it)
	s.mu.Unlock()

	// Outside mu: the LRU calls evicted, which takes it.
	s.bytes.Add(it.size)
	s.lru.Add(it.id, it)
	s.mu.RLock()
	closed := s.closed
	s.mu.RUnlock()
	if closed {
		s.lru.Remove(it.id) // Close purged before this Add reached the LRU
		return ErrClosed
	}
	for s.bytes.Load() > s.cfg.maxBytes {
		if _, _, ok := s.lru.RemoveOldest(); !ok {
			break
		}
	}
	return nil
}

// Len returns the number of entries held, including expired ones the LRU
// has not deleted yet.
func (s *Store) Len() int { return s.lru.Len() }

// Bytes returns the estimated size of what the Store holds.
func (s *Store) Bytes() int64 { return s.bytes.Load() }

// Close empties the Store; later Adds are refused with ErrClosed and
// Lookups miss. Answers already handed out stay readable.
func (s *Store) Close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.lru.Purge()
}

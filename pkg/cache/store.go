package cache

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/golang-lru/v2/expirable"
)

// Defaults of a Store.
const (
	// DefaultMaxEntries is used when New is given maxEntries <= 0.
	DefaultMaxEntries = 1000
	// DefaultTTL is used when New is given ttl <= 0.
	DefaultTTL = 5 * time.Minute
	// DefaultMaxEntryBytes caps one entry: larger answers are not stored.
	DefaultMaxEntryBytes = 4 << 20
	// DefaultMaxBytes caps all entries together: the least recently used
	// are evicted to stay under it, so that a sidecar's memory is bounded
	// by more than maxEntries × DefaultMaxEntryBytes.
	DefaultMaxBytes = 64 << 20
)

// Option tunes a Store.
type Option func(*settings)

// WithMaxEntryBytes sets the size above which an entry is refused with
// ErrTooLarge. Default DefaultMaxEntryBytes.
func WithMaxEntryBytes(n int64) Option {
	return func(s *settings) { s.maxEntryBytes = n }
}

// WithMaxBytes sets the total size of the entries a Store keeps. Default
// DefaultMaxBytes.
func WithMaxBytes(n int64) Option {
	return func(s *settings) { s.maxBytes = n }
}

// settings are what a Store was built with; Reuse compares them.
type settings struct {
	maxEntries    int
	ttl           time.Duration
	maxEntryBytes int64
	maxBytes      int64
}

func newSettings(maxEntries int, ttl time.Duration, opts []Option) settings {
	s := settings{maxEntries: maxEntries, ttl: ttl, maxEntryBytes: DefaultMaxEntryBytes, maxBytes: DefaultMaxBytes}
	for _, o := range opts {
		o(&s)
	}
	if s.maxEntries <= 0 {
		s.maxEntries = DefaultMaxEntries
	}
	if s.ttl <= 0 {
		s.ttl = DefaultTTL
	}
	if s.maxEntryBytes <= 0 {
		s.maxEntryBytes = DefaultMaxEntryBytes
	}
	if s.maxBytes <= 0 {
		s.maxBytes = DefaultMaxBytes
	}
	s.maxEntryBytes = min(s.maxEntryBytes, s.maxBytes)
	return s
}

// Store keeps answers by key for a TTL counted from when they were
// stored, evicting the least recently used beyond maxEntries entries or
// the byte limit. It is safe for concurrent use.
//
// The expirable LRU underneath runs a goroutine that deletes expired
// entries and never stops; Close empties the Store so that goroutine holds
// no answers. Keep one Store across policy reloads (Reuse) rather than
// building one per reload.
type Store struct {
	cfg settings
	lru *expirable.LRU[string, *Entry]

	// bytes is the size of the stored entries; the LRU's eviction
	// callback subtracts, from whichever goroutine evicts.
	bytes atomic.Int64

	// mu serializes Add and Close, so that replacing a key and evicting
	// down to the byte limit see a consistent total, and no Add follows
	// Close.
	mu     sync.Mutex
	closed bool // guarded by mu
}

// New returns a Store of at most maxEntries answers, each served for ttl
// after it was stored. maxEntries <= 0 means DefaultMaxEntries, ttl <= 0
// DefaultTTL.
func New(maxEntries int, ttl time.Duration, opts ...Option) *Store {
	s := &Store{cfg: newSettings(maxEntries, ttl, opts)}
	s.lru = expirable.NewLRU(s.cfg.maxEntries, func(_ string, e *Entry) {
		s.bytes.Add(-e.size())
	}, s.cfg.ttl)
	return s
}

// Reuse returns prev when it was built with the same settings, so that a
// policy reload keeps the answers stored so far; otherwise it closes prev
// (when not nil) and returns a new Store.
func Reuse(prev *Store, maxEntries int, ttl time.Duration, opts ...Option) *Store {
	if prev != nil && prev.cfg == newSettings(maxEntries, ttl, opts) {
		return prev
	}
	if prev != nil {
		prev.Close()
	}
	return New(maxEntries, ttl, opts...)
}

// Get returns the unexpired answer stored under key, and marks it
// recently used. The Entry is shared: do not modify it; call its Response
// method for an answer of one's own.
func (s *Store) Get(key string) (*Entry, bool) {
	return s.lru.Get(key)
}

// Within returns the answer stored under key when it was stored at most
// maxAge ago, and marks it recently used. One Store can so serve readers
// that accept answers of different ages: the response cache its TTL's,
// the cachedResponse fallback rung its maxStale's. Nothing outlives the
// Store's own TTL, whatever maxAge. The Entry is shared, as Get's.
func (s *Store) Within(key string, maxAge time.Duration) (*Entry, bool) {
	e, ok := s.lru.Get(key)
	if !ok || time.Since(e.StoredAt) > maxAge {
		return nil, false
	}
	return e, true
}

// Add stores a copy of e under key, replacing what was there, and sets
// the copy's StoredAt. Only the headers in keptHeaders are kept. It
// refuses, with an error wrapping one of ErrNotSuccess, ErrTooLarge,
// ErrEncoded, ErrIncomplete, ErrErrorAnswer or ErrClosed, an entry that
// must not be served again. The caller stores only answers read to
// their end, from the provider and model the app asked for: not a
// fallback's, never a static response.
func (s *Store) Add(key string, e *Entry) error {
	if err := check(e, s.cfg.maxEntryBytes); err != nil {
		return err
	}
	c := e.clone()
	c.StoredAt = time.Now()
	size := c.size()

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	// Remove first, so that the eviction callback accounts for the entry
	// replaced: the LRU replaces a value without calling it.
	s.lru.Remove(key)
	s.bytes.Add(size)
	s.lru.Add(key, c)
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

// Bytes returns the estimated size of the entries held.
func (s *Store) Bytes() int64 { return s.bytes.Load() }

// Close empties the Store; later Adds are refused with ErrClosed and
// Gets miss. Answers already handed out stay readable.
func (s *Store) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	s.lru.Purge()
}

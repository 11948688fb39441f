package semantic

import (
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tollgate.dev/tollgate/pkg/cache"
)

func answer(text string) *cache.Entry {
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	return &cache.Entry{Status: 200, Header: h, Body: []byte(`{"answer":"` + text + `"}`)}
}

// unit returns a unit vector at angle theta (radians) from e1, in the
// plane of e1 and e2: its similarity with e1 is cos(theta).
func unit(dims int, theta float64) []float32 {
	v := make([]float32, dims)
	v[0], v[1] = float32(math.Cos(theta)), float32(math.Sin(theta))
	return v
}

func TestStore_ServesTheMostSimilarEntryAtOrAboveTheThreshold(t *testing.T) {
	s := New("m", 10, time.Minute)
	require.NoError(t, s.Add("p", unit(8, 0.10), "reset my password", answer("far")))
	require.NoError(t, s.Add("p", unit(8, 0.05), "reset my password", answer("near")))
	require.NoError(t, s.Add("q", unit(8, 0), "reset my password", answer("other partition")))

	m := s.Lookup("p", unit(8, 0), "reset my password", 0.99)
	require.NotNil(t, m.Entry)
	assert.JSONEq(t, `{"answer":"near"}`, string(m.Entry.Body))
	assert.InDelta(t, math.Cos(0.05), m.Similarity, 1e-6)
	assert.Equal(t, 2, m.Entries, "only the partition's entries are compared")

	m = s.Lookup("p", unit(8, 0), "reset my password", 0.9999)
	assert.Nil(t, m.Entry, "below the threshold")
	assert.InDelta(t, math.Cos(0.05), m.Similarity, 1e-6, "the best candidate is reported all the same")

	m = s.Lookup("r", unit(8, 0), "reset my password", 0.5)
	assert.Nil(t, m.Entry, "an empty partition")
	assert.Zero(t, m.Similarity)
}

func TestStore_TheGuardPassesOverOppositesToTheNextCandidate(t *testing.T) {
	s := New("m", 10, time.Minute)
	require.NoError(t, s.Add("p", unit(8, 0.01), "turn off the lights", answer("off")))
	require.NoError(t, s.Add("p", unit(8, 0.02), "switch on the lights", answer("on")))
	m := s.Lookup("p", unit(8, 0), "turn on the lights", 0.99)
	require.NotNil(t, m.Entry)
	assert.JSONEq(t, `{"answer":"on"}`, string(m.Entry.Body))

	m = s.Lookup("p", unit(8, 0), "do not turn on the lights", 0.99)
	assert.Nil(t, m.Entry)
	assert.Equal(t, GuardNegation, m.Guard)
}

func TestStore_RefusesWhatMustNotBeServed(t *testing.T) {
	s := New("m", 10, time.Minute)
	assert.ErrorIs(t, s.Add("p", unit(8, 0), "x", &cache.Entry{Status: 500, Body: []byte("{}")}), cache.ErrNotSuccess)
	assert.ErrorIs(t, s.Add("p", nil, "x", answer("a")), ErrBadVector)
	s.Close()
	assert.ErrorIs(t, s.Add("p", unit(8, 0), "x", answer("a")), ErrClosed)
	assert.Nil(t, s.Lookup("p", unit(8, 0), "x", 0.5).Entry)
}

func TestStore_IsBoundedByEntriesBytesAndTTL(t *testing.T) {
	t.Run("entries: the least recently used go first", func(t *testing.T) {
		s := New("m", 2, time.Minute)
		require.NoError(t, s.Add("p", unit(8, 0), "a", answer("a")))
		require.NoError(t, s.Add("p", unit(8, 1), "b", answer("b")))
		require.NotNil(t, s.Lookup("p", unit(8, 0), "a", 0.99).Entry, "a is used")
		require.NoError(t, s.Add("p", unit(8, 2), "c", answer("c")))
		assert.Equal(t, 2, s.Len())
		assert.NotNil(t, s.Lookup("p", unit(8, 0), "a", 0.99).Entry)
		assert.Nil(t, s.Lookup("p", unit(8, 1), "b", 0.99).Entry, "b was evicted")
		assert.Equal(t, 2, s.Lookup("p", unit(8, 1), "b", 0.99).Entries, "and left its partition")
	})
	t.Run("bytes", func(t *testing.T) {
		s := New("m", 100, time.Minute, WithMaxBytes(4000))
		for i := range 20 {
			require.NoError(t, s.Add("p", unit(64, float64(i)), "a", answer("a")))
		}
		assert.LessOrEqual(t, s.Bytes(), int64(4000))
		assert.Less(t, s.Len(), 20)
	})
	t.Run("ttl", func(t *testing.T) {
		s := New("m", 10, 20*time.Millisecond)
		require.NoError(t, s.Add("p", unit(8, 0), "a", answer("a")))
		assert.Eventually(t, func() bool { return s.Lookup("p", unit(8, 0), "a", 0.99).Entry == nil }, 2*time.Second, 5*time.Millisecond)
	})
}

func TestReuse_KeepsTheStoreOnlyForTheSameSpaceAndBounds(t *testing.T) {
	s := New("model-a", 10, time.Minute)
	require.NoError(t, s.Add("p", unit(8, 0), "a", answer("a")))
	assert.Same(t, s, Reuse(s, "model-a", 10, time.Minute))
	other := Reuse(s, "model-b", 10, time.Minute)
	assert.NotSame(t, s, other)
	assert.Nil(t, s.Lookup("p", unit(8, 0), "a", 0.5).Entry, "the old store was closed")
}

func TestStore_ConcurrentUseIsSafe(t *testing.T) {
	s := New("m", 50, time.Minute)
	done := make(chan struct{})
	for g := range 4 {
		go func() {
			defer func() { done <- struct{}{} }()
			r := rand.New(rand.NewPCG(uint64(g), 1))
			for i := range 300 {
				p := fmt.Sprint(i % 3)
				v := unit(16, r.Float64())
				if i%2 == 0 {
					_ = s.Add(p, v, "q", answer("a"))
				} else {
					s.Lookup(p, v, "q", 0.9)
				}
			}
		}()
	}
	for range 4 {
		<-done
	}
	assert.LessOrEqual(t, s.Len(), 50)
}

// BenchmarkLookup measures the exact search a lookup does: one partition
// of n entries of dims dimensions, no hit (every entry is compared).
func BenchmarkLookup(b *testing.B) {
	for _, dims := range []int{256, 1536, 3072} {
		for _, n := range []int{10, 100, 1000, 5000} {
			b.Run(fmt.Sprintf("dims=%d/entries=%d", dims, n), func(b *testing.B) {
				s := New("m", n, time.Hour, WithMaxBytes(1<<30))
				r := rand.New(rand.NewPCG(1, 2))
				vec := func() []float32 {
					v := make([]float32, dims)
					for i := range v {
						v[i] = float32(r.NormFloat64())
					}
					Normalize(v)
					return v
				}
				for range n {
					require.NoError(b, s.Add("p", vec(), "q", answer("a")))
				}
				q := vec()
				b.ReportAllocs()
				b.ResetTimer()
				for b.Loop() {
					if s.Lookup("p", q, "q", 0.99).Entry != nil {
						b.Fatal("a random vector matched")
					}
				}
			})
		}
	}
}

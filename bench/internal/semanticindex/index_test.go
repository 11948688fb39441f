package semanticindex

import (
	"fmt"
	mathrand "math/rand"
	"math/rand/v2"
	"net/http"
	"testing"
	"time"

	"github.com/coder/hnsw"
	"github.com/stretchr/testify/require"

	"tollgate.dev/tollgate/pkg/cache"
	"tollgate.dev/tollgate/pkg/semantic"
)

// sizes are the partition sizes compared: from a handful of variants of
// one question to about what the store's 32 MiB hold at 1536 dimensions.
var sizes = []int{100, 1000, 5000}

func vectors(n, dims int, seed uint64) [][]float32 {
	r := rand.New(rand.NewPCG(seed, 7))
	out := make([][]float32, n)
	for i := range out {
		v := make([]float32, dims)
		for j := range v {
			v[j] = float32(r.NormFloat64())
		}
		semantic.Normalize(v)
		out[i] = v
	}
	return out
}

func entry() *cache.Entry {
	return &cache.Entry{Status: 200, Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte(`{"a":1}`)}
}

// BenchmarkExact is a semantic.Store lookup: every entry compared.
func BenchmarkExact(b *testing.B) {
	for _, dims := range []int{256, 1536} {
		for _, n := range sizes {
			b.Run(fmt.Sprintf("dims=%d/entries=%d", dims, n), func(b *testing.B) {
				s := semantic.New("m", n, time.Hour, semantic.WithMaxBytes(1<<30))
				for _, v := range vectors(n, dims, 1) {
					require.NoError(b, s.Add("p", v, "q", entry()))
				}
				q := vectors(1, dims, 2)[0]
				for b.Loop() {
					s.Lookup("p", q, "q", 0.95)
				}
			})
		}
	}
}

// BenchmarkHNSW is a search of the 4 nearest neighbours in coder/hnsw,
// with its default parameters and cosine distance.
func BenchmarkHNSW(b *testing.B) {
	for _, dims := range []int{256, 1536} {
		for _, n := range sizes {
			b.Run(fmt.Sprintf("dims=%d/entries=%d", dims, n), func(b *testing.B) {
				g := hnsw.NewGraph[int]()
				g.Distance = hnsw.CosineDistance
				for i, v := range vectors(n, dims, 1) {
					g.Add(hnsw.MakeNode(i, v))
				}
				q := vectors(1, dims, 2)[0]
				for b.Loop() {
					g.Search(q, 4)
				}
			})
		}
	}
}

// TestHNSW_DoesNotSurviveEvictions churns a full graph as a bounded cache
// does (delete the oldest, add the newest) and expects coder/hnsw v0.6.1
// to panic, as its open issues #10 and #15 report. When this test fails,
// the library survives churn, and an HNSW index is worth another look
// for large partitions.
func TestHNSW_DoesNotSurviveEvictions(t *testing.T) {
	const n, dims = 500, 64
	vs := vectors(n+2000, dims, 3)
	g := hnsw.NewGraph[int]()
	g.Distance = hnsw.CosineDistance
	g.Rng = mathrand.New(mathrand.NewSource(1)) // levels drawn alike every run
	for i := range n {
		g.Add(hnsw.MakeNode(i, vs[i]))
	}
	panicked := func() (p any) {
		defer func() { p = recover() }()
		for i := n; i < len(vs); i++ {
			g.Delete(i - n)
			g.Add(hnsw.MakeNode(i, vs[i]))
			g.Search(vs[i], 4)
		}
		return nil
	}()
	require.NotNil(t, panicked, "coder/hnsw survived %d evictions: reconsider it for large partitions", len(vs)-n)
	t.Logf("coder/hnsw panicked under churn, as expected: %v", panicked)
}

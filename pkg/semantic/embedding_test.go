package semantic

import (
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseEmbedding_ARealAnswer(t *testing.T) {
	body, err := os.ReadFile(filepath.Join("..", "provider", "testdata", "captures", "openai-embeddings-basic.body"))
	require.NoError(t, err)
	v, err := ParseEmbedding(body)
	require.NoError(t, err)
	assert.Greater(t, len(v), 100)
	var norm float64
	for _, x := range v {
		norm += float64(x) * float64(x)
	}
	assert.InDelta(t, 1, math.Sqrt(norm), 1e-5, "at unit length")
}

func TestParseEmbedding_RefusesWhatIsNoVector(t *testing.T) {
	for name, body := range map[string]string{
		"not JSON":         `nope`,
		"no data":          `{"data":[]}`,
		"a string vector":  `{"data":[{"embedding":"not base64!"}]}`,
		"a zero vector":    `{"data":[{"embedding":[0,0,0]}]}`,
		"strings":          `{"data":[{"embedding":["a"]}]}`,
		"an error answer":  `{"error":{"message":"bad"}}`,
		"an empty vector":  `{"data":[{"embedding":[]}]}`,
		"a huge component": `{"data":[{"embedding":[1e300]}]}`,
	} {
		t.Run(name, func(t *testing.T) {
			_, err := ParseEmbedding([]byte(body))
			assert.ErrorIs(t, err, ErrBadEmbedding)
		})
	}
}

func TestParseEmbedding_Base64(t *testing.T) {
	// [1, 0] as little-endian float32s.
	v, err := ParseEmbedding([]byte(`{"data":[{"embedding":"AACAPwAAAAA="}]}`))
	require.NoError(t, err)
	assert.Equal(t, []float32{1, 0}, v)
}

func TestEmbeddingRequest(t *testing.T) {
	assert.JSONEq(t, `{"model":"text-embedding-3-small","input":"say \"hi\"","encoding_format":"float"}`,
		string(EmbeddingRequest("text-embedding-3-small", `say "hi"`)))
}

package mockprovider_test

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"

	"tollgate.dev/tollgate/internal/testkit/mockprovider"
)

func cosine(a, b []float32) float64 {
	var s float64
	for i := range a {
		s += float64(a[i]) * float64(b[i])
	}
	return s
}

func TestEmbed_BehavesRoughlyLikeAnEmbeddingModel(t *testing.T) {
	e := func(s string) []float32 { return mockprovider.Embed(s, 0) }
	v := e("How do I reset my password?")
	assert.Len(t, v, mockprovider.DefaultEmbeddingDimensions)
	assert.Equal(t, v, e("How do I reset my password?"), "deterministic")
	assert.InDelta(t, 1, math.Sqrt(cosine(v, v)), 1e-6, "unit length")
	assert.Len(t, mockprovider.Embed("x", 64), 64, "the request's dimensions")

	assert.InDelta(t, 1, cosine(v, e("how do i reset my password")), 1e-6, "case and punctuation do not count")
	assert.Greater(t, cosine(v, e("How can I reset my password?")), 0.8, "a reworded question is close")
	assert.Less(t, cosine(v, e("What are your opening hours?")), 0.5, "another question is far")
	assert.Greater(t, cosine(e("Turn on the living room lights."), e("Turn off the living room lights.")), 0.7,
		"like a real model, it scores opposites that share their words close")
	assert.NotEmpty(t, mockprovider.Embed("", 8), "an empty text still gets a vector")
}

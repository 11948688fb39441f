package harness

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tollgate.dev/tollgate/internal/sidecar/loader"
)

func TestPolicy_IsARealisticPolicyTheSidecarAccepts(t *testing.T) {
	res, err := loader.Parse([]byte(Policy("http://127.0.0.1:8089")), nil)
	require.NoError(t, err)
	p := res.Policy
	require.NotNil(t, p)
	require.Len(t, p.Providers, 1)
	assert.Equal(t, "openai", p.Providers[0].Name, "the proxies' paths start with /openai")
	assert.Equal(t, "http://127.0.0.1:8089", p.Providers[0].BaseURL)
	assert.NotNil(t, p.Retry, "retries on")
	assert.NotNil(t, p.CircuitBreaker, "circuit breaker on")
	assert.Nil(t, p.RateLimit, "no rate limit: it would measure the limiter")
	assert.Nil(t, p.Cache, "no cache: identical requests would be answered from memory")
}
